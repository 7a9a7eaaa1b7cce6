/**
 * Which requests get a log line, and which client address it shows.
 *
 * uWSGI (core/logging.c, log_request): with --disable-logging no request is
 * logged, except those one of the log-* options re-enables. Every re-enabling
 * test is inclusive (>=). Without --disable-logging every request is logged and
 * the log-* options change nothing.
 */
import type { Options } from '../config/options';
import type { RequestLogRecordV2 } from './record';

export interface RequestLogFilter {
  /** False with --disable-logging. */
  enabled: boolean;
  /** --log-4xx, --log-5xx: status 400-499 / 500-599. */
  log4xx: boolean;
  log5xx: boolean;
  /** --log-slow MS: requests taking at least MS whole milliseconds; 0 = off. */
  slowMs: number;
  /** --log-big BYTES: response bodies of at least BYTES; 0 = off. */
  bigBytes: number;
  /** --log-zero: responses with an empty body. */
  zero: boolean;
  /** --log-sendfile: responses sent from a file (wsgi.file_wrapper). */
  sendfile: boolean;
  /** --log-ioerror: requests that hit a read or write error on the client connection. */
  ioError: boolean;
}

/** The filter as the options ask for it. */
export function requestLogFilterFromOptions(opts: Options): RequestLogFilter {
  return {
    enabled: !opts.bool('disable-logging'),
    log4xx: opts.bool('log-4xx'),
    log5xx: opts.bool('log-5xx'),
    slowMs: opts.int('log-slow'),
    bigBytes: opts.int('log-big'),
    zero: opts.bool('log-zero'),
    sendfile: opts.bool('log-sendfile'),
    ioError: opts.bool('log-ioerror'),
  };
}

/**
 * False when no request can ever be logged (--disable-logging and no log-*
 * option): the worker then skips building records altogether.
 */
export function canLogAnyRequest(f: RequestLogFilter): boolean {
  return f.enabled || f.log4xx || f.log5xx || f.slowMs > 0 || f.bigBytes > 0 || f.zero || f.sendfile || f.ioError;
}

export function shouldLogRequest(f: RequestLogFilter, r: RequestLogRecordV2): boolean {
  if (f.enabled) return true;
  if (f.zero && r.bodyBytes === 0) return true;
  // uWSGI compares whole milliseconds (its wsgi_req_time is µs / 1000).
  if (f.slowMs > 0 && Math.floor(r.durationUs / 1000) >= f.slowMs) return true;
  if (f.log4xx && r.status >= 400 && r.status <= 499) return true;
  if (f.log5xx && r.status >= 500 && r.status <= 599) return true;
  if (f.bigBytes > 0 && r.bodyBytes >= f.bigBytes) return true;
  if (f.sendfile && r.via === 'sendfile') return true;
  // uWSGI 2.0 requires a read error AND a write error, which almost never
  // happens; nuwsgi logs a request with either (see docs/logging.md).
  if (f.ioError && r.readErrors + r.writeErrors > 0) return true;
  return false;
}

/**
 * The client address a log line shows. With --log-x-forwarded-for uWSGI takes
 * the X-Forwarded-For header verbatim: the whole value, every hop of a
 * "client, proxy1, proxy2" list, not just the first element. A request
 * without the header keeps REMOTE_ADDR.
 */
export function logAddress(r: RequestLogRecordV2, useXForwardedFor: boolean): string {
  if (!useXForwardedFor) return r.remoteAddr;
  return r.requestVar('HTTP_X_FORWARDED_FOR') ?? r.remoteAddr;
}
