/**
 * How a response goes on the wire: the status line, the framing headers we add
 * to what the app sent, and whether the connection survives. Pure functions.
 */

export type BodyFraming =
  | 'length' // Content-Length (the app's, or ours for a complete body)
  | 'chunked' // HTTP/1.1 Transfer-Encoding: chunked
  | 'close' // the body ends when we close the connection (HTTP/1.0, uwsgi protocol)
  | 'none'; // no body may be sent (HEAD, 1xx, 204, 304)

export interface FramingInput {
  /** 'HTTP/1.1' on an HTTP socket; the request's SERVER_PROTOCOL on a uwsgi socket. */
  protocol: string;
  /** The client asked to keep the connection (RFC 9112 §9.3). Always false on uwsgi sockets. */
  clientKeepAlive: boolean;
  /** The client speaks HTTP/1.1 (can read chunked responses). */
  clientHttp11: boolean;
  /** uwsgi sockets: no framing headers at all, the connection closes (as uWSGI). */
  raw: boolean;
  isHead: boolean;
  status: number;
  /** Content-Length the app declared, -1 when none. */
  declaredLength: number;
  /** Body length when the whole body is known now, -1 for a stream. */
  completeLength: number;
  /** The app sent "Connection: close". */
  appWantsClose: boolean;
}

export interface Framing {
  body: BodyFraming;
  keepAlive: boolean;
  /** Header lines to append after the app's, each ending in CRLF. */
  extraHeaders: string;
}

export function bodyForbidden(status: number, isHead: boolean): boolean {
  return isHead || status < 200 || status === 204 || status === 304;
}

export function chooseFraming(f: FramingInput): Framing {
  if (f.raw) {
    const body = bodyForbidden(f.status, f.isHead) ? 'none' : f.declaredLength >= 0 ? 'length' : 'close';
    return { body, keepAlive: false, extraHeaders: '' };
  }
  let keepAlive = f.clientKeepAlive && !f.appWantsClose;
  let body: BodyFraming;
  let extra = '';
  if (bodyForbidden(f.status, f.isHead)) {
    body = 'none';
    // A HEAD answer carries the length a GET would have had, when we know it; a 204 or 304 would have had no body.
    if (f.isHead && !bodyForbidden(f.status, false) && f.declaredLength < 0 && f.completeLength >= 0) extra += `Content-Length: ${f.completeLength}\r\n`;
  } else if (f.declaredLength >= 0) {
    body = 'length';
  } else if (f.completeLength >= 0) {
    body = 'length';
    extra += `Content-Length: ${f.completeLength}\r\n`;
  } else if (f.clientHttp11) {
    body = 'chunked';
    extra += 'Transfer-Encoding: chunked\r\n';
  } else {
    body = 'close';
    keepAlive = false;
  }
  if (!keepAlive && f.clientHttp11) extra += 'Connection: close\r\n';
  if (keepAlive && !f.clientHttp11) extra += 'Connection: keep-alive\r\n';
  return { body, keepAlive, extraHeaders: extra };
}

/** "HTTP/1.1 " + the app's "200 OK\r\nName: v\r\n..." + our headers + CRLF. */
export function serializeHead(protocol: string, appHead: Buffer, extraHeaders: string): Buffer {
  return serializeResponse(protocol, appHead, extraHeaders, undefined);
}

/** The head and, when given, a body, in one buffer: one allocation, one write(2). */
export function serializeResponse(protocol: string, appHead: Buffer, extraHeaders: string, body: Buffer | undefined): Buffer {
  const bodyLength = body === undefined ? 0 : body.length;
  const out = Buffer.allocUnsafe(protocol.length + 1 + appHead.length + extraHeaders.length + 2 + bodyLength);
  let pos = writeLatin1(out, 0, protocol);
  out[pos++] = 32;
  pos += appHead.copy(out, pos);
  pos = writeLatin1(out, pos, extraHeaders);
  out[pos++] = 13;
  out[pos++] = 10;
  if (body !== undefined) body.copy(out, pos);
  return out;
}

/**
 * A latin-1 string into `out` at `pos`; returns the position after it. A
 * loop: the protocol and our few framing headers are short, and
 * Buffer#write is a call into C++ per string (two per response).
 */
function writeLatin1(out: Buffer, pos: number, s: string): number {
  if (s.length > 64) return pos + out.write(s, pos, 'latin1');
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** One chunk of a chunked body (never called with an empty chunk: that would end the body). */
export function chunkFrame(data: Buffer): Buffer[] {
  return [Buffer.from(data.length.toString(16) + '\r\n', 'latin1'), data, CRLF];
}

export function lastChunk(): Buffer {
  return LAST_CHUNK;
}

/**
 * The short answers nuwsgi writes itself (parse errors, app failures).
 * `extraHeaders`: lines ending in CRLF (--add-header), after ours.
 */
export function errorResponse(protocol: string, status: number, reason: string, keepAlive = false, extraHeaders = ''): Buffer {
  const body = `${reason}\n`;
  return Buffer.from(
    `${protocol} ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
      `${keepAlive ? '' : 'Connection: close\r\n'}${extraHeaders}\r\n${body}`,
    'latin1',
  );
}
