/**
 * WebSocket frame encoding (RFC 6455 §5.2). A server's frames are unmasked
 * (§5.1); `maskKey` exists for clients and tests.
 */
import { NuwsgiError } from '../../util/errors';
import { CloseCode, isValidCloseCode } from './close-codes';
import type { MessageDeflater } from './deflate';

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** Control frames (close, ping, pong) carry at most 125 payload bytes (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

export interface FrameOptions {
  /** Last frame of the message (default true). */
  fin?: boolean;
  /** RSV1: the message is compressed (permessage-deflate; first frame only). */
  rsv1?: boolean;
  /** 4 bytes: mask the payload with this key (client-to-server frames). */
  maskKey?: Uint8Array;
}

/** The frame header (2 to 14 bytes) for a payload of `payloadLength` bytes. */
export function encodeFrameHeader(opcode: number, payloadLength: number, options: FrameOptions = {}): Buffer {
  const header = Buffer.allocUnsafe(headerLength(payloadLength, options.maskKey !== undefined));
  writeHeader(header, opcode, payloadLength, options);
  return header;
}

/** One complete frame: header and payload in one buffer (no header allocated apart). */
export function encodeFrame(opcode: number, payload: Buffer, options: FrameOptions = {}): Buffer {
  const at = headerLength(payload.length, options.maskKey !== undefined);
  const frame = Buffer.allocUnsafe(at + payload.length);
  writeHeader(frame, opcode, payload.length, options);
  if (options.maskKey) applyMask(payload, options.maskKey, 0, frame, at);
  else payload.copy(frame, at);
  return frame;
}

/**
 * An unmasked, final, uncompressed frame of `payloadLength` bytes whose
 * payload, its last `payloadLength` bytes, the caller writes in place: a
 * server's data frame with no intermediate copy (the ASGI session copies the
 * app's bytes straight from Python's memory into it).
 */
export function allocFrame(opcode: number, payloadLength: number): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(payloadLength, false) + payloadLength);
  writeHeader(frame, opcode, payloadLength, {});
  return frame;
}

function headerLength(payloadLength: number, masked: boolean): number {
  return 2 + (payloadLength < 126 ? 0 : payloadLength <= 0xffff ? 2 : 8) + (masked ? 4 : 0);
}

/** The frame header at the start of `target` (which has room for it). */
function writeHeader(target: Buffer, opcode: number, payloadLength: number, options: FrameOptions): void {
  const { fin = true, rsv1 = false, maskKey } = options;
  const extended = payloadLength < 126 ? 0 : payloadLength <= 0xffff ? 2 : 8;
  target[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f);
  const maskBit = maskKey ? 0x80 : 0;
  if (extended === 0) {
    target[1] = maskBit | payloadLength;
  } else if (extended === 2) {
    target[1] = maskBit | 126;
    target.writeUInt16BE(payloadLength, 2);
  } else {
    target[1] = maskBit | 127;
    target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), 2);
    target.writeUInt32BE(payloadLength >>> 0, 6);
  }
  if (maskKey) target.set(maskKey.subarray(0, 4), 2 + extended);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this, the byte loop is as fast as setting up the word loop. */
const WORD_MASK_MIN = 32;

/**
 * XORs `source` with the mask, starting at mask offset `maskOffset % 4`, into
 * `target` at `targetStart`. Source and target may be the same bytes.
 * Long payloads are copied, then XORed 4 bytes at a time in place (about 10x
 * the byte loop).
 */
export function applyMask(
  source: Uint8Array,
  maskKey: Uint8Array,
  maskOffset: number,
  target: Uint8Array,
  targetStart: number,
): void {
  const length = source.length;
  if (length < WORD_MASK_MIN || !LITTLE_ENDIAN) {
    for (let i = 0; i < length; i++) target[targetStart + i] = source[i]! ^ maskKey[(maskOffset + i) & 3]!;
    return;
  }
  target.set(source, targetStart);
  const absoluteStart = target.byteOffset + targetStart;
  let i = 0;
  for (; (absoluteStart + i) & 3; i++) target[targetStart + i]! ^= maskKey[(maskOffset + i) & 3]!;
  const words = (length - i) >>> 2;
  const r = maskOffset + i;
  // Little-endian: the first byte of each 4-byte word is its low byte.
  const maskWord =
    maskKey[r & 3]! | (maskKey[(r + 1) & 3]! << 8) | (maskKey[(r + 2) & 3]! << 16) | (maskKey[(r + 3) & 3]! << 24);
  const view = new Uint32Array(target.buffer, absoluteStart + i, words);
  for (let w = 0; w < words; w++) view[w]! ^= maskWord;
  for (i += words * 4; i < length; i++) target[targetStart + i]! ^= maskKey[(maskOffset + i) & 3]!;
}

/**
 * A whole data message in one frame, compressed with `deflater` when one was
 * negotiated and compression makes it smaller (the deflater decides).
 */
export function encodeMessage(
  opcode: typeof Opcode.TEXT | typeof Opcode.BINARY,
  payload: Buffer,
  deflater?: MessageDeflater | null,
): Buffer {
  const compressed = deflater ? deflater.compress(payload) : null;
  if (compressed === null) return encodeFrame(opcode, payload);
  return encodeFrame(opcode, compressed, { rsv1: true });
}

export function encodeText(text: string, deflater?: MessageDeflater | null): Buffer {
  return encodeMessage(Opcode.TEXT, Buffer.from(text, 'utf8'), deflater);
}

export function encodeBinary(data: Buffer, deflater?: MessageDeflater | null): Buffer {
  return encodeMessage(Opcode.BINARY, data, deflater);
}

export function encodePing(data: Buffer = Buffer.alloc(0)): Buffer {
  return encodeControl(Opcode.PING, data);
}

export function encodePong(data: Buffer = Buffer.alloc(0)): Buffer {
  return encodeControl(Opcode.PONG, data);
}

function encodeControl(opcode: number, data: Buffer): Buffer {
  if (data.length > MAX_CONTROL_PAYLOAD) {
    throw new NuwsgiError('E_WEBSOCKET', `control frame payload of ${data.length} bytes (at most ${MAX_CONTROL_PAYLOAD})`);
  }
  return encodeFrame(opcode, data);
}

/**
 * A Close frame. Without a code the payload is empty (the peer reports 1005).
 * The code must be one that may be sent (`isValidCloseCode`); the reason is
 * cut at a character boundary to fit the 123 bytes left after the code
 * (ASGI apps may pass any string; a cut reason is better than no close).
 */
export function encodeClose(code?: number, reason = ''): Buffer {
  if (code === undefined) return encodeFrame(Opcode.CLOSE, Buffer.alloc(0));
  if (!isValidCloseCode(code)) {
    throw new NuwsgiError('E_WEBSOCKET', `close code ${code} cannot be sent (1000-1003, 1007-1014, 3000-4999)`);
  }
  const reasonBytes = truncateUtf8(reason, MAX_CONTROL_PAYLOAD - 2);
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return encodeFrame(Opcode.CLOSE, payload);
}

/** `text` as UTF-8, at most `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end);
}

/** The code to report for a close frame without one (RFC 6455 §7.1.5). */
export const CLOSE_CODE_WHEN_ABSENT = CloseCode.NO_STATUS_RECEIVED;
