/**
 * Tells when a listening socket has a connection waiting, without accepting
 * it: the emperor holds an on-demand vassal's socket and starts the vassal on
 * its first connection, which the vassal then accepts and serves.
 *
 * Node cannot watch a descriptor for readability without reading from it
 * (libuv's listen watcher accepts at once), so one poll(2) over every watched
 * descriptor runs on libuv's thread pool through koffi, a slice at a time.
 * A descriptor added while a slice runs ends that slice through an eventfd
 * polled with the others, so it is watched at once (an on-demand vassal back
 * from idleness, whose next connection must not wait for the slice's end). A
 * connection is seen as soon as it arrives.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { koffi } from './libc';

/** How long one poll(2) waits before the watched set is read again. */
const POLL_SLICE_MS = 250;
const POLLFD_BYTES = 8; // struct pollfd { int fd; short events; short revents; }
const POLLIN = 0x001;
const POLLERR = 0x008;
const POLLHUP = 0x010;
const POLLNVAL = 0x020;

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

interface PollCall {
  async(fds: Buffer, count: number, timeoutMs: number, done: (err: unknown, ready: number) => void): void;
}

let pollCall: PollCall | undefined;

function poll(): PollCall {
  pollCall ??= koffi.load('libc.so.6').func('int poll(void*, unsigned long, int)') as unknown as PollCall;
  return pollCall;
}

/** An eventfd that ends the running poll when written; -1 where it cannot be made (then the slice bounds the wait). */
function makeWakeFd(): number {
  try {
    const eventfd = koffi.load('libc.so.6').func('int eventfd(unsigned int, int)') as (initval: number, flags: number) => number;
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  } catch {
    return -1;
  }
}

const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]); // an eventfd counts in 8-byte words

function signal(fd: number): void {
  try {
    writeSync(fd, ONE);
  } catch {
    /* the counter is already non-zero (EAGAIN at its limit): the poll ends anyway */
  }
}

function drain(fd: number): void {
  try {
    readSync(fd, Buffer.alloc(8));
  } catch {
    /* EAGAIN: nothing was signalled */
  }
}

export class ReadableWatch {
  private readonly waiting = new Map<number, () => void>();
  private polling = false;
  private closed = false;
  private wakeFd: number | undefined;
  private readonly sliceMs: number;

  constructor(sliceMs = POLL_SLICE_MS) {
    this.sliceMs = sliceMs;
  }

  /** Calls `onReadable` once, when `fd` has something to read (a listener: a connection waits). Returns a cancel function. */
  once(fd: number, onReadable: () => void): () => void {
    const added = !this.waiting.has(fd);
    this.waiting.set(fd, onReadable);
    if (this.polling && added && this.wakeFd !== undefined && this.wakeFd >= 0) signal(this.wakeFd); // the running slice ends; the next one has fd
    this.pollSoon();
    return () => {
      if (this.waiting.get(fd) === onReadable) this.waiting.delete(fd);
    };
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Stops watching: the running slice ends now, and the eventfd is closed with it. */
  close(): void {
    this.closed = true;
    this.waiting.clear();
    if (this.polling && this.wakeFd !== undefined && this.wakeFd >= 0) signal(this.wakeFd);
    else this.closeWakeFd();
  }

  private closeWakeFd(): void {
    if (this.wakeFd !== undefined && this.wakeFd >= 0) closeSync(this.wakeFd);
    this.wakeFd = -1;
  }

  private pollSoon(): void {
    if (this.closed || this.polling || this.waiting.size === 0) return;
    this.polling = true;
    this.wakeFd ??= makeWakeFd();
    const wake = this.wakeFd;
    const fds = [...this.waiting.keys()];
    const polled = wake >= 0 ? [...fds, wake] : fds;
    const set = Buffer.alloc(polled.length * POLLFD_BYTES);
    polled.forEach((fd, i) => {
      set.writeInt32LE(fd, i * POLLFD_BYTES);
      set.writeInt16LE(POLLIN, i * POLLFD_BYTES + 4);
    });
    poll().async(set, polled.length, this.sliceMs, (err, ready) => {
      if (this.closed) {
        this.polling = false;
        this.closeWakeFd();
        return;
      }
      if (err !== null && err !== undefined) {
        // koffi could not make the call: try again later rather than spin.
        setTimeout(() => {
          this.polling = false;
          this.pollSoon();
        }, this.sliceMs).unref();
        return;
      }
      this.polling = false;
      if (wake >= 0) drain(wake);
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
