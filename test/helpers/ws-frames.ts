// Building client frames (valid and invalid) and running the WebSocket parser
// over every split of its input, for the protocol unit tests.
import assert from 'node:assert/strict';
import { applyMask } from '../../src/protocol/websocket/frame';
import { WebSocketParser, type WebSocketParserOptions, type WsEvent } from '../../src/protocol/websocket/parser';

export const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export interface RawFrameOptions {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Default true; false sends the payload unmasked. */
  mask?: boolean;
  /** Force a length encoding: 7 (in the second byte), 16 or 64 bits; default minimal. */
  lengthBits?: 7 | 16 | 64;
  /** Override the announced length (the payload sent is still `payload`). */
  announcedLength?: number | bigint;
}

/** A client frame with any bits set, including invalid combinations. */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: RawFrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const { fin = true, rsv1 = false, rsv2 = false, rsv3 = false, mask = true } = options;
  const announced = BigInt(options.announcedLength ?? data.length);
  const bits = options.lengthBits ?? (announced < 126n ? 7 : announced <= 0xffffn ? 16 : 64);
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | (opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  let head: Buffer;
  if (bits === 7) {
    head = Buffer.from([b0, maskBit | Number(announced)]);
  } else if (bits === 16) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = maskBit | 126;
    head.writeUInt16BE(Number(announced), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(announced, 2);
  }
  if (!mask) return Buffer.concat([head, data]);
  const masked = Buffer.alloc(data.length);
  applyMask(data, MASK_KEY, 0, masked, 0);
  return Buffer.concat([head, MASK_KEY, masked]);
}

export const DEFAULT_OPTIONS: WebSocketParserOptions = { maxMessageSize: 1 << 20 };

/** Events with Buffers turned into hex, so deepEqual messages stay readable. */
export type Observed =
  | { type: 'text'; data: string }
  | { type: 'utf8'; hex: string }
  | { type: 'binary' | 'ping' | 'pong'; hex: string }
  | { type: 'close'; code?: number; reason: string }
  | { type: 'error'; closeCode: number };

export function observe(event: WsEvent): Observed {
  switch (event.type) {
    case 'text':
      return { type: 'text', data: event.data };
    case 'utf8':
    case 'binary':
    case 'ping':
    case 'pong':
      return { type: event.type, hex: event.data.toString('hex') };
    case 'close':
      return event.code === undefined ? { type: 'close', reason: event.reason } : { type: 'close', code: event.code, reason: event.reason };
    case 'error':
      return { type: 'error', closeCode: event.closeCode };
  }
}

/**
 * Feeds `pieces` to a fresh parser. Each piece goes through a scratch copy that
 * is overwritten right after feed() returns: an event that kept a view of the
 * input would be corrupted and fail the comparison.
 */
export function runParser(pieces: Buffer[], makeOptions: () => WebSocketParserOptions = () => DEFAULT_OPTIONS): Observed[] {
  const parser = new WebSocketParser(makeOptions());
  const raw: WsEvent[] = [];
  let stopped = false;
  for (const piece of pieces) {
    const scratch = Buffer.from(piece);
    const events = parser.feed(scratch);
    scratch.fill(0x55);
    if (stopped) assert.deepEqual(events, [], 'events after a close or an error');
    raw.push(...events);
    if (parser.status !== 'open') stopped = true;
  }
  const errors = raw.filter((e) => e.type === 'error').length;
  assert.ok(errors <= 1, 'at most one error');
  // Decode only after all feeds, so the scratch overwrite is visible.
  return raw.map(observe);
}

/** The same events for the whole input, every 2-piece split, and one byte at a time. */
export function assertSplitInvariant(
  input: Buffer,
  expected: Observed[],
  makeOptions: () => WebSocketParserOptions = () => DEFAULT_OPTIONS,
  label = '',
): void {
  assert.deepEqual(runParser([input], makeOptions), expected, `${label}: whole`);
  for (let i = 1; i < input.length; i++) {
    assert.deepEqual(runParser([input.subarray(0, i), input.subarray(i)], makeOptions), expected, `${label}: split at ${i}`);
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  assert.deepEqual(runParser(bytes, makeOptions), expected, `${label}: one byte at a time`);
}

/** Feeds in pieces of `size` bytes (for inputs too large for every split). */
export function runInPieces(input: Buffer, size: number, makeOptions?: () => WebSocketParserOptions): Observed[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) pieces.push(input.subarray(i, i + size));
  return runParser(pieces, makeOptions);
}
