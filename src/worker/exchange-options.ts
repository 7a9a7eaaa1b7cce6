/**
 * Options that shape each request/response exchange in a worker (issue 10):
 * headers added to and removed from every response, what is logged when a
 * client goes away mid-response, how request bodies are buffered, and
 * keep-alive. Parsed once from the configuration (pure, no I/O), carried to
 * the workers in their JSON config.
 */
import type { Options } from '../config/options';
import { NuwsgiError } from '../util/errors';

export interface ExchangeOptions {
  /** --add-header: "Name: value" lines appended to every response, as given (validated). */
  addHeaders: string[];
  /** --del-header: names (lower case) of headers removed from the app's responses. */
  delHeaders: string[];
  /** --ignore-sigpipe: no "SIGPIPE: writing to a closed pipe/socket/fd" line when a client is gone (EPIPE). */
  ignoreSigpipe: boolean;
  /** --ignore-write-errors: no "uwsgi_response_write_body_do(): ..." line when a write to a client fails. */
  ignoreWriteErrors: boolean;
  /** --disable-write-exception: no "OSError: write error" line when a write fails. */
  disableWriteException: boolean;
  /** Request bodies of at least this many bytes go to a temporary file (--post-buffering; nuwsgi's default when 0). */
  spoolAtBytes: number;
  /** Bytes gathered before each write(2) to a body's temporary file (--post-buffering-bufsize). */
  spoolWriteBytes: number;
  /** --body-buffer-budget: bytes all in-memory request bodies of a worker may hold together; 0 = no budget. */
  bodyBudgetBytes: number;
  /** --body-min-rate: after the grace period a body must have arrived at this many bytes/s on average; 0 = off. */
  bodyMinRate: number;
  /** --body-grace: ms a body may take before the minimum rate applies. */
  bodyGraceMs: number;
  /** --header-timeout: ms a request head may take from its first byte to its end. */
  headerTimeoutMs: number;
  /** HTTP keep-alive on http sockets (off only with an explicit --http-keepalive=0). */
  keepAlive: boolean;
  /** --http-keepalive N (N > 1): seconds a kept-alive connection may wait for its next request; 0 = --http-timeout. */
  keepAliveIdleSeconds: number;
}

/** Bodies up to 1 MiB stay in memory unless --post-buffering says otherwise. */
export const DEFAULT_SPOOL_AT = (1 << 20) + 1;

/** RFC 9110 token: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters (HTAB allowed) would split or corrupt the response head. */
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export function exchangeOptionsFrom(o: Options): ExchangeOptions {
  const postBuffering = o.int('post-buffering');
  const bufsize = o.int('post-buffering-bufsize');
  return {
    addHeaders: o.list('add-header').map(checkAddedHeader),
    delHeaders: o.list('del-header').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''),
    ignoreSigpipe: o.bool('ignore-sigpipe'),
    ignoreWriteErrors: o.bool('ignore-write-errors'),
    disableWriteException: o.bool('disable-write-exception'),
    spoolAtBytes: postBuffering > 0 ? postBuffering : DEFAULT_SPOOL_AT,
    // As uWSGI: the buffer is never smaller than post-buffering.
    spoolWriteBytes: Math.max(bufsize > 0 ? bufsize : 8192, postBuffering),
    bodyBudgetBytes: o.int('body-buffer-budget'),
    bodyMinRate: o.int('body-min-rate'),
    bodyGraceMs: o.int('body-grace') * 1000,
    headerTimeoutMs: o.int('header-timeout') * 1000,
    ...keepAliveFrom(o),
  };
}

/** "Name: value", as uWSGI writes it on the wire; anything that would corrupt the head is refused here. */
function checkAddedHeader(line: string): string {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon) : '';
  if (!TOKEN.test(name) || BAD_VALUE.test(line)) {
    throw new NuwsgiError('E_CONFIG', `add-header "${line}" is not a "Name: value" header line`);
  }
  const value = line.slice(colon + 1).trim();
  return `${name}: ${value}`;
}

/**
 * uWSGI's --http-keepalive (an option of its HTTP router) takes an optional
 * number: bare or 1 turns keep-alive on, N > 1 also sets the idle timeout in
 * seconds, 0 leaves it off. nuwsgi's HTTP sockets keep alive by default.
 */
function keepAliveFrom(o: Options): Pick<ExchangeOptions, 'keepAlive' | 'keepAliveIdleSeconds'> {
  if (!o.has('http-keepalive')) return { keepAlive: true, keepAliveIdleSeconds: 0 };
  const raw = o.str('http-keepalive') ?? '';
  const n = raw === '' ? 1 : o.int('http-keepalive');
  return { keepAlive: n !== 0, keepAliveIdleSeconds: n > 1 ? n : 0 };
}

/** Add-header lines as they go on the wire: each ends in CRLF. */
export function addedHeaderBlock(opts: Pick<ExchangeOptions, 'addHeaders'>): string {
  return opts.addHeaders.map((line) => `${line}\r\n`).join('');
}
