/**
 * The ASGI loop thread's job pipe, Node's end: the commands of one event-loop
 * turn (protocol.ts's 4-byte records) go out in one write(2), one wake-up of
 * the loop thread. The pipe is non-blocking on both ends (the loop thread
 * reads it through its event loop anyway): when it is full — the loop thread
 * is more than 16,384 commands behind — Node keeps the rest and tries again a
 * moment later instead of blocking its event loop on Python.
 */
import { makePipe, writeNonBlocking } from '../../util/fd-calls';
import { NuwsgiError } from '../../util/errors';

/** How long a full pipe waits before the next try (the loop thread is draining it meanwhile). */
const RETRY_MS = 1;

/** [read end, write end], both non-blocking and close-on-exec. */
export function makeJobPipe(): [number, number] {
  return makePipe(true);
}

/** write(2) of `count` bytes of `buf`: the bytes taken, 0 when the pipe is full. */
function writeSome(fd: number, buf: Buffer, count: number): number {
  const n = writeNonBlocking(fd, buf, count);
  if (n < 0) throw new NuwsgiError('E_INTERNAL', `ASGI job pipe: write failed (errno ${-n})`);
  return n;
}

/** Commands queued during a turn of Node's loop, written at its end (setImmediate) in one write. */
export class JobWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(4096);
  private bytes = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Queue one command (protocol.ts: u8 command, u8 0, u16 slot). */
  push(command: number, slot: number): void {
    if (this.bytes === this.buf.length) {
      const grown = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(grown, 0, 0, this.bytes);
      this.buf = grown;
    }
    const at = this.bytes;
    this.buf[at] = command;
    this.buf[at + 1] = 0;
    this.buf.writeUInt16LE(slot, at + 2);
    this.bytes += 4;
    if (at === 0 && this.retry === null) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.retry = null;
    const length = this.bytes;
    let written = 0;
    while (written < length) {
      const n = writeSome(this.fd, written === 0 ? this.buf : this.buf.subarray(written), length - written);
      if (n === 0) break;
      written += n;
    }
    if (written < length) {
      // Full: keep what is left for the next try (a record cut in two is fine: the loop thread keeps
      // the first half of one until the rest comes, python/_nuwsgi_asgi.py's `pending`).
      this.buf.copy(this.buf, 0, written, length);
      this.bytes = length - written;
      this.retry = setTimeout(this.flush, RETRY_MS);
      this.retry.unref(); // the worker's lifetime is the master's business
      return;
    }
    this.bytes = 0;
  };

  /** Stops retrying (the pipe is being closed). */
  stop(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
  }
}
