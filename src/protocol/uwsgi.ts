/**
 * The uwsgi binary protocol (what nginx's `uwsgi_pass` speaks), request side.
 *
 *     u8 modifier1 | u16 LE datasize | u8 modifier2 | vars (datasize bytes) | body
 *     each var: u16 LE keylen | key | u16 LE vallen | value
 *
 * The body is exactly CONTENT_LENGTH bytes, unframed. There is one request per
 * connection: bytes after the body are ignored.
 *
 * The parser follows uWSGI 2.0's `uwsgi_parse_vars()` (core/protocol.c) rule
 * for rule, and logs in its words, so that operators' log greps keep working:
 *
 * - datasize > bufferSize:  `invalid request block size: N (max M)...skip`
 * - datasize == 0:          `Empty python request. skip.` (rejected for every
 *                           modifier1, so a uwsgi ping, modifier1 100 with an
 *                           empty block, would need to be special-cased here)
 * - a key of length 0:      `uwsgi key cannot be null. skip this var.` (the whole
 *                           request is dropped, as uWSGI does despite the words)
 * - a var running past the block:  `invalid uwsgi request (current strsize: N). skip.`
 * - more than maxVars key+value slots:  `max vec size reached. skip this var.`
 * - CONTENT_LENGTH above maxBodyBytes:  `Invalid (too big) CONTENT_LENGTH. skip.`
 *
 * All of these have `status: null` (log and close: nothing is written back,
 * nginx turns it into a 502) except the body limit, which carries 413.
 *
 * CONTENT_LENGTH is read as uWSGI reads it: its leading decimal digits, so
 * "12abc" is 12 and "abc" or "" is 0; when the var appears more than once the
 * last one wins. Vars are kept in order, duplicates included.
 *
 * Handlers must not throw and must not call `push()` re-entrantly.
 */
import { ProtocolError } from './errors';
import { latin1Cached } from './latin1-cache';

export interface UwsgiHead {
  modifier1: number;
  modifier2: number;
  /** Size of the vars block. */
  datasize: number;
  /** The vars block and where each var lies in it: Python's environ is written from these bytes. */
  raw: UwsgiVars;
  /** latin-1 (one char per byte), in packet order, duplicates kept: made anew on each read (prefer `raw`). */
  readonly vars: Array<[string, string]>;
  /** From CONTENT_LENGTH (leading digits), 0 when absent. */
  contentLength: number;
}

export interface UwsgiLimits {
  /** Max datasize (uWSGI's buffer-size, default 4096, at most 65535). */
  bufferSize: number;
  /** Max number of key + value slots, i.e. pairs * 2. See uwsgiVarSlots(). */
  maxVars: number;
  /** Max CONTENT_LENGTH (413 above); 0 = unlimited. */
  maxBodyBytes: number;
}

export interface UwsgiParserHandlers {
  onHead(head: UwsgiHead): void;
  /** Body bytes, never empty; a view of the pushed buffer: copy it to keep it. */
  onBody(chunk: Buffer): void;
  onEnd(): void;
  /** After this the parser ignores all further input. */
  onError(err: ProtocolError): void;
}

export const UWSGI_DEFAULT_BUFFER_SIZE = 4096;
/** uWSGI's `max-vars` default. */
export const UWSGI_DEFAULT_MAX_VARS = 64;

/**
 * uWSGI sizes its iovec as 4 + 1 + 4 * max-vars and reserves 5 slots, and keys
 * and values each take a slot: `--max-vars N` allows 4N slots (2N vars).
 */
export function uwsgiVarSlots(maxVarsOption: number): number {
  return 4 * maxVarsOption;
}

export const UWSGI_DEFAULT_LIMITS: Readonly<UwsgiLimits> = {
  bufferSize: UWSGI_DEFAULT_BUFFER_SIZE,
  maxVars: uwsgiVarSlots(UWSGI_DEFAULT_MAX_VARS),
  maxBodyBytes: 0,
};

const HEADER_BYTES = 4;

/** A broken packet: nothing to answer, log uWSGI's line and close. */
function packetError(code: 'E_UWSGI_PACKET' | 'E_UWSGI_BLOCK_TOO_LARGE' | 'E_UWSGI_EMPTY', logLine: string): ProtocolError {
  return new ProtocolError(code, logLine, null, logLine);
}

function truncatedVar(strsize: number): ProtocolError {
  return packetError('E_UWSGI_PACKET', `invalid uwsgi request (current strsize: ${strsize}). skip.`);
}

/**
 * A checked vars block. Strings are made only when asked: behind nginx the
 * worker reads 7 of ~15 vars, and Python's environ is marshalled straight from
 * the bytes (one latin-1 string per var, made in C). Walk it as the packet is
 * laid out: at `pos` a u16 LE key length, the key, a u16 LE value length, the
 * value; the next var follows (`indexUwsgiVars` checked every length).
 */
export class UwsgiVars {
  /** The vars block: the parser's own copy, never changed. */
  readonly block: Buffer;
  /** How many vars (key + value pairs) it holds. */
  readonly count: number;
  /** Every key and value is under 256 bytes (what marshal's short strings can say). */
  readonly allShort: boolean;

  constructor(block: Buffer, count: number, allShort: boolean) {
    this.block = block;
    this.count = count;
    this.allShort = allShort;
  }

  /** [key, value] pairs in packet order, duplicates kept (fresh array each call). */
  pairs(): Array<[string, string]> {
    const block = this.block;
    const out: Array<[string, string]> = new Array<[string, string]>(this.count);
    let pos = 0;
    for (let i = 0; i < this.count; i++) {
      const keyEnd = pos + 2 + u16(block, pos);
      const valueEnd = keyEnd + 2 + u16(block, keyEnd);
      out[i] = [latin1Cached(block, pos + 2, keyEnd), latin1Cached(block, keyEnd + 2, valueEnd)];
      pos = valueEnd;
    }
    return out;
  }

  /** Where the value of the last var named `name` (ASCII) starts, -1 when there is none. */
  lastValueAt(name: string): number {
    const block = this.block;
    let found = -1;
    let pos = 0;
    while (pos < block.length) {
      const keyEnd = pos + 2 + u16(block, pos);
      if (keyEnd - pos - 2 === name.length && bytesAre(block, pos + 2, name)) found = keyEnd + 2;
      pos = keyEnd + 2 + u16(block, keyEnd);
    }
    return found;
  }
}

/** The u16 LE at `pos`. */
export function u16(block: Buffer, pos: number): number {
  return (block[pos] as number) | ((block[pos + 1] as number) << 8);
}

/** Whether the bytes at `start` are `name` (ASCII); the caller checked the length. */
export function bytesAre(block: Buffer, start: number, name: string): boolean {
  for (let j = 0; j < name.length; j++) if (block[start + j] !== name.charCodeAt(j)) return false;
  return true;
}

/**
 * Checks a vars block with uWSGI's exact bounds checks and error order
 * (truncation, then the slot limit, for each var). `block` is kept: pass a
 * buffer nobody changes.
 */
export function indexUwsgiVars(block: Buffer, maxVars: number): UwsgiVars | ProtocolError {
  const end = block.length;
  let count = 0;
  let longest = 0;
  let pos = 0;
  // The length uWSGI last read, which is what its truncation message reports.
  let lastSize = 0;
  while (pos < end) {
    if (pos + 2 >= end) return truncatedVar(lastSize);
    const keyLength = u16(block, pos);
    if (keyLength === 0) return packetError('E_UWSGI_PACKET', 'uwsgi key cannot be null. skip this var.');
    pos += 2;
    // A key must leave room after it: uWSGI checks `ptr + keylen < end`.
    if (pos + keyLength >= end) return truncatedVar(keyLength);
    pos += keyLength;
    if (pos + 2 > end) return truncatedVar(keyLength);
    const valueLength = u16(block, pos);
    pos += 2;
    if (pos + valueLength > end) return truncatedVar(valueLength);
    if ((count + 1) * 2 > maxVars) return packetError('E_UWSGI_PACKET', 'max vec size reached. skip this var.');
    count++;
    longest |= keyLength | valueLength;
    pos += valueLength;
    lastSize = valueLength;
  }
  return new UwsgiVars(block, count, longest < 256);
}

/** Splits a vars block into [key, value] pairs (see indexUwsgiVars). */
export function parseUwsgiVars(block: Buffer, maxVars: number): Array<[string, string]> | ProtocolError {
  const vars = indexUwsgiVars(block, maxVars);
  return vars instanceof ProtocolError ? vars : vars.pairs();
}

/** uWSGI's get_content_length(): the leading decimal digits, 0 when there are none. */
export function uwsgiContentLength(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) break;
    n = n * 10 + digit;
  }
  return n;
}

/** CONTENT_LENGTH as uWSGI reads it when the var appears more than once: the last one wins. */
function lastContentLength(vars: UwsgiVars): number {
  const start = vars.lastValueAt('CONTENT_LENGTH');
  if (start < 0) return 0;
  const block = vars.block;
  const end = start + u16(block, start - 2);
  let n = 0;
  for (let p = start; p < end; p++) {
    const digit = (block[p] as number) - 0x30;
    if (digit < 0 || digit > 9) break;
    n = n * 10 + digit;
  }
  return n;
}

/** What onHead gets; `vars` is made from the block when read. */
class ParsedHead implements UwsgiHead {
  constructor(
    readonly modifier1: number,
    readonly modifier2: number,
    readonly datasize: number,
    readonly raw: UwsgiVars,
    readonly contentLength: number,
  ) {}

  get vars(): Array<[string, string]> {
    return this.raw.pairs();
  }
}

type UwsgiState = 'header' | 'vars' | 'body' | 'done' | 'failed';

export class UwsgiParser {
  private readonly handlers: UwsgiParserHandlers;
  private readonly limits: UwsgiLimits;
  private state: UwsgiState = 'header';
  /** The 4 header bytes, kept as numbers: a Buffer per connection costs an allocation for 4 bytes. */
  private readonly header: number[] = [0, 0, 0, 0];
  private headerFilled = 0;
  /** The vars block, allocated only when it arrives in more than one piece. */
  private varsBlock: Buffer | null = null;
  private varsFilled = 0;
  private datasize = 0;
  private bodyRemaining = 0;

  constructor(handlers: UwsgiParserHandlers, limits: UwsgiLimits) {
    this.handlers = handlers;
    this.limits = limits;
  }

  /** True once the request (head and body) is complete or has failed: further bytes are ignored. */
  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.finished) {
      pos = this.consume(chunk, pos);
    }
  }

  private consume(chunk: Buffer, pos: number): number {
    switch (this.state) {
      case 'header':
        return this.consumeHeader(chunk, pos);
      case 'vars':
        return this.consumeVars(chunk, pos);
      case 'body':
        return this.consumeBody(chunk, pos);
      default:
        return chunk.length;
    }
  }

  private consumeHeader(chunk: Buffer, pos: number): number {
    const n = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - pos);
    for (let i = 0; i < n; i++) this.header[this.headerFilled + i] = chunk[pos + i] as number;
    this.headerFilled += n;
    if (this.headerFilled === HEADER_BYTES) this.onHeader();
    return pos + n;
  }

  private onHeader(): void {
    this.datasize = (this.header[1] as number) | ((this.header[2] as number) << 8);
    if (this.datasize > this.limits.bufferSize) {
      this.fail(
        packetError(
          'E_UWSGI_BLOCK_TOO_LARGE',
          `invalid request block size: ${this.datasize} (max ${this.limits.bufferSize})...skip`,
        ),
      );
    } else if (this.datasize === 0) {
      this.fail(packetError('E_UWSGI_EMPTY', 'Empty python request. skip.'));
    } else {
      this.state = 'vars';
    }
  }

  private consumeVars(chunk: Buffer, pos: number): number {
    const available = chunk.length - pos;
    // Common case: the whole block is in this chunk; parse it in place.
    if (this.varsFilled === 0 && available >= this.datasize) {
      const end = pos + this.datasize;
      // Our own copy: the head keeps the block (the caller may reuse `chunk`).
      const block = Buffer.allocUnsafe(this.datasize);
      chunk.copy(block, 0, pos, end);
      this.onVarsBlock(block);
      return end;
    }
    this.varsBlock ??= Buffer.allocUnsafe(this.datasize);
    const n = Math.min(this.datasize - this.varsFilled, available);
    chunk.copy(this.varsBlock, this.varsFilled, pos, pos + n);
    this.varsFilled += n;
    if (this.varsFilled === this.datasize) {
      const block = this.varsBlock;
      this.varsBlock = null;
      this.onVarsBlock(block);
    }
    return pos + n;
  }

  private onVarsBlock(block: Buffer): void {
    const vars = indexUwsgiVars(block, this.limits.maxVars);
    if (vars instanceof ProtocolError) {
      this.fail(vars);
      return;
    }
    const contentLength = lastContentLength(vars);
    const maxBody = this.limits.maxBodyBytes;
    if (maxBody > 0 && contentLength > maxBody) {
      this.fail(
        new ProtocolError(
          'E_UWSGI_BODY_TOO_LARGE',
          `CONTENT_LENGTH ${contentLength} above the limit of ${maxBody} bytes`,
          413,
          'Invalid (too big) CONTENT_LENGTH. skip.',
        ),
      );
      return;
    }
    if (!Number.isSafeInteger(contentLength)) {
      // Only reachable without a body limit; a body this size cannot be read anyway.
      this.fail(packetError('E_UWSGI_PACKET', 'Invalid (too big) CONTENT_LENGTH. skip.'));
      return;
    }
    this.handlers.onHead(new ParsedHead(this.header[0]!, this.header[3]!, this.datasize, vars, contentLength));
    if (contentLength === 0) {
      this.finish();
    } else {
      this.bodyRemaining = contentLength;
      this.state = 'body';
    }
  }

  private consumeBody(chunk: Buffer, pos: number): number {
    const end = pos + Math.min(this.bodyRemaining, chunk.length - pos);
    this.bodyRemaining -= end - pos;
    this.handlers.onBody(chunk.subarray(pos, end));
    if (this.bodyRemaining === 0) this.finish();
    return end;
  }

  private finish(): void {
    this.state = 'done';
    this.handlers.onEnd();
  }

  private fail(err: ProtocolError): void {
    this.state = 'failed';
    this.varsBlock = null;
    this.handlers.onError(err);
  }
}

/**
 * Builds a uwsgi request packet, as nginx would send it. Keys, values and
 * string bodies are encoded as latin-1 (one byte per char), which round-trips
 * what the parser decodes. Nothing is added or checked semantically (no
 * CONTENT_LENGTH is added for the body), so tests can build broken packets.
 * Throws RangeError when a key, a value or the vars block exceeds 65535 bytes
 * or a modifier is not a byte.
 */
export function encodeUwsgiPacket(
  vars: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
  body?: Buffer | string,
  modifier1 = 0,
  modifier2 = 0,
): Buffer {
  checkByte(modifier1, 'modifier1');
  checkByte(modifier2, 'modifier2');
  const pairs = isIterable(vars) ? [...vars] : Object.entries(vars);
  const parts: Buffer[] = [Buffer.alloc(HEADER_BYTES)];
  let datasize = 0;
  for (const [key, value] of pairs) {
    for (const text of [key, value]) {
      const bytes = Buffer.from(text, 'latin1');
      if (bytes.length > 0xffff) throw new RangeError(`uwsgi var longer than 65535 bytes: ${text.slice(0, 40)}...`);
      const length = Buffer.alloc(2);
      length.writeUInt16LE(bytes.length, 0);
      parts.push(length, bytes);
      datasize += 2 + bytes.length;
    }
  }
  if (datasize > 0xffff) throw new RangeError(`uwsgi vars block of ${datasize} bytes exceeds 65535`);
  const header = parts[0]!;
  header.writeUInt8(modifier1, 0);
  header.writeUInt16LE(datasize, 1);
  header.writeUInt8(modifier2, 3);
  if (body !== undefined) parts.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
  return Buffer.concat(parts);
}

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`${what} must be 0..255, got ${value}`);
}

function isIterable(
  value: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
): value is Iterable<readonly [string, string]> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
