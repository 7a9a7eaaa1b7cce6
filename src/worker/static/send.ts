/**
 * Putting a file's bytes on a connection: from our own descriptor, in chunks
 * read off the JS heap (Buffers are external memory, freed as soon as the
 * kernel has taken them), one chunk at a time as the client drains, so a
 * 2 GB download to a slow client holds at most a chunk and the socket's
 * buffer. Never more than the promised length: if the file shrinks under us,
 * the connection is closed (the only honest way to say "incomplete").
 *
 * Where the socket allows it, sendfile(2) moves the bytes without a copy.
 * Reads and sendfile calls are synchronous, as nginx does them without
 * `aio`: static files live in the page cache, where a 256 KiB read takes tens
 * of microseconds, less than a hop through libuv's thread pool (4 threads,
 * shared with DNS and zlib) costs under load.
 */
import { closeSync, readSync } from 'node:fs';
import type { ResponseOutput } from '../exchange';
import type { BodyPart } from './http';
import { EAGAIN, sendfileAvailable, sendfileOnce } from './sendfile';

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
 * a short read means it shrank since fstat: the caller closes after it. A
 * head given as a (latin-1) string is written straight into that buffer.
 */
export function readSmall(fd: number, head: Buffer | string, start: number, length: number): { wire: Buffer; bytes: number } {
  const wire = Buffer.allocUnsafe(head.length + length);
  if (typeof head === 'string') wire.write(head, 0, 'latin1');
  else head.copy(wire, 0);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, wire, head.length + got, length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return { wire: got === length ? wire : wire.subarray(0, head.length + got), bytes: got };
}

/** Most bytes one sendfile(2) call is asked for (it sends what fits in the socket buffer anyway). */
const SENDFILE_MAX = 8 << 20;

/**
 * Send `length` bytes from `start`, waiting for the client between chunks;
 * closes `fd`. Writes must be real (not deferred in a write batch: the caller
 * ends any batch first), or the whole file would be read before one byte left.
 *
 * Where the socket can be written directly (plain TCP or unix, nothing
 * queued), sendfile(2) sends what the socket buffer takes, with no copy. When
 * it is full (EAGAIN), one chunk is read and written the ordinary way: it
 * queues, and its drain tells us there is room again.
 */
export async function pumpFile(fd: number, start: number, length: number, out: ResponseOutput, closeWhenDone = true): Promise<SendResult> {
  const result: SendResult = { bytes: 0, truncated: false, writeError: false };
  let position = start;
  let remaining = length;
  let sinceYield = 0;
  let zeroCopy = out.directFd !== undefined && sendfileAvailable();
  try {
    while (remaining > 0) {
      if (out.closed) {
        result.writeError = true;
        return result;
      }
      const sock = zeroCopy ? (out.directFd as () => number)() : -1;
      let chunk = CHUNK;
      if (sock >= 0) {
        const r = sendfileOnce(sock, fd, position, Math.min(remaining, SENDFILE_MAX));
        if (r.n === 0) {
          result.truncated = true;
          return result;
        }
        if (r.n > 0) {
          position += r.n;
          remaining -= r.n;
          result.bytes += r.n;
          if ((sinceYield += r.n) >= YIELD_AFTER) {
            await new Promise((resolve) => setImmediate(resolve));
            sinceYield = 0;
          }
          continue;
        }
        if (r.errno === EAGAIN) chunk = WAIT_CHUNK; // the socket is full: a small copy to wait on
        else if (r.errno === EPIPE || r.errno === ECONNRESET) {
          out.destroy();
          result.writeError = true;
          return result;
        } else zeroCopy = false; // EINVAL, ENOSYS...: this descriptor cannot sendfile; copy instead
      }
      const buf = Buffer.allocUnsafe(Math.min(chunk, remaining));
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
    if (closeWhenDone) closeSync(fd);
  }
}

/**
 * A multipart/byteranges body whose file bytes are few: every part head,
 * its bytes and the trailer in one buffer after the response head, read
 * with one pread(2) per part. `bytes` short of the layout means the file
 * shrank: the caller closes after it.
 */
export function readParts(fd: number, head: Buffer, parts: readonly BodyPart[], trailer: string): { wire: Buffer; bytes: number; complete: boolean } {
  const chunks: Buffer[] = [head];
  let bytes = 0;
  for (const p of parts) {
    const partHead = Buffer.from(p.head, 'latin1');
    const data = readSmall(fd, partHead, p.start, p.length);
    chunks.push(data.wire);
    bytes += data.wire.length;
    if (data.bytes !== p.length) return { wire: Buffer.concat(chunks), bytes, complete: false };
  }
  const end = Buffer.from(trailer, 'latin1');
  chunks.push(end);
  return { wire: Buffer.concat(chunks), bytes: bytes + end.length, complete: true };
}

/** A large multipart/byteranges body: each part's head, then its bytes as pumpFile sends them; then the trailer. Closes `fd`. */
export async function pumpParts(fd: number, parts: readonly BodyPart[], trailer: string, out: ResponseOutput): Promise<SendResult> {
  const result: SendResult = { bytes: 0, truncated: false, writeError: false };
  try {
    for (const p of parts) {
      const partHead = Buffer.from(p.head, 'latin1');
      result.bytes += partHead.length;
      if (!out.write([partHead]) && !(await out.drained())) {
        result.writeError = true;
        return result;
      }
      const r = await pumpFile(fd, p.start, p.length, out, false);
      result.bytes += r.bytes;
      if (r.truncated || r.writeError) return { ...r, bytes: result.bytes };
    }
    result.bytes += trailer.length;
    out.write([Buffer.from(trailer, 'latin1')]);
    return result;
  } finally {
    closeSync(fd);
  }
}

const EPIPE = 32;
const ECONNRESET = 104;
/** What is copied when the socket is full: enough to be queued, and to be told when it drained. */
const WAIT_CHUNK = 64 * 1024;
