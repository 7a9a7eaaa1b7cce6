/**
 * HTTP request head → CGI variables for the WSGI environ (PEP 3333, RFC 3875),
 * the way uWSGI's http-socket builds them. Pure: no I/O, no Python.
 *
 * All strings are latin-1 "byte strings" (one char per byte), which is what
 * PEP 3333 calls native strings decoded as ISO-8859-1.
 *
 * Order is fixed, so the environ is stable from request to request:
 *   REQUEST_METHOD REQUEST_URI PATH_INFO QUERY_STRING SCRIPT_NAME
 *   SERVER_PROTOCOL SERVER_NAME SERVER_PORT REMOTE_ADDR REMOTE_PORT
 *   [HTTPS] [CONTENT_TYPE] [CONTENT_LENGTH] HTTP_* (in order of first appearance)
 *
 * Choices:
 * - PATH_INFO is the target's path, percent-decoded bytewise (`%C3%A9` becomes
 *   the two chars U+00C3 U+00A9: the UTF-8 bytes as latin-1, as WSGI wants).
 *   Malformed escapes ("%zz", a trailing "%") are kept as they are, like
 *   Python's urllib.parse.unquote. An absolute-form target
 *   (`http://host/path`) contributes its path ("/" when empty); the asterisk
 *   form `*` gives PATH_INFO "*" (as uWSGI and gunicorn do); the CONNECT
 *   authority form gives "".
 * - QUERY_STRING is everything after the first "?", not decoded ("" if none).
 *   Clients do not send fragments; a "#" that does arrive ends the path or
 *   the query, as gunicorn, uvicorn and nginx read it (withoutFragment).
 * - SERVER_NAME is `conn.serverName` when given (the worker passes the
 *   machine's hostname: uWSGI's http-socket always does that, and apps moving
 *   from uWSGI see what they saw); else the Host header without its port;
 *   else the local address. What the client asked for is in HTTP_HOST, which
 *   PEP 3333's URL reconstruction reads first.
 * - SERVER_PORT is the local port the connection arrived on, as uWSGI's
 *   http-socket, gunicorn on TCP and nginx's $server_port all do: the Host
 *   port is what the client typed and can differ behind NAT or port mapping.
 *   Only when there is no local port (`localPort` 0: a unix socket) does it
 *   come from Host, else the scheme's default (80/443), as gunicorn does.
 * - CONTENT_LENGTH is the parser's normalised value ("005" gives "5"), and
 *   only present when the request had a Content-Length field; a chunked
 *   request has none here.
 */
import { equalsLowercase } from './ascii';
import type { HttpHead } from './http1';

export interface ConnectionInfo {
  remoteAddr: string;
  remotePort: number;
  localAddr: string;
  /** 0 when the socket has no port (unix socket). */
  localPort: number;
  /** A configured server name, used when the request has no Host. */
  serverName?: string;
  scheme: 'http' | 'https';
}

// RFC 3986 §3.2: the authority ends at the first "/", "?" or "#".
const ABSOLUTE_FORM_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

export function httpHeadToCgiVars(head: HttpHead, conn: ConnectionInfo): Array<[string, string]> {
  const { path, query } = splitTarget(head.target);
  const host = findHost(head.headers);
  const vars: Array<[string, string]> = [
    ['REQUEST_METHOD', head.method],
    ['REQUEST_URI', head.target],
    ['PATH_INFO', pathInfoOf(path)],
    ['QUERY_STRING', query],
    ['SCRIPT_NAME', ''],
    ['SERVER_PROTOCOL', head.version === '1.1' ? 'HTTP/1.1' : `HTTP/${head.version}`],
    ['SERVER_NAME', serverName(host, conn)],
    ['SERVER_PORT', serverPort(host, conn)],
    ['REMOTE_ADDR', conn.remoteAddr],
    ['REMOTE_PORT', String(conn.remotePort)],
  ];
  if (conn.scheme === 'https') vars.push(['HTTPS', 'on']);
  const contentType = joinedField(head.headers, 'CONTENT_TYPE');
  if (contentType !== undefined) vars.push(['CONTENT_TYPE', contentType]);
  if (head.contentLength >= 0) vars.push(['CONTENT_LENGTH', String(head.contentLength)]);
  pushHeaderVars(head.headers, vars);
  return vars;
}

/**
 * Header fields as CGI names (HTTP_ + uppercase, '-' → '_'), repeated fields
 * joined, in order of first appearance, appended to `vars`. Content-Type
 * (CONTENT_TYPE, placed by the caller) and Content-Length (the caller uses
 * the parser's validated value) are skipped. A linear search for repeats: a
 * Map per request cost more than the few comparisons it saves.
 */
function pushHeaderVars(headers: Array<[string, string]>, vars: Array<[string, string]>): void {
  const first = vars.length;
  for (const [name, value] of headers) {
    const cgiName = cgiNameOf(name);
    if (cgiName === '' || cgiName === 'CONTENT_TYPE') continue;
    let i = first;
    while (i < vars.length && (vars[i] as [string, string])[0] !== cgiName) i++;
    if (i === vars.length) vars.push([cgiName, value]);
    else (vars[i] as [string, string])[1] += separatorFor(cgiName) + value;
  }
}

/** Every value of the fields whose CGI name is `cgiName`, joined; undefined when there is none. */
function joinedField(headers: Array<[string, string]>, cgiName: string): string | undefined {
  let joined: string | undefined;
  for (const [name, value] of headers) {
    if (cgiNameOf(name) !== cgiName) continue;
    joined = joined === undefined ? value : joined + separatorFor(cgiName) + value;
  }
  return joined;
}

/** RFC 9110 §5.3 joins repeated fields with ", "; Cookie is the exception (RFC 6265 §5.4: cookie-pairs are separated by "; "). */
function separatorFor(cgiName: string): string {
  return cgiName === 'HTTP_COOKIE' ? '; ' : ', ';
}

/** Header name → CGI name, remembered: the same few names arrive with every request. */
const cgiNames = new Map<string, string>();
const CGI_NAMES_KEPT = 512;

/** The CGI name of a header field; '' for the fields that get none. */
function cgiNameOf(name: string): string {
  const known = cgiNames.get(name);
  if (known !== undefined) return known;
  const cgiName = computeCgiName(name);
  if (cgiNames.size >= CGI_NAMES_KEPT) cgiNames.clear(); // a client inventing names cannot grow it
  cgiNames.set(name, cgiName);
  return cgiName;
}

function computeCgiName(name: string): string {
  // Dropped, as gunicorn does since 22.0: once '-' becomes '_', a client's
  // "X_Forwarded_For" would land on the same HTTP_X_FORWARDED_FOR as the
  // "X-Forwarded-For" a trusted proxy sets, and could spoof or pollute it.
  if (name.includes('_')) return '';
  const upper = name.toUpperCase();
  if (upper === 'CONTENT-LENGTH') return '';
  return upper === 'CONTENT-TYPE' ? 'CONTENT_TYPE' : `HTTP_${upper.replace(/-/g, '_')}`;
}

/** PATH_INFO for a request-target: its path, dot segments removed, then percent-decoded. */
export function pathInfoOfTarget(target: string): string {
  return pathInfoOf(splitTarget(target).path);
}

/** PATH_INFO of a target's path component (splitTarget's `path`). */
export function pathInfoOf(path: string): string {
  return percentDecodeLatin1(removeDotSegments(path));
}

/** Path and query of a request-target; a fragment, if one arrived, is neither (withoutFragment). */
export function splitTarget(sent: string): { path: string; query: string } {
  const target = withoutFragment(sent);
  const q = target.indexOf('?');
  if (q === -1) return { path: pathOfTarget(target), query: '' };
  return { path: pathOfTarget(target.slice(0, q)), query: target.slice(q + 1) };
}

/**
 * The target without a fragment. A request-target has none (RFC 9112 §3.2:
 * no "#"), and clients strip it, but one that arrives is cut off here, as
 * gunicorn, uvicorn and nginx do: `/a#x?y` is the path `/a` with no query
 * (RFC 3986 §3.5: the fragment runs to the end). REQUEST_URI keeps the
 * target as it was sent.
 */
export function withoutFragment(target: string): string {
  const hash = target.indexOf('#');
  return hash === -1 ? target : target.slice(0, hash);
}

/** The path component of a request-target without its query (RFC 9112 §3.2). */
export function pathOfTarget(target: string): string {
  if (target.startsWith('/')) return target; // origin-form
  if (target === '*') return '*'; // asterisk-form
  const authority = ABSOLUTE_FORM_AUTHORITY.exec(target);
  if (authority !== null) return target.slice(authority[0].length) || '/'; // absolute-form
  return ''; // authority-form (CONNECT), or an absolute URI without an authority
}

/**
 * Decodes %XX escapes to the byte they stand for, kept as a latin-1 char;
 * everything else, malformed escapes included, is kept as is.
 */
/**
 * RFC 3986 §5.2.4 on the raw path, before percent-decoding, as uWSGI's
 * http-socket does: "/a/./b/../c" is "/a/c"; an encoded "%2e%2e" is data, not
 * a segment, and stays; empty segments ("//") stay. An app that joins
 * PATH_INFO to a directory never sees a literal ".." segment from the wire.
 */
export function removeDotSegments(path: string): string {
  // The common case, nothing to do: a dot segment starts the path or follows a '/' ("/app.css" has none).
  if (!path.startsWith('.') && !path.includes('/.')) return path;
  const input = path.split('/');
  const output: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const segment = input[i] as string;
    const last = i === input.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..' && output.length > 1) output.pop();
      if (last) output.push(''); // "/a/b/.." ends with a slash: "/a/"
      continue;
    }
    output.push(segment);
  }
  const joined = output.join('/');
  return path.startsWith('/') && !joined.startsWith('/') ? '/' + joined : joined;
}

export function percentDecodeLatin1(text: string): string {
  let percent = text.indexOf('%');
  if (percent === -1) return text;
  let decoded = '';
  let copiedUpTo = 0;
  while (percent !== -1) {
    const high = hexDigitValue(text.charCodeAt(percent + 1));
    const low = hexDigitValue(text.charCodeAt(percent + 2));
    if (high >= 0 && low >= 0) {
      decoded += text.slice(copiedUpTo, percent) + String.fromCharCode(high * 16 + low);
      copiedUpTo = percent + 3;
      percent = text.indexOf('%', copiedUpTo);
    } else {
      percent = text.indexOf('%', percent + 1);
    }
  }
  return decoded + text.slice(copiedUpTo);
}

function hexDigitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1; // includes NaN past the end of the string
}

function findHost(headers: Array<[string, string]>): string {
  for (const [name, value] of headers) {
    if (equalsLowercase(name, 'host')) return value;
  }
  return '';
}

/** Splits "name:port", "[v6]:port", "name" or "[v6]"; port is '' when absent. */
function splitHostPort(host: string): { name: string; port: string } {
  let portColon: number;
  if (host.startsWith('[')) {
    const bracket = host.indexOf(']');
    portColon = bracket === -1 ? -1 : host.indexOf(':', bracket);
  } else {
    portColon = host.lastIndexOf(':');
  }
  if (portColon === -1) return { name: host, port: '' };
  return { name: host.slice(0, portColon), port: host.slice(portColon + 1) };
}

function serverName(host: string, conn: ConnectionInfo): string {
  if (conn.serverName !== undefined && conn.serverName !== '') return conn.serverName;
  const fromHost = splitHostPort(host).name;
  return fromHost !== '' ? fromHost : conn.localAddr;
}

function serverPort(host: string, conn: ConnectionInfo): string {
  if (conn.localPort > 0) return String(conn.localPort);
  const fromHost = splitHostPort(host).port;
  if (fromHost !== '') return fromHost;
  return conn.scheme === 'https' ? '443' : '80';
}
