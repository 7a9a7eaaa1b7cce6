/**
 * Putting a file's bytes on a connection: from our own descriptor, in chunks
 * read off the JS heap (Buffers are external memory, freed as soon as the
 * kernel has taken them), one chunk at a time as the client drains, so a
 * 2 GB download to a slow client holds at most a chunk and the socket's
 * buffer. Never more than the promised length: if the file shrinks under us,
 * the connection is closed (the only honest way to say "incomplete").
 *
 * Reads are synchronous pread(2)s, as nginx does without `aio`: static files
 * live in the page cache, where a 256 KiB read takes tens of microseconds,
 * less than a hop through libuv's thread pool (4 threads, shared with DNS and
 * zlib) costs under load. sendfile(2) would save the copy; it needs a way to
 * wait for the socket to be writable that libuv's stream handle does not
 * give us, so it is left for later (docs/static.md).
 */
import { closeSync, readSync } from 'node:fs';
import type { ResponseOutput } from '../exchange';

/** Bodies up to this size go out with their head in one write(2), read synchronously from the page cache. */
export const SMALL_FILE = 64 * 1024;
const CHUNK = 256 * 1024;
/** Bytes written without waiting before the pump yields to the event loop anyway. */
const YIELD_AFTER = 1 << 20;

export interface SendResult {
  bytes: number;
  /** The file ended before the promised length (changed while being sent). */
  truncated: boolean;
  /** The client went away first. */
  writeError: boolean;
}

/**
 * Head and a small body in one buffer. The file is read with one pread(2);
 * a short read means it shrank since fstat: the caller closes after it.
 */
export function readSmall(fd: number, head: Buffer, start: number, length: number): { wire: Buffer; bytes: number } {
  const wire = Buffer.allocUnsafe(head.length + length);
  head.copy(wire, 0);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, wire, head.length + got, length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return { wire: got === length ? wire : wire.subarray(0, head.length + got), bytes: got };
}

/**
 * Send `length` bytes from `start`, waiting for the client between chunks;
 * closes `fd`. Writes must be real (not deferred in a write batch: the caller
 * ends any batch first), or the whole file would be read before one byte left.
 */
export async function pumpFile(fd: number, start: number, length: number, out: ResponseOutput): Promise<SendResult> {
  const result: SendResult = { bytes: 0, truncated: false, writeError: false };
  let position = start;
  let remaining = length;
  let sinceYield = 0;
  try {
    while (remaining > 0) {
      if (out.closed) {
        result.writeError = true;
        return result;
      }
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, remaining));
      const n = readSync(fd, buf, 0, buf.length, position);
      if (n === 0) {
        result.truncated = true;
        return result;
      }
      position += n;
      remaining -= n;
      result.bytes += n;
      if (!out.write([n === buf.length ? buf : buf.subarray(0, n)])) {
        if (!(await out.drained())) {
          result.writeError = true;
          return result;
        }
        sinceYield = 0;
      } else if ((sinceYield += n) >= YIELD_AFTER) {
        // A fast client takes everything at once: let other connections and Python have the loop.
        await new Promise((resolve) => setImmediate(resolve));
        sinceYield = 0;
      }
    }
    return result;
  } finally {
    closeSync(fd);
  }
}

