/**
 * Tells when a listening socket has a connection waiting, without accepting
 * it: the emperor holds an on-demand vassal's socket and starts the vassal on
 * its first connection, which the vassal then accepts and serves.
 *
 * Node cannot watch a descriptor for readability without reading from it
 * (libuv's listen watcher accepts at once), so one poll(2) over every watched
 * descriptor runs on libuv's thread pool through koffi, a slice at a time.
 * A descriptor added while a slice runs joins the next one: after at most
 * POLL_SLICE_MS. A connection is seen as soon as it arrives.
 */
import { koffi } from './libc';

/** How long one poll(2) waits before the watched set is read again. */
const POLL_SLICE_MS = 250;
const POLLFD_BYTES = 8; // struct pollfd { int fd; short events; short revents; }
const POLLIN = 0x001;
const POLLERR = 0x008;
const POLLHUP = 0x010;
const POLLNVAL = 0x020;

interface PollCall {
  async(fds: Buffer, count: number, timeoutMs: number, done: (err: unknown, ready: number) => void): void;
}

let pollCall: PollCall | undefined;

function poll(): PollCall {
  pollCall ??= koffi.load('libc.so.6').func('int poll(void*, unsigned long, int)') as unknown as PollCall;
  return pollCall;
}

export class ReadableWatch {
  private readonly waiting = new Map<number, () => void>();
  private polling = false;

  /** Calls `onReadable` once, when `fd` has something to read (a listener: a connection waits). Returns a cancel function. */
  once(fd: number, onReadable: () => void): () => void {
    this.waiting.set(fd, onReadable);
    this.pollSoon();
    return () => {
      if (this.waiting.get(fd) === onReadable) this.waiting.delete(fd);
    };
  }

  get size(): number {
    return this.waiting.size;
  }

  private pollSoon(): void {
    if (this.polling || this.waiting.size === 0) return;
    this.polling = true;
    const fds = [...this.waiting.keys()];
    const set = Buffer.alloc(fds.length * POLLFD_BYTES);
    fds.forEach((fd, i) => {
      set.writeInt32LE(fd, i * POLLFD_BYTES);
      set.writeInt16LE(POLLIN, i * POLLFD_BYTES + 4);
    });
    poll().async(set, fds.length, POLL_SLICE_MS, (err, ready) => {
      if (err !== null && err !== undefined) {
        // koffi could not make the call: try again later rather than spin.
        setTimeout(() => {
          this.polling = false;
          this.pollSoon();
        }, POLL_SLICE_MS).unref();
        return;
      }
      this.polling = false;
      if (ready > 0) this.deliver(fds, set);
      this.pollSoon();
    });
  }

  private deliver(fds: readonly number[], set: Buffer): void {
    fds.forEach((fd, i) => {
      const revents = set.readInt16LE(i * POLLFD_BYTES + 6);
      if ((revents & POLLNVAL) !== 0) {
        this.waiting.delete(fd); // closed under us: watching it again would spin
        return;
      }
      if ((revents & (POLLIN | POLLERR | POLLHUP)) === 0) return;
      const callback = this.waiting.get(fd);
      if (callback === undefined) return; // cancelled while the slice ran
      this.waiting.delete(fd);
      callback();
    });
  }
}
