/**
 * read(2), write(2) and close(2) on plain descriptors through koffi: one table,
 * loaded on first use, for the worker's hot paths (connections' first reads,
 * writes and closes; the eventfds that wake --threads cores), with one
 * non-blocking write and one pipe maker shared by the transport and the
 * pipes to Python's threads. Cheaper than
 * node:fs's readSync/writeSync/closeSync: no Error built for EAGAIN (7.6 µs
 * against 0.65 µs for the call), 0.3 against 0.44 µs of CPU per write.
 */
import { writeSync } from 'node:fs';
import { koffi } from './libc';
import { NuwsgiError } from './errors';

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

const EAGAIN = 11;
const EINTR = 4;
const EIO = 5;

/**
 * One write(2) on a non-blocking descriptor, EINTR retried: the bytes taken
 * (0 when it would block), or -errno. node:fs when koffi cannot load libc.
 */
export function writeNonBlocking(fd: number, buf: Buffer, count: number): number {
  const table = fdCalls();
  if (table === null) {
    try {
      return writeSync(fd, buf, 0, count);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return e.code === 'EAGAIN' ? 0 : -Math.abs(e.errno ?? EIO);
    }
  }
  for (;;) {
    const n = table.write(fd, buf, count);
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    return errno === EAGAIN ? 0 : -errno;
  }
}

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
type Pipe2 = (fds: number[], flags: number) => number;
let pipe2Fn: Pipe2 | undefined;

/**
 * A close-on-exec pipe, [read end, write end]; `nonBlocking` for both ends
 * (else blocking: a Python thread blocks reading it, and libuv makes Node's
 * side non-blocking where it reads).
 */
export function makePipe(nonBlocking = false): [number, number] {
  pipe2Fn ??= koffi.load('libc.so.6').func('int pipe2(_Out_ int *fds, int flags)') as Pipe2;
  const fds = [-1, -1];
  if (pipe2Fn(fds, O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)) !== 0) throw new NuwsgiError('E_PYTHON_INIT', `pipe2() failed (errno ${koffi.errno()})`);
  return [fds[0] as number, fds[1] as number];
}
