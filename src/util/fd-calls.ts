/**
 * read(2), write(2) and close(2) on plain descriptors through koffi: one table,
 * loaded on first use, for the worker's hot paths (connections' first reads,
 * writes and closes; the eventfds that wake --threads cores). Cheaper than
 * node:fs's readSync/writeSync/closeSync: no Error built for EAGAIN (7.6 µs
 * against 0.65 µs for the call), 0.3 against 0.44 µs of CPU per write.
 */
import { koffi } from './libc';

export interface FdCalls {
  /** The byte count, 0 at EOF, -1 on an error (koffi.errno() says which). */
  read(fd: number, buf: Buffer, count: number): number;
  /** The bytes taken, -1 on an error (koffi.errno() says which). */
  write(fd: number, buf: Buffer, count: number): number;
  close(fd: number): number;
}

let calls: FdCalls | null | undefined;

/** The table; null when koffi cannot load libc (callers then use node:fs). */
export function fdCalls(): FdCalls | null {
  if (calls !== undefined) return calls;
  try {
    const lib = koffi.load('libc.so.6');
    calls = {
      read: lib.func('long read(int, void*, size_t)') as FdCalls['read'],
      write: lib.func('long write(int, const void*, size_t)') as FdCalls['write'],
      close: lib.func('int close(int)') as FdCalls['close'],
    };
  } catch {
    calls = null;
  }
  return calls;
}
