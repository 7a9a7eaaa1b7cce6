/**
 * sendfile(2) through koffi: file bytes go from the page cache to the socket
 * without a copy through JS. Node has no binding for it. The socket is
 * non-blocking, so a call sends what fits in the socket buffer and returns
 * (EAGAIN when nothing fits); the caller then waits for room the ordinary way.
 */
import { koffi } from '../../util/libc';

export const EAGAIN = 11;

type RawSendfile = (out: number, input: number, offset: number[], count: number) => number;

export interface SendfileResult {
  /** Bytes sent; 0 = end of file; -1 = error (see errno). */
  n: number;
  errno: number;
}

let fn: RawSendfile | null | undefined;

function raw(): RawSendfile | null {
  if (fn !== undefined) return fn;
  try {
    fn = koffi.load('libc.so.6').func('intptr_t sendfile(int, int, _Inout_ int64_t *offset, size_t)') as RawSendfile;
  } catch {
    fn = null;
  }
  return fn;
}

/** Whether zero-copy sending is available here (NUWSGI_NO_SENDFILE=1 turns it off, for comparisons). */
export function sendfileAvailable(): boolean {
  return process.env['NUWSGI_NO_SENDFILE'] !== '1' && raw() !== null;
}

const offset = [0];

/** Send up to `count` bytes of `file` from `position` to `socket`. */
export function sendfileOnce(socket: number, file: number, position: number, count: number): SendfileResult {
  offset[0] = position;
  const n = (raw() as RawSendfile)(socket, file, offset, count);
  return n >= 0 ? { n, errno: 0 } : { n: -1, errno: koffi.errno() };
}
