/**
 * The response framing _nuwsgi.py writes at the start of the shared region.
 * Keep in step with the layout documented at the top of python/_nuwsgi.py.
 */
export const HEADER_SIZE = 48;

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
    contentLength: Number(region.readBigInt64LE(16)),
    flags: region.readUInt32LE(24),
    headerCount: region.readUInt32LE(28),
    fileOffset: Number(region.readBigInt64LE(32)),
    fileLength: Number(region.readBigInt64LE(40)),
  };
}
