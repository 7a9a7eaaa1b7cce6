/**
 * The ASGI scope's pieces, built by Node and handed to the loop thread as one
 * marshal tuple (python/_nuwsgi_asgi.py's `_scope`), instead of the CGI
 * variables Python used to turn into a scope:
 *
 *   ((http_version, method, scheme, path, raw_path, query_string, root_path,
 *     headers, client, server), body, app, flags)
 *
 * `headers` is a list of (name, value) bytes pairs, `client` a (host, port)
 * tuple or None, `server` a (host, port) tuple or None. marshal.loads builds
 * every object in C and Python only wraps them in the scope dict; a binary
 * layout sliced in Python was several times slower, a marshalled dict no
 * faster (docs/asgi.md, "Measured").
 *
 * On the HTTP socket (and HTTPS) the headers are the parsed request's own
 * fields, one pair each, in the client's order, names lowercased, values as
 * received (as uvicorn gives them). Behind nginx (the uwsgi protocol) only
 * the CGI variables exist: one pair per HTTP_* variable, repeated headers as
 * nginx sent them (one variable each from nginx 1.22, joined from 1.23).
 */
import { isUtf8 } from 'node:buffer';
import { pathInfoOf, pathOfTarget, splitTarget, withoutFragment } from '../../protocol/cgi';
import { equalsLowercase } from '../../protocol/ascii';
import type { MarshalWriter } from '../python/marshal';
import type { Exchange } from '../exchange';

/** Bits of the tuple's `flags`. */
export const SCOPE_FLAG = {
  /** The body streams in after the request (receive() asks Node for the rest). */
  BODY_STREAM: 1,
  /** The client takes trailer fields (HTTP/1.1 "TE: trailers" on an HTTP socket). */
  TRAILERS: 2,
  /** `path` is the decoded path's bytes (not valid UTF-8): Python decodes it with "replace". */
  PATH_BYTES: 4,
  /**
   * The client may get 103 Early Hints: HTTP/1.1 on an HTTP socket (RFC 9110
   * §15.2 forbids 1xx to HTTP/1.0 clients; nginx 1.22 takes a 103 from a
   * uwsgi upstream as the final response, docs/asgi.md).
   */
  EARLY_HINTS: 8,
} as const;

/** TE: trailers, in a header value list. */
const TRAILERS = /(?:^|,)\s*trailers\s*(?:;|,|$)/i;

/** The flags of a request: whether its body streams, whether its client takes trailers and early hints. */
export function scopeFlags(ex: Exchange): number {
  let flags = ex.stream !== undefined ? SCOPE_FLAG.BODY_STREAM : 0;
  if (!ex.raw && ex.clientHttp11) {
    if (clientTakesTrailers(ex)) flags |= SCOPE_FLAG.TRAILERS;
    flags |= SCOPE_FLAG.EARLY_HINTS;
  }
  return flags;
}

/** "TE: trailers": from the head's fields when the CGI variables were never built (each TE field alone, as HTTP_TE joins them). */
function clientTakesTrailers(ex: Exchange): boolean {
  const head = ex.head;
  if (head !== undefined && ex.varsBuilt === false) {
    for (const [name, value] of head.headers) {
      if (equalsLowercase(name, 'te') && TRAILERS.test(value)) return true;
    }
    return false;
  }
  for (const [key, value] of ex.vars) {
    if (key === 'HTTP_TE') return TRAILERS.test(value);
  }
  return false;
}

/**
 * Writes the scope tuple. `vars` after routing: PATH_INFO and SCRIPT_NAME
 * say where the mount split the path. Returns the PATH_BYTES flag when the
 * path had to go as bytes.
 */
export function writeScope(w: MarshalWriter, ex: Exchange, scheme: 'http' | 'https'): number {
  // Without routing (and so without variables) an HTTP request's path comes from its target, as its PATH_INFO would.
  const http = ex.http;
  const v = http !== undefined && ex.varsBuilt === false ? targetView(ex.uri) : cgiView(ex.vars);
  w.tuple(10);
  w.str(http !== undefined ? http.version : httpVersion(v.protocol));
  w.str(ex.method !== '' ? ex.method : 'GET');
  w.str(scheme);
  const flags = writePath(w, v.pathInfo);
  if (http !== undefined) {
    w.latin1Bytes(pathOfTarget(beforeQuery(ex.uri)));
    w.latin1Bytes(v.queryString);
    w.str(v.scriptName);
    writeHeaderPairs(w, http.headers);
    writeAddress(w, ex.remoteAddr, http.remotePort);
    const local = http.local();
    if (local.port > 0) writeAddress(w, local.address, local.port);
    else {
      const cv = v.serverPort !== '' ? v : cgiView(ex.vars); // a unix socket has no address: SERVER_NAME and SERVER_PORT
      writeAddress(w, cv.serverName, portNumber(cv.serverPort));
    }
  } else {
    w.latin1Bytes(v.requestUri !== '' ? beforeQuery(v.requestUri) : v.pathInfo);
    w.latin1Bytes(v.queryString);
    w.str(v.scriptName);
    writeCgiHeaders(w, ex.vars);
    writeAddress(w, v.remoteAddr, portNumber(v.remotePort));
    writeAddress(w, v.serverName, portNumber(v.serverPort));
  }
  return flags;
}

/** The variables the scope needs, found in one pass. */
interface CgiView {
  pathInfo: string;
  scriptName: string;
  queryString: string;
  requestUri: string;
  protocol: string;
  remoteAddr: string;
  remotePort: string;
  serverName: string;
  serverPort: string;
}

/** What an unrouted HTTP request's CGI variables would say of its path (httpHeadToCgiVars); no server name and port. */
function targetView(target: string): CgiView {
  const { path, query } = splitTarget(target);
  return {
    pathInfo: pathInfoOf(path),
    scriptName: '',
    queryString: query,
    requestUri: target,
    protocol: '',
    remoteAddr: '',
    remotePort: '',
    serverName: '',
    serverPort: '',
  };
}

function cgiView(vars: ReadonlyArray<readonly [string, string]>): CgiView {
  const v: CgiView = { pathInfo: '', scriptName: '', queryString: '', requestUri: '', protocol: '', remoteAddr: '', remotePort: '', serverName: '', serverPort: '' };
  for (const [key, value] of vars) {
    switch (key) {
      case 'PATH_INFO': v.pathInfo = value; break;
      case 'SCRIPT_NAME': v.scriptName = value; break;
      case 'QUERY_STRING': v.queryString = value; break;
      case 'REQUEST_URI': v.requestUri = value; break;
      case 'SERVER_PROTOCOL': v.protocol = value; break;
      case 'REMOTE_ADDR': v.remoteAddr = value; break;
      case 'REMOTE_PORT': v.remotePort = value; break;
      case 'SERVER_NAME': v.serverName = value; break;
      case 'SERVER_PORT': v.serverPort = value; break;
      default: break;
    }
  }
  return v;
}

function httpVersion(protocol: string): string {
  return protocol.startsWith('HTTP/') ? protocol.slice(5) : '1.1';
}

/** raw_path: the target's path as sent, without query or fragment. */
function beforeQuery(uri: string): string {
  const target = withoutFragment(uri);
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/**
 * PATH_INFO holds the decoded path's bytes as latin-1 (WSGI's convention);
 * ASGI wants UTF-8 text. ASCII (nearly every path) goes as it is; valid
 * UTF-8 as a str; anything else as bytes, which Python decodes with
 * "replace" (as uvicorn's unquote does).
 */
function writePath(w: MarshalWriter, pathInfo: string): number {
  let ascii = true;
  for (let i = 0; i < pathInfo.length && ascii; i++) ascii = pathInfo.charCodeAt(i) < 0x80;
  if (ascii) {
    w.str(pathInfo);
    return 0;
  }
  const bytes = Buffer.from(pathInfo, 'latin1');
  if (isUtf8(bytes)) {
    w.utf8(bytes);
    return 0;
  }
  w.bytes(bytes);
  return SCOPE_FLAG.PATH_BYTES;
}

function writeHeaderPairs(w: MarshalWriter, headers: ReadonlyArray<readonly [string, string]>): void {
  w.list(headers.length);
  for (const [name, value] of headers) {
    w.tuple(2);
    w.lowerLatin1Bytes(name);
    w.latin1Bytes(value);
  }
}

/**
 * Headers from the CGI variables (the uwsgi protocol): HTTP_X_A → x-a,
 * CONTENT_TYPE and CONTENT_LENGTH when not empty, in the order nginx sent them.
 */
function writeCgiHeaders(w: MarshalWriter, vars: ReadonlyArray<readonly [string, string]>): void {
  let count = 0;
  for (const [key, value] of vars) if (isHeaderVar(key, value)) count++;
  w.list(count);
  for (const [key, value] of vars) {
    if (!isHeaderVar(key, value)) continue;
    w.tuple(2);
    w.lowerLatin1Bytes(key.startsWith('HTTP_') ? key.slice(5).replace(/_/g, '-') : key.replace('_', '-'));
    w.latin1Bytes(value);
  }
}

function isHeaderVar(key: string, value: string): boolean {
  if (key.startsWith('HTTP_')) return key.length > 5;
  return (key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') && value !== ''; // an empty one is none
}

/** (host, port), or None without a host (as uvicorn says for a peer it does not know). */
function writeAddress(w: MarshalWriter, host: string, port: number): void {
  if (host === '') {
    w.none();
    return;
  }
  w.tuple(2);
  w.str(host);
  w.int(port);
}

function portNumber(text: string): number {
  return /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
}
