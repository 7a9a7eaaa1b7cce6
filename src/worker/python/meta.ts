/**
 * The response framing _nuwsgi.py writes at the start of each core's shared
 * region. Keep in step with the layout documented at the top of
 * python/_nuwsgi.py (test/unit/meta-layout.test.ts pins one to the other).
 */
export const HEADER_SIZE = 64;

/** Offsets of the fields, in the order _nuwsgi.py's `_HEADER` and `_DATA` structs pack them. */
export const META_FIELDS = [
  ['kind', 0, 'u32'],
  ['status', 4, 'u32'],
  ['headLength', 8, 'u32'],
  ['bodyLength', 12, 'u32'],
  ['contentLength', 16, 'i64'],
  ['flags', 24, 'u32'],
  ['headerCount', 28, 'u32'],
  ['fileOffset', 32, 'i64'],
  ['fileLength', 40, 'i64'],
  ['dataAddress', 48, 'i64'],
  ['dataLength', 56, 'i64'],
] as const;

/** Threaded cores: where the bytes Python returned are (address, length; length -1 = none). */
export const DATA_ADDRESS = 48;
export const DATA_LENGTH = 56;

/** Commands Node writes into a core thread's job pipe (CMD_* in _nuwsgi.py). */
export const CMD_HANDLE = 1;
export const CMD_PULL = 2;
export const CMD_ABORT = 3;

export const enum ResponseKind {
  Complete = 0,
  Stream = 1,
  Error = 2,
  File = 3,
  End = 4,
  Broken = 5,
}

export const FLAG_CONNECTION_CLOSE = 1;
export const FLAG_APP_CHUNKED = 2;
export const FLAG_BODY_RETURNED = 4;

export interface ResponseMeta {
  kind: ResponseKind;
  status: number;
  headLength: number;
  bodyLength: number;
  /** Content-Length the app declared, -1 when none. */
  contentLength: number;
  flags: number;
  headerCount: number;
  fileOffset: number;
  fileLength: number;
}

export function readMeta(region: Buffer): ResponseMeta {
  return {
    kind: region.readUInt32LE(0) as ResponseKind,
    status: region.readUInt32LE(4),
    headLength: region.readUInt32LE(8),
    bodyLength: region.readUInt32LE(12),
    contentLength: readInt64(region, 16),
    flags: region.readUInt32LE(24),
    headerCount: region.readUInt32LE(28),
    fileOffset: readInt64(region, 32),
    fileLength: readInt64(region, 40),
  };
}

/**
 * A little-endian i64 as a Number, exact within ±2^53 (lengths, offsets, -1):
 * two 32-bit reads, no BigInt allocated per field per response.
 */
export function readInt64(region: Buffer, at: number): number {
  return region.readInt32LE(at + 4) * 0x100000000 + region.readUInt32LE(at);
}
