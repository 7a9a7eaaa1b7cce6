/**
 * The HTTP side of a static file, as nginx answers it: validators
 * (Last-Modified, a strong ETag), conditional requests (RFC 9110 §13.2.2
 * order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
 * then If-Range), a single byte range, and the response head. Pure functions
 * of the request's fields and the file's size and mtime.
 */
import { pathInfoOfTarget } from '../../protocol/cgi';
import type { HttpHead } from '../../protocol/http1';

/** The request fields static serving reads, from the CGI variables (or, on HTTP sockets, the head they come from). */
export interface StaticRequest {
  method: string;
  pathInfo: string;
  uri: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
  ifNoneMatch?: string;
  ifMatch?: string;
  range?: string;
  ifRange?: string;
  acceptEncoding?: string;
  documentRoot?: string;
}

const FIELDS: Record<string, keyof StaticRequest> = {
  REQUEST_METHOD: 'method',
  PATH_INFO: 'pathInfo',
  REQUEST_URI: 'uri',
  HTTP_IF_MODIFIED_SINCE: 'ifModifiedSince',
  HTTP_IF_UNMODIFIED_SINCE: 'ifUnmodifiedSince',
  HTTP_IF_NONE_MATCH: 'ifNoneMatch',
  HTTP_IF_MATCH: 'ifMatch',
  HTTP_RANGE: 'range',
  HTTP_IF_RANGE: 'ifRange',
  HTTP_ACCEPT_ENCODING: 'acceptEncoding',
  DOCUMENT_ROOT: 'documentRoot',
};

/** One pass over the variables (HTTP or uwsgi socket alike). */
export function staticRequestFromVars(vars: ReadonlyArray<readonly [string, string]>): StaticRequest {
  const req: StaticRequest = { method: '', pathInfo: '', uri: '' };
  for (const [k, v] of vars) {
    const field = FIELDS[k];
    if (field !== undefined && (req[field] === undefined || req[field] === '')) req[field] = v;
  }
  return req;
}

/** The same request header fields, by lower-case name (their CGI names are these, upper-cased, '-' as '_'). */
const HEADER_FIELDS = new Map<string, keyof StaticRequest>([
  ['if-modified-since', 'ifModifiedSince'],
  ['if-unmodified-since', 'ifUnmodifiedSince'],
  ['if-none-match', 'ifNoneMatch'],
  ['if-match', 'ifMatch'],
  ['range', 'range'],
  ['if-range', 'ifRange'],
  ['accept-encoding', 'acceptEncoding'],
]);

/**
 * What staticRequestFromVars reads from the CGI variables an HTTP head makes
 * (src/protocol/cgi.ts), read from the head itself: a static file is then
 * answered without building the variables, or asking for the peer's address
 * (a getpeername(2)). Repeated fields are joined with ", ", as there.
 */
export function staticRequestFromHead(head: HttpHead): StaticRequest {
  const req: StaticRequest = { method: head.method, pathInfo: pathInfoOfTarget(head.target), uri: head.target };
  for (const [name, value] of head.headers) {
    const field = HEADER_FIELDS.get(name.toLowerCase());
    if (field === undefined) continue;
    const previous = req[field];
    req[field] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return req;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** IMF-fixdate: "Tue, 01 Dec 2026 21:24:35 GMT" (whole seconds). */
export function httpDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => (n < 10 ? '0' + n : String(n));
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`;
}

/** Seconds since the epoch for an HTTP date (the three RFC 9110 forms, via Date.parse), or NaN. */
export function parseHttpDate(text: string): number {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000);
}

/** nginx's strong ETag: "<mtime hex>-<size hex>". */
export function etagFor(mtimeSeconds: number, size: number): string {
  return `"${mtimeSeconds.toString(16)}-${size.toString(16)}"`;
}

/** An If-None-Match / If-Match list against our tag; `weak` allows W/ on theirs (If-None-Match). */
export function etagMatches(header: string, etag: string, weak: boolean): boolean {
  const h = header.trim();
  if (h === '*') return true;
  for (const raw of h.split(',')) {
    let tag = raw.trim();
    if (tag.startsWith('W/')) {
      if (!weak) continue;
      tag = tag.slice(2);
    }
    if (tag === etag) return true;
  }
  return false;
}

/** A byte range, first and last byte (inclusive). */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeResult =
  | { kind: 'none' } // no usable Range: the whole file
  | { kind: 'single'; start: number; end: number } // inclusive
  | { kind: 'multi'; ranges: ByteRange[] } // 206 multipart/byteranges, in the order asked
  | { kind: 'unsatisfiable' };

/**
 * More ranges than this in one request get the whole file: a long list of
 * tiny ranges costs a part head each (Apache's MaxRanges is 200 for the same
 * reason, CVE-2011-3192).
 */
export const MAX_RANGES = 100;

/**
 * A Range header for a file of `size` bytes, as nginx reads it: one
 * satisfiable range is a 206; several are a 206 multipart/byteranges, in the
 * order asked (overlaps are not merged, as nginx); ranges starting past the
 * end are dropped, and when none is left the answer is 416. When the ranges
 * add up to more than the file (overlaps asked to amplify), or there are more
 * than MAX_RANGES, the whole file (200), as nginx. Syntax errors ignore the
 * header (RFC 9110 §14.2); empty list elements are skipped (RFC 9110 §5.6.1).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (m === null) return { kind: 'none' };
  const specs = (m[1] as string).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'none' };
  const ranges: ByteRange[] = [];
  let total = 0;
  for (const text of specs) {
    const r = parseOneRange(text, size);
    if (r === 'invalid') return { kind: 'none' };
    if (r === 'unsatisfiable') continue;
    ranges.push(r);
    total += r.end - r.start + 1;
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length === 1) return { kind: 'single', ...(ranges[0] as ByteRange) };
  if (total > size) return { kind: 'none' };
  return { kind: 'multi', ranges };
}

/** One `A-B`, `A-` or `-N` against a file of `size` bytes. */
function parseOneRange(text: string, size: number): ByteRange | 'invalid' | 'unsatisfiable' {
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(text);
  if (spec === null) return 'invalid';
  const [, a = '', b = ''] = spec;
  if (a === '' && b === '') return 'invalid';
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return 'invalid';
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return { start, end };
}

/** One part of a multipart/byteranges body: its head, then `length` file bytes from `start`. */
export interface BodyPart {
  head: string;
  start: number;
  length: number;
}

/**
 * The multipart/byteranges body, laid out as nginx writes it: each part is
 * "CRLF--boundary CRLF", its Content-Type (when known) and Content-Range,
 * a blank line, the bytes; then "CRLF--boundary--CRLF".
 */
export function multipartLayout(ranges: readonly ByteRange[], size: number, contentType: string | undefined, boundary: string): { parts: BodyPart[]; trailer: string; length: number } {
  const type = contentType !== undefined ? `Content-Type: ${contentType}\r\n` : '';
  const parts = ranges.map((r) => ({ head: `\r\n--${boundary}\r\n${type}Content-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`, start: r.start, length: r.end - r.start + 1 }));
  const trailer = `\r\n--${boundary}--\r\n`;
  let length = trailer.length;
  for (const p of parts) length += p.head.length + p.length; // heads are ASCII: characters are bytes
  return { parts, trailer, length };
}

/** What to send for one static request. */
export interface StaticPlan {
  status: 200 | 206 | 304 | 412 | 416;
  /** Header lines, each ending in CRLF (no framing: Content-Length is in here). */
  headers: string;
  /** First byte of the file to send, and how many. */
  start: number;
  length: number;
  /** Whether body bytes go on the wire (GET 200/206, not HEAD). */
  sendBody: boolean;
  /** Several ranges: the body is these parts then `trailer` (`start`/`length` above are then unused). */
  multipart?: { parts: BodyPart[]; trailer: string };
}

export interface FileFacts {
  size: number;
  mtimeSeconds: number;
  /** Content-Type value, when the type is known. */
  contentType?: string;
  /** Content-Encoding of a precompressed variant. */
  encoding?: 'gzip' | 'br';
  /** Send "Vary: Accept-Encoding" (encoded variants are configured for this file). */
  vary: boolean;
  /** Expires / Cache-Control lines (CRLF-terminated), already computed. */
  cacheHeaders: string;
  /** add-header lines (CRLF-terminated). */
  extraHeaders: string;
  /** The multipart/byteranges boundary to use if several ranges are asked for. */
  boundary?: string;
}

const REASONS: Record<StaticPlan['status'], string> = {
  200: 'OK',
  206: 'Partial Content',
  304: 'Not Modified',
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
};

export function statusLine(status: StaticPlan['status']): string {
  return `${status} ${REASONS[status]}`;
}

/** The answer to a GET or HEAD for a file with these facts. */
export function planStaticResponse(req: StaticRequest, f: FileFacts): StaticPlan {
  const etag = etagFor(f.mtimeSeconds, f.size);
  const lastModified = httpDate(f.mtimeSeconds);
  const validators = `Last-Modified: ${lastModified}\r\nETag: ${etag}\r\n`;
  const common = (f.vary ? 'Vary: Accept-Encoding\r\n' : '') + f.cacheHeaders + f.extraHeaders;
  const isHead = req.method === 'HEAD';
  const bare = (status: StaticPlan['status'], extra: string): StaticPlan => ({ status, headers: extra, start: 0, length: 0, sendBody: false });

  if (req.ifMatch !== undefined && !etagMatches(req.ifMatch, etag, false)) return bare(412, 'Content-Length: 0\r\n');
  if (req.ifMatch === undefined && req.ifUnmodifiedSince !== undefined) {
    const ius = parseHttpDate(req.ifUnmodifiedSince);
    if (!Number.isNaN(ius) && f.mtimeSeconds > ius) return bare(412, 'Content-Length: 0\r\n');
  }
  if (notModified(req, etag, f.mtimeSeconds)) return bare(304, validators + common);

  const typeAndEncoding = (f.contentType !== undefined ? `Content-Type: ${f.contentType}\r\n` : '') + (f.encoding !== undefined ? `Content-Encoding: ${f.encoding}\r\n` : '');
  let range = parseRange(req.range, f.size);
  if (range.kind !== 'none' && req.ifRange !== undefined && !ifRangeHolds(req.ifRange, etag, lastModified)) range = { kind: 'none' };
  if (range.kind === 'unsatisfiable') {
    return bare(416, `Content-Range: bytes */${f.size}\r\nContent-Length: 0\r\n` + validators);
  }
  if (range.kind === 'multi') {
    // As nginx: the type moves into the parts; the validators stay.
    const boundary = f.boundary ?? '00000000000000000001';
    const layout = multipartLayout(range.ranges, f.size, f.contentType, boundary);
    const headers = `Content-Type: multipart/byteranges; boundary=${boundary}\r\n` + (f.encoding !== undefined ? `Content-Encoding: ${f.encoding}\r\n` : '') + `Content-Length: ${layout.length}\r\n` + validators + 'Accept-Ranges: bytes\r\n' + common;
    return { status: 206, headers, start: 0, length: layout.length, sendBody: !isHead, multipart: { parts: layout.parts, trailer: layout.trailer } };
  }
  if (range.kind === 'single') {
    const length = range.end - range.start + 1;
    const headers = typeAndEncoding + `Content-Length: ${length}\r\nContent-Range: bytes ${range.start}-${range.end}/${f.size}\r\n` + validators + 'Accept-Ranges: bytes\r\n' + common;
    return { status: 206, headers, start: range.start, length, sendBody: !isHead };
  }
  const headers = typeAndEncoding + `Content-Length: ${f.size}\r\n` + validators + 'Accept-Ranges: bytes\r\n' + common;
  return { status: 200, headers, start: 0, length: f.size, sendBody: !isHead };
}

/** If-None-Match decides when present; otherwise If-Modified-Since (not modified since: mtime <= date). */
function notModified(req: StaticRequest, etag: string, mtime: number): boolean {
  if (req.ifNoneMatch !== undefined) return etagMatches(req.ifNoneMatch, etag, true);
  if (req.ifModifiedSince === undefined) return false;
  const ims = parseHttpDate(req.ifModifiedSince);
  return !Number.isNaN(ims) && mtime <= ims;
}

/** If-Range: a strong ETag must match exactly, a date must be the Last-Modified exactly (as nginx). */
function ifRangeHolds(value: string, etag: string, lastModified: string): boolean {
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  return v === lastModified;
}
