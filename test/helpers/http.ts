// A small HTTP/1.x client on raw sockets (node:net, not node:http), so tests
// can send malformed or oddly split bytes and see exactly what came back.
import { connect, Socket } from 'node:net';

/** Where to connect: a TCP port on 127.0.0.1, a {host, port}, or a UNIX socket path. */
export type Endpoint = number | string | { host: string; port: number };

const DEFAULT_TIMEOUT_MS = 10_000;

/** Opens a TCP or UNIX connection; rejects on error or after timeoutMs. */
export function openSocket(endpoint: Endpoint, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock =
      typeof endpoint === 'number'
        ? connect({ host: '127.0.0.1', port: endpoint })
        : typeof endpoint === 'string'
          ? connect({ path: endpoint })
          : connect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect to ${describeEndpoint(endpoint)} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      // Pieces a test writes separately should leave as separate segments.
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function describeEndpoint(endpoint: Endpoint): string {
  if (typeof endpoint === 'number') return `127.0.0.1:${endpoint}`;
  if (typeof endpoint === 'string') return `unix:${endpoint}`;
  return `${endpoint.host}:${endpoint.port}`;
}

/**
 * Collects everything a socket receives and lets callers wait for a
 * condition on the bytes so far (a full response, a close) with a deadline.
 */
export class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wakers: Array<() => void> = [];

  constructor(sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    // 'end' = peer finished sending; 'close' also covers resets and destroy().
    sock.on('end', () => this.finish());
    sock.on('close', () => this.finish());
    sock.on('error', (err) => {
      this.failure = err;
      this.finish();
    });
  }

  /** Bytes received and not yet consumed. */
  get pending(): Buffer {
    return this.buf;
  }

  /** True once the peer closed (or the socket failed): no more bytes will come. */
  get isEnded(): boolean {
    return this.ended;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** Drops the first n bytes (a response that has been parsed). */
  consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  /**
   * Calls attempt() now and after every arrival until it returns a value.
   * attempt sees whether the stream ended, so it can accept close-delimited
   * data. Rejects on timeout, or when the stream ended and attempt still
   * returned undefined.
   */
  async waitFor<T>(attempt: (buf: Buffer, ended: boolean) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = attempt(this.buf, this.ended);
      if (result !== undefined) return result;
      if (this.ended) {
        const why = this.failure !== undefined ? `: ${this.failure.message}` : '';
        throw new Error(`connection closed before the expected data arrived${why} (got ${this.buf.length} bytes)`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for data (got ${this.buf.length} bytes)`);
      await this.nextEvent(left);
    }
  }

  /** Resolves when the peer closes, or after timeoutMs; returns whether it closed. */
  async waitForEnd(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextEvent(left);
    }
    return true;
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers = this.wakers.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wakers.push(done);
    });
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

export interface RawExchangeOptions {
  /** Stop reading after this long even if the peer keeps the connection open. */
  timeoutMs?: number;
  /** Written one after another (each awaited), to exercise parsers on split input. */
  pieceDelayMs?: number;
  /** Half-close our side after sending (the peer then sees EOF). */
  endAfterSend?: boolean;
}

export interface RawExchangeResult {
  data: Buffer;
  /** 'closed': the peer closed or reset; 'timeout': still open when we gave up. */
  outcome: 'closed' | 'timeout';
  error?: Error;
}

type Bytes = string | Buffer;

function toBuffer(b: Bytes): Buffer {
  // latin1 so that test strings map 1:1 to bytes, including 0x80-0xff.
  return typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
}

function writeAsync(sock: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes bytes (a string as latin1) and resolves once the socket has taken them. */
export function writeTo(sock: Socket, data: Bytes): Promise<void> {
  return writeAsync(sock, toBuffer(data));
}

/** The next whole response a reader holds (or gets before `timeoutMs`), consumed from it. */
export async function readNextResponse(reader: SocketReader, timeoutMs = 10_000): Promise<HttpResponse> {
  const r = await reader.waitFor((buf, ended) => parseResponse(buf, ended), timeoutMs);
  reader.consume(r.consumed);
  return r.response;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends bytes (or pieces of bytes), then reads until the peer closes or timeout. */
export async function rawExchange(
  endpoint: Endpoint,
  bytes: Bytes | readonly Bytes[],
  opts: RawExchangeOptions = {},
): Promise<RawExchangeResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sock = await openSocket(endpoint, timeoutMs);
  const reader = new SocketReader(sock);
  try {
    const pieces = Array.isArray(bytes) ? (bytes as readonly Bytes[]) : [bytes as Bytes];
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0 && opts.pieceDelayMs !== undefined && opts.pieceDelayMs > 0) await delay(opts.pieceDelayMs);
      const piece = pieces[i];
      // A server may legitimately close mid-send (e.g. after a 400): keep what it said.
      if (piece !== undefined && !reader.isEnded) await writeAsync(sock, toBuffer(piece)).catch(() => undefined);
    }
    if (opts.endAfterSend === true) sock.end();
    const closed = await reader.waitForEnd(timeoutMs);
    const result: RawExchangeResult = { data: reader.pending, outcome: closed ? 'closed' : 'timeout' };
    if (reader.error !== undefined) result.error = reader.error;
    return result;
  } finally {
    sock.destroy();
  }
}

/** All bytes received after sending `bytes`, until the peer closes or timeoutMs passes. */
export async function rawRequest(
  endpoint: Endpoint,
  bytes: Bytes | readonly Bytes[],
  opts: RawExchangeOptions = {},
): Promise<Buffer> {
  return (await rawExchange(endpoint, bytes, opts)).data;
}

// ---------------------------------------------------------------------------
// Responses

export interface HttpResponse {
  httpVersion: string;
  status: number;
  reason: string;
  /** Lower-cased names; repeated headers joined with ", " (set-cookie with "\n"). */
  headers: Record<string, string>;
  /** Headers exactly as received, in order. */
  rawHeaders: Array<[string, string]>;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
  /** For chunked responses: each chunk's data, to check streaming boundaries. */
  chunks?: Buffer[];
  trailers?: Record<string, string>;
}

export class HttpParseError extends Error {
  override name = 'HttpParseError';
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

function parseHeaderLines(lines: string[]): { raw: Array<[string, string]>; map: Record<string, string> } {
  const raw: Array<[string, string]> = [];
  const map: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError(`malformed header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    raw.push([name, value]);
    const key = name.toLowerCase();
    const prev = map[key];
    map[key] = prev === undefined ? value : `${prev}${key === 'set-cookie' ? '\n' : ', '}${value}`;
  }
  return { raw, map };
}

interface ChunkedBody {
  body: Buffer;
  chunks: Buffer[];
  trailers: Record<string, string>;
  end: number;
}

/** Decodes a chunked body starting at `start`; undefined if incomplete. */
function parseChunked(buf: Buffer, start: number): ChunkedBody | undefined {
  const chunks: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return undefined;
    const sizeText = buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new HttpParseError(`bad chunk size line: ${JSON.stringify(sizeText)}`);
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 2;
    if (size === 0) break;
    if (buf.length < pos + size + 2) return undefined;
    chunks.push(buf.subarray(pos, pos + size));
    if (!buf.subarray(pos + size, pos + size + 2).equals(CRLF)) throw new HttpParseError('chunk data not followed by CRLF');
    pos += size + 2;
  }
  // Trailer section: header lines up to an empty line.
  const trailerLines: string[] = [];
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return undefined;
    const line = buf.subarray(pos, lineEnd).toString('latin1');
    pos = lineEnd + 2;
    if (line === '') break;
    trailerLines.push(line);
  }
  return { body: Buffer.concat(chunks), chunks, trailers: parseHeaderLines(trailerLines).map, end: pos };
}

function hasNoBody(method: string, status: number): boolean {
  return method.toUpperCase() === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/**
 * Parses one response from the start of buf. Returns undefined when more
 * bytes are needed; `ended` says the peer closed, which completes a
 * close-delimited body. Throws HttpParseError on malformed data.
 */
export function parseResponse(
  buf: Buffer,
  ended: boolean,
  method = 'GET',
): { response: HttpResponse; consumed: number } | undefined {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) {
    if (ended && buf.length > 0) throw new HttpParseError(`incomplete response head: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
    return undefined;
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines.shift() ?? '';
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (m === null) throw new HttpParseError(`bad status line: ${JSON.stringify(statusLine)}`);
  const status = Number(m[2]);
  const { raw, map } = parseHeaderLines(lines);
  const bodyStart = headEnd + 4;
  const base = { httpVersion: m[1] ?? '', status, reason: m[3] ?? '', headers: map, rawHeaders: raw };

  const finish = (body: Buffer, consumed: number, extra: Partial<HttpResponse> = {}) => ({
    response: { ...base, body, text: body.toString('utf8'), ...extra },
    consumed,
  });

  if (hasNoBody(method, status)) return finish(Buffer.alloc(0), bodyStart);
  const te = map['transfer-encoding'];
  if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
    const c = parseChunked(buf, bodyStart);
    if (c === undefined) {
      if (ended) throw new HttpParseError('connection closed inside a chunked body');
      return undefined;
    }
    return finish(c.body, c.end, { chunks: c.chunks, trailers: c.trailers });
  }
  const cl = map['content-length'];
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new HttpParseError(`bad content-length: ${JSON.stringify(cl)}`);
    const len = Number(cl);
    if (buf.length < bodyStart + len) {
      if (ended) throw new HttpParseError(`connection closed after ${buf.length - bodyStart} of ${len} body bytes`);
      return undefined;
    }
    return finish(buf.subarray(bodyStart, bodyStart + len), bodyStart + len);
  }
  // Neither length nor chunked: the body runs until the server closes.
  if (!ended) return undefined;
  return finish(buf.subarray(bodyStart), buf.length);
}

/** Parses every response in a complete byte stream (e.g. rawRequest's result). */
export function parseResponses(data: Buffer, method = 'GET'): HttpResponse[] {
  const out: HttpResponse[] = [];
  let rest = data;
  while (rest.length > 0) {
    const r = parseResponse(rest, true, method);
    if (r === undefined) break;
    out.push(r.response);
    rest = rest.subarray(r.consumed);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Requests

export type HeaderInput = Record<string, string | number | readonly string[]> | ReadonlyArray<readonly [string, string]>;

export interface RequestOptions {
  method?: string;
  path?: string;
  /** Defaults: Host (127.0.0.1:PORT), Content-Length when a body is given. */
  headers?: HeaderInput;
  body?: string | Buffer;
  httpVersion?: '1.0' | '1.1';
  timeoutMs?: number;
}

function headerPairs(h: HeaderInput | undefined): Array<[string, string]> {
  if (h === undefined) return [];
  if (Array.isArray(h)) return (h as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v]);
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h as Record<string, string | number | readonly string[]>)) {
    if (Array.isArray(v)) for (const one of v as readonly string[]) pairs.push([k, one]);
    else pairs.push([k, String(v)]);
  }
  return pairs;
}

/** Serializes a request; exported so tests can tweak the bytes before sending. */
export function buildRequest(endpoint: Endpoint, opts: RequestOptions = {}): Buffer {
  const method = opts.method ?? 'GET';
  const pairs = headerPairs(opts.headers);
  const has = (name: string) => pairs.some(([k]) => k.toLowerCase() === name);
  const body = opts.body === undefined ? undefined : toBuffer(opts.body);
  if (!has('host')) pairs.unshift(['Host', typeof endpoint === 'string' ? 'localhost' : describeEndpoint(endpoint)]);
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    pairs.push(['Content-Length', String(body.length)]);
  }
  const head =
    `${method} ${opts.path ?? '/'} HTTP/${opts.httpVersion ?? '1.1'}\r\n` +
    pairs.map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    '\r\n';
  const headBuf = Buffer.from(head, 'latin1');
  return body === undefined ? headBuf : Buffer.concat([headBuf, body]);
}

/**
 * One persistent connection: several requests in sequence (keep-alive), or
 * pipelined with send() + readResponse().
 */
export class HttpConnection {
  private constructor(
    readonly endpoint: Endpoint,
    readonly socket: Socket,
    private readonly reader: SocketReader,
  ) {}

  static async open(endpoint: Endpoint, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpConnection> {
    const sock = await openSocket(endpoint, timeoutMs);
    return new HttpConnection(endpoint, sock, new SocketReader(sock));
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.reader.isEnded;
  }

  /** Writes raw bytes. */
  async send(bytes: string | Buffer): Promise<void> {
    await writeAsync(this.socket, toBuffer(bytes));
  }

  /** Reads the next response (pass the request's method: HEAD has no body). */
  async readResponse(method = 'GET', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResponse> {
    const r = await this.reader.waitFor((buf, ended) => parseResponse(buf, ended, method), timeoutMs);
    this.reader.consume(r.consumed);
    return r.response;
  }

  /** Sends a request and reads its response; skips interim 1xx responses. */
  async request(opts: RequestOptions = {}): Promise<HttpResponse> {
    const method = opts.method ?? 'GET';
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    await this.send(buildRequest(this.endpoint, opts));
    for (;;) {
      const res = await this.readResponse(method, timeoutMs);
      if (res.status >= 200 || res.status === 101) return res;
    }
  }

  /** Waits for the server to close; returns false if it is still open after timeoutMs. */
  waitForClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
    return this.reader.waitForEnd(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection, closed afterwards. */
export async function request(endpoint: Endpoint, opts: RequestOptions = {}): Promise<HttpResponse> {
  const conn = await HttpConnection.open(endpoint, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    return await conn.request(opts);
  } finally {
    conn.close();
  }
}

/** Any HTTP answer on `port` (the server is up), polled until the deadline. */
export async function waitHttp(port: number, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      await request(port, { path: '/ready', timeoutMs: 2000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
