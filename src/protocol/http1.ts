/**
 * HTTP/1.1 request parser (RFC 9112), a push-style state machine.
 *
 * Feed it the byte stream of one connection in pieces of any size with
 * `push()`; it calls the handlers synchronously, in order:
 *
 *     onHead (onBody)* onEnd      for every request, pipelined ones included
 *     onError                     once, after which all input is ignored
 *
 * The parser is strict, because a lenient parser behind a proxy that frames
 * messages differently is how request smuggling happens. Choices made where
 * RFC 9112 leaves room (each one has a unit test):
 *
 * - Bare LF line endings are rejected with 400 everywhere (request line, header
 *   fields, chunk sizes, trailers). Accepting them is allowed by RFC 9112 §2.2,
 *   but a proxy in front that does not accept them would see a different
 *   message boundary than we do.
 * - Up to MAX_LEADING_EMPTY_LINES empty lines (CRLF) before a request line are
 *   skipped (RFC 9112 §2.2, old clients send a CRLF after a POST body); more is
 *   a 400.
 * - The request-target may contain obs-text (bytes 0x80-0xFF): real clients send
 *   raw UTF-8 paths, and the latin-1 decoding hands them to WSGI byte for byte,
 *   exactly as if they had been percent-encoded. CTLs, SP and DEL are rejected.
 * - Transfer-Encoding: a final coding other than chunked, or chunked applied
 *   twice, is a 400 (RFC 9112 §6.3: the length cannot be determined). chunked
 *   last with other codings before it (e.g. "gzip, chunked") is a 501: the
 *   framing is fine but we do not decode request transfer-codings
 *   (RFC 9112 §6.1).
 * - Content-Length is one field of 1*DIGIT: a second field or a comma list is
 *   a 400 even when the values agree (RFC 9110 §8.6 allows either; gunicorn,
 *   llhttp and nginx refuse, and no client sends it). A second Content-Type
 *   is a 400 too (a singleton field two readers could each take differently).
 * - A second Host field, or a Host with characters outside uri-host ":" port,
 *   is a 400 (RFC 9112 §3.2), in HTTP/1.0 too.
 * - Expect: 100-continue is honoured only in HTTP/1.1 (RFC 9110 §10.1.1 says an
 *   HTTP/1.0 expectation MUST be ignored).
 * - Versions: HTTP/1.0 and HTTP/1.1 only; any other well-formed HTTP/x[.y]
 *   (the HTTP/2 preface "PRI * HTTP/2.0" included) is a 505, anything else 400.
 * - Target forms (RFC 9112 §3.2): origin-form and absolute-form for every
 *   method, "*" only for OPTIONS, authority-form only (and always) for CONNECT.
 *   The absolute-form needs "scheme://" (as nginx): without it,
 *   "GET example.com:443" would pass as a URI whose scheme is "example.com",
 *   which is the authority-form that §3.2.3 allows for CONNECT alone. Its
 *   authority must be [userinfo "@"] host [":" port].
 * - A line that cannot become valid fails as soon as that is known, not when
 *   its LF arrives (or the header timeout fires): a CR not followed by LF; a
 *   request line whose first byte is no tchar (NULs, binary, a TLS
 *   ClientHello); a field line starting with SP/HTAB (obs-fold) or a non-tchar;
 *   a chunk-size line starting with a non-hex byte.
 * - Chunk sizes: at most MAX_CHUNK_SIZE_HEX_DIGITS significant hex digits
 *   (leading zeros are free, within the chunk-size line's limit) and at most
 *   2^53 - 1, else 400; extensions must follow RFC 9112 §7.1.1 (`;name`,
 *   `;name=token`, `;name="quoted"`, BWS around ";" and "=") and are ignored.
 * - Limits: a request line alone over maxHeadBytes is a 414 (RFC 9112 §3), a
 *   head over it a 431; a Content-Length above maxBodyBytes fails before onHead (413); a
 *   chunked body fails when a chunk size would take it past the limit, after
 *   onHead and the chunks before it.
 * - Trailer fields are validated like header fields and discarded; the trailer
 *   section is limited by maxHeadBytes as the head is (431). Framing, routing
 *   and credential fields there (FORBIDDEN_TRAILER_FIELDS) are a 400.
 * - A request that is not keep-alive is still parsed to the end and any
 *   following pipelined bytes are parsed too: closing the connection after the
 *   response is the caller's decision (`HttpHead.keepAlive`).
 *
 * Performance: lines are found with `Buffer.indexOf(LF)`; a line that arrives
 * whole is never copied; a line split across pushes is copied once when it
 * completes. Line parsers work on index ranges (no subarray per line), and each
 * field name and value is decoded with one latin-1 slice.
 * Body bytes are handed out as views of the pushed buffers and never
 * accumulated, so a 1 GB chunked body costs no memory.
 *
 * Handlers must not throw and must not call `push()` re-entrantly: an exception
 * propagates out of `push()` and leaves the parser in an unspecified state.
 */
import { ProtocolError } from './errors';
import { equalsLowercase, hasListToken, trimOws } from './ascii';
import { latin1Cached } from './latin1-cache';

export interface HttpHead {
  /** A token, case-sensitive as sent. */
  method: string;
  /** The raw request-target, latin-1 (one char per byte). */
  target: string;
  version: '1.0' | '1.1';
  /** [raw name as sent, value without leading/trailing OWS], in order, latin-1. */
  headers: Array<[string, string]>;
  /** -1 when the request has no Content-Length. */
  contentLength: number;
  /** Transfer-Encoding: chunked (as the final and only coding). */
  chunked: boolean;
  /** RFC 9112 §9.3: 1.1 keeps alive unless "Connection: close"; 1.0 only with "Connection: keep-alive". */
  keepAlive: boolean;
  /** "Expect: 100-continue" (case-insensitive) on an HTTP/1.1 request. */
  expectContinue: boolean;
  /** Bytes of the request line + header fields + the final CRLF. */
  headBytes: number;
}

export interface HttpParserHandlers {
  onHead(head: HttpHead): void;
  /**
   * De-chunked body bytes, never empty; may be called many times per request.
   * The chunk is a view of the buffer given to `push()`: copy it if you keep it
   * after the callback returns (the caller may reuse its buffers).
   */
  onBody(chunk: Buffer): void;
  /** The request is complete; the parser is ready for the next pipelined request. */
  onEnd(): void;
  /**
   * The stream is unusable; the parser ignores all further input. Can come
   * after onHead (a malformed chunk, a chunked body over the limit): the
   * response for that request must then be the error.
   */
  onError(err: ProtocolError): void;
}

export interface HttpLimits {
  /** Max bytes of request line + header fields + final CRLF (431 above); also caps the trailer section. */
  maxHeadBytes: number;
  /** Max body bytes (413 above); 0 = unlimited. */
  maxBodyBytes: number;
}

/** Empty lines tolerated before a request line (RFC 9112 §2.2 asks for "at least one"). */
export const MAX_LEADING_EMPTY_LINES = 4;
/** Max bytes of one chunk-size line including extensions and CRLF. */
export const MAX_CHUNK_SIZE_LINE_BYTES = 4096;
/** A chunk size needs at most 14 hex digits below 2^53; 16 allows some leading zeros. */
export const MAX_CHUNK_SIZE_HEX_DIGITS = 16;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function byteTable(ranges: Array<[number, number]>, chars = ''): Uint8Array {
  const table = new Uint8Array(256);
  for (const [from, to] of ranges) table.fill(1, from, to + 1);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

/** tchar, RFC 9110 §5.6.2. */
const TOKEN_BYTES = byteTable([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]], "!#$%&'*+-.^_`|~");
/** field-content bytes, RFC 9110 §5.5: VCHAR, obs-text, SP and HTAB (no other CTL, no DEL). */
const FIELD_VALUE_BYTES = byteTable([[0x20, 0x7e], [0x80, 0xff]], '\t');
/** request-target bytes: VCHAR and obs-text (see the module comment). */
const TARGET_BYTES = byteTable([[0x21, 0x7e], [0x80, 0xff]]);
/** uri-host [":" port], RFC 3986: unreserved, pct-encoded, sub-delims, IP-literal brackets, ':'. */
const HOST_BYTES = byteTable([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]], "-._~%!$&'()*+,;=:[]");
const HEX_VALUES: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 16; i++) {
    table['0123456789abcdef'.charCodeAt(i)] = i;
    table['0123456789ABCDEF'.charCodeAt(i)] = i;
  }
  return table;
})();

/**
 * scheme "://" [ userinfo "@" ] host [ ":" port ], then the path, query or
 * the end (RFC 3986 §3.2). The authority is checked though only the path is
 * used (cgi.ts): "s://]x/" is no URI, and gunicorn refuses it too. userinfo
 * passes, as in gunicorn; it is never used.
 */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[A-Za-z0-9._~%!$&'()*+,;=:-]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::[0-9]*)?(?:[/?#]|$)/;
const AUTHORITY_FORM = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+):[0-9]+$/;
/**
 * Fields that cannot come after the body (RFC 9110 §6.5.1): framing
 * (Content-Length, Transfer-Encoding, TE), routing (Host) and credentials
 * (Authorization). We discard trailers anyway; one of these there is a
 * smuggling probe or a broken client, and gunicorn refuses them too
 * (gunicorn also refuses "Trailer", which frames nothing: we let it pass).
 */
const FORBIDDEN_TRAILER_FIELDS = new Set(['content-length', 'transfer-encoding', 'te', 'host', 'authorization']);
const WELL_FORMED_VERSION = /^HTTP\/[0-9](\.[0-9])?$/;

/** Request-line parts and header fields: mostly the same few strings every request (latin1-cache.ts). */
const latin1 = latin1Cached;

/** Like buf.indexOf(byte, start) but only looks before `end`. */
function indexOfWithin(buf: Buffer, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (buf[i] === byte) return i;
  }
  return -1;
}

function allBytesIn(table: Uint8Array, buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (table[buf[i]!] === 0) return false;
  }
  return true;
}

function isOws(byte: number | undefined): boolean {
  return byte === SP || byte === HTAB;
}

function badRequest(message: string): ProtocolError {
  return new ProtocolError('E_HTTP_BAD_REQUEST', message, 400);
}

function headTooLarge(max: number, what: string): ProtocolError {
  return new ProtocolError(
    'E_HTTP_HEADER_TOO_LARGE',
    `${what} larger than ${max} bytes`,
    431,
    `invalid HTTP request size (max ${max})...skip (431: ${what} larger)`, // uWSGI's words, then which answer went out
  );
}

/** The request line alone is over the head limit: RFC 9112 §3 asks for 414 for a request-target too long to parse (as nginx answers). */
function uriTooLong(max: number): ProtocolError {
  return new ProtocolError('E_HTTP_URI_TOO_LONG', `request line longer than ${max} bytes`, 414, `invalid HTTP request size (max ${max})...skip (414: request line alone longer)`);
}

/** The error scanFieldLine gives for a field line starting with `first`, a byte that is no tchar. */
function fieldLineStartError(first: number): ProtocolError {
  if (isOws(first)) return badRequest('obsolete line folding is not accepted');
  if (first === COLON) return badRequest('empty header field name');
  return badRequest('invalid header field name');
}

function bodyTooLarge(max: number, logLine?: string): ProtocolError {
  return new ProtocolError('E_HTTP_BODY_TOO_LARGE', `request body larger than ${max} bytes`, 413, logLine);
}

// ---------------------------------------------------------------------------
// Line-level parsing: pure functions over buf[start, end), one line without
// its CRLF. Working on ranges instead of subarrays saves an allocation per line.

interface RequestLine {
  method: string;
  target: string;
  version: '1.0' | '1.1';
}

/** `method SP request-target SP HTTP-version`, single spaces, RFC 9112 §3. */
function parseRequestLine(buf: Buffer, start: number, end: number): RequestLine | ProtocolError {
  const sp1 = indexOfWithin(buf, SP, start, end);
  const sp2 = sp1 === -1 ? -1 : indexOfWithin(buf, SP, sp1 + 1, end);
  if (sp2 === -1) return badRequest('malformed request line');
  // The version is checked first so that the HTTP/2 preface "PRI * HTTP/2.0"
  // gets its 505 rather than a 400 for the asterisk-form with PRI.
  const version = parseVersion(latin1(buf, sp2 + 1, end));
  if (version instanceof ProtocolError) return version;
  if (sp1 === start || !allBytesIn(TOKEN_BYTES, buf, start, sp1)) return badRequest('invalid method');
  if (sp2 === sp1 + 1 || !allBytesIn(TARGET_BYTES, buf, sp1 + 1, sp2)) return badRequest('invalid request-target');
  const method = latin1(buf, start, sp1);
  const target = latin1(buf, sp1 + 1, sp2);
  if (!isTargetFormAllowed(method, target)) return badRequest('invalid request-target form');
  return { method, target, version };
}

function parseVersion(text: string): '1.0' | '1.1' | ProtocolError {
  if (text === 'HTTP/1.1') return '1.1';
  if (text === 'HTTP/1.0') return '1.0';
  if (WELL_FORMED_VERSION.test(text)) {
    return new ProtocolError('E_HTTP_VERSION', `unsupported HTTP version ${text}`, 505);
  }
  return badRequest('malformed HTTP version');
}

/** RFC 9112 §3.2: which request-target forms go with which methods. */
function isTargetFormAllowed(method: string, target: string): boolean {
  if (method === 'CONNECT') return AUTHORITY_FORM.test(target);
  if (target.charCodeAt(0) === 0x2f /* '/' */) return true; // origin-form
  if (target === '*') return method === 'OPTIONS'; // asterisk-form
  return ABSOLUTE_FORM.test(target); // absolute-form
}

interface FieldBounds {
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** `field-name ":" OWS field-value OWS`, RFC 9112 §5; validates without decoding. */
function scanFieldLine(buf: Buffer, start: number, end: number): FieldBounds | ProtocolError {
  if (isOws(buf[start])) return badRequest('obsolete line folding is not accepted');
  let nameEnd = start;
  while (nameEnd < end && TOKEN_BYTES[buf[nameEnd]!] === 1) nameEnd++;
  if (nameEnd === end) return badRequest('header field without a colon');
  // Whitespace before the colon fails here too: SP is not a tchar (RFC 9112 §5.1).
  if (buf[nameEnd] !== COLON) return badRequest('invalid header field name');
  if (nameEnd === start) return badRequest('empty header field name');
  let valueStart = nameEnd + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isOws(buf[valueStart])) valueStart++;
  while (valueEnd > valueStart && isOws(buf[valueEnd - 1])) valueEnd--;
  if (!allBytesIn(FIELD_VALUE_BYTES, buf, valueStart, valueEnd)) {
    return badRequest('invalid character in header field value');
  }
  return { nameEnd, valueStart, valueEnd };
}

/** `chunk-size [ chunk-ext ]`, RFC 9112 §7.1; extensions are validated and ignored. */
function parseChunkSizeLine(buf: Buffer, start: number, end: number): number | ProtocolError {
  let digitsEnd = start;
  let size = 0;
  let significantFrom = -1; // leading zeros are valid (1*HEXDIG) and count for nothing: gunicorn, uvicorn and nginx take them
  while (digitsEnd < end && HEX_VALUES[buf[digitsEnd]!]! >= 0) {
    size = size * 16 + HEX_VALUES[buf[digitsEnd]!]!;
    if (significantFrom < 0 && size > 0) significantFrom = digitsEnd;
    digitsEnd++;
  }
  if (digitsEnd === start) return badRequest('missing chunk size');
  if ((significantFrom >= 0 && digitsEnd - significantFrom > MAX_CHUNK_SIZE_HEX_DIGITS) || size > Number.MAX_SAFE_INTEGER) {
    return badRequest('chunk size too large');
  }
  if (digitsEnd === end) return size;
  let extStart = digitsEnd;
  while (extStart < end && isOws(buf[extStart])) extStart++;
  if (extStart === end || buf[extStart] !== SEMICOLON) return badRequest('invalid chunk size');
  if (!isValidChunkExtensions(buf, extStart, end)) return badRequest('invalid chunk extension');
  return size;
}

/**
 * buf[pos, end), from the first ";", is `*( BWS ";" BWS chunk-ext-name
 * [ BWS "=" BWS chunk-ext-val ] )` (RFC 9112 §7.1.1), names and values tokens
 * or quoted strings. Checked though the extensions are ignored, as llhttp
 * does: "5;" or an unclosed quote is a sender we must not guess about.
 */
function isValidChunkExtensions(buf: Buffer, pos: number, end: number): boolean {
  while (pos < end) {
    pos = skipOws(buf, pos, end);
    if (pos === end || buf[pos] !== SEMICOLON) return false; // whitespace must lead to a ";" (no trailing BWS)
    pos = skipOws(buf, pos + 1, end);
    const nameEnd = skipToken(buf, pos, end);
    if (nameEnd === pos) return false;
    pos = nameEnd;
    const equals = skipOws(buf, nameEnd, end);
    if (equals === end || buf[equals] !== EQUALS) continue;
    const valueStart = skipOws(buf, equals + 1, end);
    const valueEnd = valueStart < end && buf[valueStart] === DQUOTE ? skipQuotedString(buf, valueStart, end) : skipToken(buf, valueStart, end);
    if (valueEnd === valueStart) return false;
    pos = valueEnd;
  }
  return true;
}

function skipOws(buf: Buffer, pos: number, end: number): number {
  while (pos < end && isOws(buf[pos])) pos++;
  return pos;
}

function skipToken(buf: Buffer, pos: number, end: number): number {
  while (pos < end && TOKEN_BYTES[buf[pos]!] === 1) pos++;
  return pos;
}

/** Past the quoted-string starting at buf[pos] (RFC 9110 §5.6.4); `pos` itself when it is not closed or holds a CTL. */
function skipQuotedString(buf: Buffer, pos: number, end: number): number {
  for (let i = pos + 1; i < end; i++) {
    const byte = buf[i]!;
    if (byte === DQUOTE) return i + 1;
    if (byte === BACKSLASH) i++; // quoted-pair: the next byte is taken as it is, if it is allowed at all
    if (i === end || FIELD_VALUE_BYTES[buf[i]!] === 0) return pos;
  }
  return pos;
}

/**
 * Content-Length: 1*DIGIT (RFC 9110 §8.6). A list, even of identical values
 * ("5, 5"), is refused: §8.6 lets a recipient take it as one value, but
 * gunicorn, llhttp and nginx refuse it, and no client sends it.
 */
function parseContentLength(value: string): number | ProtocolError {
  if (!/^[0-9]{1,16}$/.test(value)) return badRequest('invalid Content-Length');
  const n = Number(value);
  if (n > Number.MAX_SAFE_INTEGER) return badRequest('invalid Content-Length');
  return n;
}

/** A comma-separated header value as lowercase elements, empty elements dropped (RFC 9110 §5.6.1). */
function lowercaseListElements(value: string): string[] {
  const elements: string[] = [];
  for (const raw of value.split(',')) {
    const element = trimOws(raw).toLowerCase(); // SP/HTAB only: `chunked\xa0` is not chunked
    if (element !== '') elements.push(element);
  }
  return elements;
}

function isValidHostValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (HOST_BYTES[value.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Per-request head state: what the header fields say about framing.

class HeadInProgress {
  method = '';
  target = '';
  version: '1.0' | '1.1' = '1.1';
  readonly headers: Array<[string, string]> = [];
  headBytes = 0;
  contentLength = -1;
  /** Every transfer coding from every Transfer-Encoding field, in order; null when there is none. */
  transferCodings: string[] | null = null;
  connectionClose = false;
  connectionKeepAlive = false;
  expectsContinue = false;
  hostFields = 0;
  contentTypeFields = 0;

  /** Records one header field and interprets the few that matter to the parser. */
  addField(name: string, value: string): ProtocolError | null {
    this.headers.push([name, value]);
    // Switching on the length first keeps the comparisons off the common path.
    switch (name.length) {
      case 4:
        return equalsLowercase(name, 'host') ? this.noteHost(value) : null;
      case 6:
        if (equalsLowercase(name, 'expect') && equalsLowercase(value, '100-continue')) this.expectsContinue = true;
        return null;
      case 10:
        if (equalsLowercase(name, 'connection')) this.noteConnection(value);
        return null;
      case 12:
        return equalsLowercase(name, 'content-type') ? this.noteContentType() : null;
      case 14:
        return equalsLowercase(name, 'content-length') ? this.noteContentLength(value) : null;
      case 17:
        if (equalsLowercase(name, 'transfer-encoding')) {
          this.transferCodings = (this.transferCodings ?? []).concat(lowercaseListElements(value));
        }
        return null;
      default:
        return null;
    }
  }

  private noteHost(value: string): ProtocolError | null {
    this.hostFields++;
    if (this.hostFields > 1) return badRequest('more than one Host header field');
    if (!isValidHostValue(value)) return badRequest('invalid Host header field');
    return null;
  }

  /** Scans the value in place: splitting and lowercasing it cost two allocations per element, per request. */
  private noteConnection(value: string): void {
    if (hasListToken(value, 'close')) this.connectionClose = true;
    if (hasListToken(value, 'keep-alive')) this.connectionKeepAlive = true;
  }

  /** A second Content-Length field is refused even with the same value, as a list is (parseContentLength). */
  private noteContentLength(value: string): ProtocolError | null {
    if (this.contentLength !== -1) return badRequest('more than one Content-Length field');
    const n = parseContentLength(value);
    if (n instanceof ProtocolError) return n;
    this.contentLength = n;
    return null;
  }

  /**
   * Content-Type is a singleton field (RFC 9110 §5.3, §8.3): two of them
   * cannot be joined into one media type, and a filter in front may check
   * one while the app reads the other (gunicorn refuses it too).
   */
  private noteContentType(): ProtocolError | null {
    this.contentTypeFields++;
    return this.contentTypeFields > 1 ? badRequest('more than one Content-Type field') : null;
  }

  /** RFC 9112 §6.1 and §6.3: is the body framing unambiguous and supported? */
  private checkTransferEncoding(codings: string[]): ProtocolError | null {
    if (this.version === '1.0') return badRequest('Transfer-Encoding in an HTTP/1.0 request');
    if (this.contentLength !== -1) return badRequest('both Content-Length and Transfer-Encoding');
    if (codings[codings.length - 1] !== 'chunked') return badRequest('final transfer coding is not chunked');
    if (codings.indexOf('chunked') !== codings.length - 1) return badRequest('chunked applied more than once');
    if (codings.length > 1) {
      return new ProtocolError('E_HTTP_TRANSFER_CODING', `unsupported transfer coding ${codings[0]}`, 501);
    }
    return null;
  }

  /** The finished head, or why the request cannot be served. */
  finish(): HttpHead | ProtocolError {
    if (this.version === '1.1' && this.hostFields === 0) return badRequest('missing Host header field');
    if (this.transferCodings !== null) {
      const err = this.checkTransferEncoding(this.transferCodings);
      if (err !== null) return err;
    }
    return {
      method: this.method,
      target: this.target,
      version: this.version,
      headers: this.headers,
      contentLength: this.contentLength,
      chunked: this.transferCodings !== null,
      keepAlive: this.version === '1.1' ? !this.connectionClose : this.connectionKeepAlive && !this.connectionClose,
      expectContinue: this.version === '1.1' && this.expectsContinue,
      headBytes: this.headBytes,
    };
  }
}

// ---------------------------------------------------------------------------
// Byte-stream plumbing.

/**
 * The start of a line whose LF has not arrived yet. Pieces are copied (the
 * caller may reuse its buffers after push() returns) and joined once, when the
 * line completes, so feeding one byte at a time stays linear.
 */
class PartialLine {
  private pieces: Buffer[] = [];
  length = 0;

  append(piece: Buffer): void {
    this.pieces.push(Buffer.from(piece));
    this.length += piece.length;
  }

  /** The carried bytes followed by `tail`, as one buffer; empties the carry. */
  complete(tail: Buffer): Buffer {
    if (this.length === 0) return tail;
    this.pieces.push(tail);
    const line = Buffer.concat(this.pieces, this.length + tail.length);
    this.clear();
    return line;
  }

  clear(): void {
    this.pieces = [];
    this.length = 0;
  }
}

type ParserState =
  | 'request-line'
  | 'header-line'
  | 'fixed-body'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-data-crlf'
  | 'trailer-line'
  | 'failed';

export class Http1Parser {
  private readonly handlers: HttpParserHandlers;
  private readonly limits: HttpLimits;
  private state: ParserState = 'request-line';
  private readonly partial = new PartialLine();
  /** The last byte buffered in `partial` was a CR (a split CRLF, or a bare CR on its way). */
  private partialEndsInCR = false;
  private head = new HeadInProgress();
  private leadingEmptyLines = 0;
  /** Bytes left in the Content-Length body or in the current chunk. */
  private bodyRemaining = 0;
  /** De-chunked body bytes announced so far, against maxBodyBytes. */
  private chunkedBodyBytes = 0;
  /** How many bytes of the CRLF that ends a chunk's data have been seen. */
  private chunkCrlfMatched = 0;
  private trailerBytes = 0;

  constructor(handlers: HttpParserHandlers, limits: HttpLimits) {
    this.handlers = handlers;
    this.limits = limits;
  }

  /** Between messages, with no partial bytes buffered: closing now loses nothing. */
  get idle(): boolean {
    return this.state === 'request-line' && this.partial.length === 0;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.state !== 'failed') {
      pos = this.consume(chunk, pos);
    }
  }

  /** Consumes bytes from `pos` in the current state; returns the new position. */
  private consume(chunk: Buffer, pos: number): number {
    switch (this.state) {
      case 'fixed-body':
        return this.consumeFixedBody(chunk, pos);
      case 'chunk-data':
        return this.consumeChunkData(chunk, pos);
      case 'chunk-data-crlf':
        return this.consumeChunkDataCrlf(chunk, pos);
      case 'failed':
        return chunk.length;
      default:
        return this.consumeLine(chunk, pos);
    }
  }

  // --- lines ---------------------------------------------------------------

  private consumeLine(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    const budget = this.lineBudget();
    // The byte at line offset `budget` decides the 431: bytes after it are
    // never looked at, or a bare CR beyond the limit would turn the 431 into
    // a 400 only when the line arrives whole (found by the fuzzer).
    const limitIndex = pos + budget - this.partial.length;
    const scanEnd = Math.min(lf === -1 ? chunk.length : lf, limitIndex + 1);
    // Before the length checks, so the earliest hopeless byte decides the
    // error whatever the split. A whole header, trailer or chunk-size line is
    // only looked at this way when it fails (onLine): that keeps a CR scan
    // per field line off the common path.
    if (this.state === 'request-line' || lf === -1) {
      const hopeless = this.hopelessPiece(chunk, pos, scanEnd);
      if (hopeless !== undefined) return this.fail(hopeless);
    }
    // Checked on partial lines too, so a client cannot make us buffer an
    // endless line; the full-line check below counts the LF, so both checks
    // agree whatever the split.
    if (lf === -1) {
      if (this.partial.length + (chunk.length - pos) > budget) return this.fail(this.lineTooLong());
      this.partial.append(chunk.subarray(pos));
      this.partialEndsInCR = chunk[chunk.length - 1] === CR;
      return chunk.length;
    }
    if (this.partial.length + (lf - pos) + 1 > budget) {
      return this.fail(this.hopelessPiece(chunk, pos, scanEnd) ?? this.lineTooLong());
    }
    if (this.partial.length === 0) {
      this.onLine(chunk, pos, lf);
    } else {
      const line = this.partial.complete(chunk.subarray(pos, lf));
      this.onLine(line, 0, line.length);
    }
    return lf + 1;
  }

  /** hopelessLine() for the next bytes of the line being read, `partial` holding the ones before. */
  private hopelessPiece(buf: Buffer, start: number, end: number): ProtocolError | undefined {
    const continuing = this.partial.length > 0;
    return this.hopelessLine(buf, start, end, continuing, continuing && this.partialEndsInCR);
  }

  /**
   * What no later byte can repair in buf[start, end), bytes of a line before
   * its LF (after `continuing` earlier ones, the last of them a CR when
   * `afterCR`): a first byte that cannot start the line (NULs, binary, a TLS
   * ClientHello as a request line; SP, HTAB (obs-fold) or a non-tchar as a
   * field line; a non-hex digit as a chunk size), or a CR that something
   * other than LF follows. Found as the bytes arrive, so garbage gets its 400
   * at once rather than at the header timeout. The first-byte errors are the
   * ones the line's parser gives, and whole lines that fail are checked the
   * same way (onLine), so any split gives the same error.
   */
  private hopelessLine(buf: Buffer, start: number, end: number, continuing: boolean, afterCR: boolean): ProtocolError | undefined {
    if (start === end) return undefined;
    if (afterCR) return this.bareCR();
    const first = buf[start]!;
    if (!continuing && first !== CR) {
      const err = this.badFirstByte(first);
      if (err !== undefined) return err;
    }
    const cr = buf.indexOf(CR, start);
    // A CR as the last byte so far may still be followed by its LF.
    if (cr !== -1 && cr < end - 1) return this.bareCR();
    return undefined;
  }

  private badFirstByte(first: number): ProtocolError | undefined {
    switch (this.state) {
      case 'request-line':
        return TOKEN_BYTES[first] === 0 ? badRequest('invalid method') : undefined;
      case 'chunk-size':
        return HEX_VALUES[first]! < 0 ? badRequest('missing chunk size') : undefined;
      default:
        return TOKEN_BYTES[first] === 0 ? fieldLineStartError(first) : undefined;
    }
  }

  private bareCR(): ProtocolError {
    switch (this.state) {
      case 'request-line':
        return badRequest('bare CR in the request line');
      case 'chunk-size':
        return badRequest('bare CR in a chunk size line');
      default:
        return badRequest('bare CR in a field line');
    }
  }

  /** A whole line (up to its LF at `lf`) failed: the hopeless-byte error if it has one, as a split line would have got. */
  private lineError(buf: Buffer, start: number, lf: number, err: ProtocolError): ProtocolError {
    return this.hopelessLine(buf, start, lf, false, false) ?? err;
  }

  /** How many more bytes the line being read may take, LF included. */
  private lineBudget(): number {
    switch (this.state) {
      case 'chunk-size':
        return MAX_CHUNK_SIZE_LINE_BYTES;
      case 'trailer-line':
        return this.limits.maxHeadBytes - this.trailerBytes;
      default:
        return this.limits.maxHeadBytes - this.head.headBytes;
    }
  }

  private lineTooLong(): ProtocolError {
    switch (this.state) {
      case 'request-line':
        return uriTooLong(this.limits.maxHeadBytes);
      case 'chunk-size':
        return badRequest('chunk size line too long');
      case 'trailer-line':
        return headTooLarge(this.limits.maxHeadBytes, 'trailer section');
      default:
        return headTooLarge(this.limits.maxHeadBytes, 'request head');
    }
  }

  /** buf[start, end) is the line up to, not including, its LF. */
  private onLine(buf: Buffer, start: number, end: number): void {
    if (end === start || buf[end - 1] !== CR) {
      this.fail(this.lineError(buf, start, end, badRequest('bare LF line ending')));
      return;
    }
    const contentEnd = end - 1;
    const lineBytes = end - start + 1;
    switch (this.state) {
      case 'request-line':
        this.onRequestLine(buf, start, contentEnd, lineBytes);
        return;
      case 'header-line':
        this.onHeaderLine(buf, start, contentEnd, lineBytes);
        return;
      case 'chunk-size':
        this.onChunkSizeLine(buf, start, contentEnd);
        return;
      case 'trailer-line':
        this.onTrailerLine(buf, start, contentEnd, lineBytes);
        return;
      default:
        return;
    }
  }

  private onRequestLine(buf: Buffer, start: number, end: number, lineBytes: number): void {
    if (start === end) {
      this.leadingEmptyLines++;
      if (this.leadingEmptyLines > MAX_LEADING_EMPTY_LINES) this.fail(badRequest('too many empty lines before the request line'));
      return;
    }
    const requestLine = parseRequestLine(buf, start, end);
    if (requestLine instanceof ProtocolError) {
      this.fail(requestLine);
      return;
    }
    this.head.method = requestLine.method;
    this.head.target = requestLine.target;
    this.head.version = requestLine.version;
    this.head.headBytes = lineBytes;
    this.state = 'header-line';
  }

  private onHeaderLine(buf: Buffer, start: number, end: number, lineBytes: number): void {
    this.head.headBytes += lineBytes;
    if (start === end) {
      this.onHeadComplete();
      return;
    }
    const field = scanFieldLine(buf, start, end);
    if (field instanceof ProtocolError) {
      this.fail(this.lineError(buf, start, end + 1, field));
      return;
    }
    const name = latin1(buf, start, field.nameEnd);
    const value = latin1(buf, field.valueStart, field.valueEnd);
    const err = this.head.addField(name, value);
    if (err !== null) this.fail(err);
  }

  private onHeadComplete(): void {
    const head = this.head.finish();
    if (head instanceof ProtocolError) {
      this.fail(head);
      return;
    }
    const maxBody = this.limits.maxBodyBytes;
    if (maxBody > 0 && head.contentLength > maxBody) {
      // uWSGI's words for its limit-post check (core/protocol.c).
      this.fail(bodyTooLarge(maxBody, 'Invalid (too big) CONTENT_LENGTH. skip.'));
      return;
    }
    this.handlers.onHead(head);
    if (head.chunked) {
      this.chunkedBodyBytes = 0;
      this.state = 'chunk-size';
    } else if (head.contentLength > 0) {
      this.bodyRemaining = head.contentLength;
      this.state = 'fixed-body';
    } else {
      // No Content-Length and not chunked: a request has an empty body (RFC 9112 §6.3).
      this.endMessage();
    }
  }

  private onChunkSizeLine(buf: Buffer, start: number, end: number): void {
    const size = parseChunkSizeLine(buf, start, end);
    if (size instanceof ProtocolError) {
      this.fail(this.lineError(buf, start, end + 1, size));
      return;
    }
    if (size === 0) {
      this.trailerBytes = 0;
      this.state = 'trailer-line';
      return;
    }
    const maxBody = this.limits.maxBodyBytes;
    if (maxBody > 0 && this.chunkedBodyBytes + size > maxBody) {
      this.fail(bodyTooLarge(maxBody));
      return;
    }
    this.chunkedBodyBytes += size;
    this.bodyRemaining = size;
    this.state = 'chunk-data';
  }

  private onTrailerLine(buf: Buffer, start: number, end: number, lineBytes: number): void {
    this.trailerBytes += lineBytes;
    if (start === end) {
      this.endMessage();
      return;
    }
    // Trailer fields are validated but discarded: WSGI has no place for them,
    // and merging them into the headers would let them override framing fields.
    const field = scanFieldLine(buf, start, end);
    if (field instanceof ProtocolError) {
      this.fail(this.lineError(buf, start, end + 1, field));
      return;
    }
    const name = latin1(buf, start, field.nameEnd).toLowerCase();
    if (FORBIDDEN_TRAILER_FIELDS.has(name)) this.fail(badRequest(`${name} field in the trailer section`));
  }

  // --- bodies --------------------------------------------------------------

  private consumeFixedBody(chunk: Buffer, pos: number): number {
    const end = pos + Math.min(this.bodyRemaining, chunk.length - pos);
    this.bodyRemaining -= end - pos;
    this.handlers.onBody(chunk.subarray(pos, end));
    if (this.bodyRemaining === 0) this.endMessage();
    return end;
  }

  private consumeChunkData(chunk: Buffer, pos: number): number {
    const end = pos + Math.min(this.bodyRemaining, chunk.length - pos);
    this.bodyRemaining -= end - pos;
    this.handlers.onBody(chunk.subarray(pos, end));
    if (this.bodyRemaining === 0) {
      this.chunkCrlfMatched = 0;
      this.state = 'chunk-data-crlf';
    }
    return end;
  }

  private consumeChunkDataCrlf(chunk: Buffer, pos: number): number {
    const expected = this.chunkCrlfMatched === 0 ? CR : LF;
    if (chunk[pos] !== expected) return this.fail(badRequest('chunk data not followed by CRLF'));
    this.chunkCrlfMatched++;
    if (this.chunkCrlfMatched === 2) this.state = 'chunk-size';
    return pos + 1;
  }

  // --- transitions ---------------------------------------------------------

  /** Resets for the next pipelined request before telling the handler, so `idle` is true inside onEnd. */
  private endMessage(): void {
    this.head = new HeadInProgress();
    this.leadingEmptyLines = 0;
    this.state = 'request-line';
    this.handlers.onEnd();
  }

  /** Enters the terminal state; returns a position past any input so push() stops. */
  private fail(err: ProtocolError): number {
    this.state = 'failed';
    this.partial.clear();
    this.handlers.onError(err);
    return Number.MAX_SAFE_INTEGER;
  }
}
