/**
 * What the request logger knows about one finished request.
 *
 * A strict superset of the worker's RequestLogRecord (src/worker/access-log.ts),
 * so one object feeds either the old default-line formatter or the new engine.
 */
import type { RequestLogRecord } from '../worker/access-log';

/** How the body left the worker, when not by plain writes: uWSGI prints it in the default line. */
export type ResponseVia = 'sendfile' | 'route' | 'offload';

export interface RequestLogRecordV2 extends RequestLogRecord {
  /** HTTP_HOST ('' when the request had none). */
  host: string;
  /** HTTP_USER_AGENT ('' when absent). */
  userAgent: string;
  /** HTTP_REFERER ('' when absent). */
  referer: string;
  /** Any request variable (CGI/WSGI environ key such as HTTP_X_REQUEST_ID); undefined when absent. */
  requestVar: (name: string) => string | undefined;
  /** Values the app set with uwsgi.set_logvar(), read by `%(name)`; omit when the app set none. */
  logVar?: (name: string) => string | undefined;
  /** 1-based worker id (uWSGI's mywid; 1 in single-process mode). */
  workerId: number;
  /** The request's CONTENT_LENGTH as a number (uWSGI's post_cl); 0 when absent. */
  contentLength: number;
  /** Wall clock at request start, microseconds since the epoch (startedAtMs * 1000 plus the sub-ms part). */
  startedAtUs: number;
  /** Time from request start to the end of the response, in microseconds. */
  durationUs: number;
  /** uwsgi packet header modifiers; 0 and 0 on HTTP sockets. */
  modifier1: number;
  modifier2: number;
  /** uWSGI's async switches: 1 for a response written by the worker, 0 for one sent by sendfile. */
  switches: number;
  /** Async core id; always 0 in a sync worker. */
  core: number;
  via?: ResponseVia;
  /** Failed reads from / writes to the client during this request. */
  readErrors: number;
  writeErrors: number;
  /** Worker memory in bytes, when measured (memory-report); 0 otherwise, as uWSGI. */
  rss?: number;
  vsz?: number;
}

/**
 * Linear scan of the request vars, first match wins (uWSGI's uwsgi_get_var).
 * A request has a few dozen vars and a log line reads one or two: scanning is
 * cheaper than building a Map per request.
 */
export function lookupVar(vars: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  for (let i = 0; i < vars.length; i++) {
    const pair = vars[i];
    if (pair !== undefined && pair[0] === name) return pair[1];
  }
  return undefined;
}
