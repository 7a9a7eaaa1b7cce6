import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { ProtocolError } from '../protocol/errors';
import type { Exchange, ResponseOutput } from './exchange';
import { errorResponse } from './framing';

export interface ConnectionTimeouts {
  /** Idle keep-alive limit, and the most a request head may take (--http-timeout), ms. */
  idleMs: number;
  /** Most a body read or a response write may stall (--socket-timeout), ms. */
  stallMs: number;
}

/** What a connection needs from the worker. */
export interface ConnectionHost {
  dispatch(ex: Exchange): void;
  log(line: string): void;
  onClosed(conn: Connection): void;
  /** True while the worker shuts down: responses then close their connections. */
  readonly draining: boolean;
}

/** Where the connection is, and so which deadline applies. */
type ConnState =
  | 'idle' // nothing buffered, nothing in flight: idle timeout
  | 'reading' // a request is arriving: head deadline / body stall timeout
  | 'serving' // a request is queued or in Python: no read timeout
  | 'closed';

/** The largest number of parsed requests a client may pipeline ahead of its responses. */
const MAX_PIPELINED = 16;

/**
 * The transport half of a client connection, shared by both protocols:
 * response output with backpressure, in-order dispatch of pipelined requests,
 * a deadline tied to each state, and a clean close. Protocol adapters feed it.
 *
 * Deadlines are plain numbers checked by the worker's once-a-second sweep
 * (`checkDeadline`): arming one per request costs an assignment, not a timer.
 */
export class Connection implements ResponseOutput {
  readonly socket: Socket;
  private readonly host: ConnectionHost;
  private readonly timeouts: ConnectionTimeouts;
  private state: ConnState = 'idle';
  private readonly pending: Exchange[] = [];
  private inFlight: Exchange | null = null;
  private pendingError: { err: ProtocolError; protocol: string } | null = null;
  /** Epoch ms after which `checkDeadline` closes the connection; 0 = none. */
  private deadline = 0;
  private drainWaiters: Array<(ok: boolean) => void> = [];
  private headStartedAt = 0;
  /** Set by the protocol adapter: whether its parser holds a partial request. */
  partialRequest = false;
  /** The socket's descriptor for direct writes; -1 when it has none (TLS). */
  private readonly fd: number;

  constructor(socket: Socket, host: ConnectionHost, timeouts: ConnectionTimeouts, directWrites = true) {
    this.socket = socket;
    this.fd = directWrites ? descriptorOf(socket) : -1;
    this.host = host;
    this.timeouts = timeouts;
    socket.setNoDelay(true);
    socket.on('drain', () => this.resolveDrain(true));
    socket.on('close', () => this.onSocketClosed());
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows, and that is where we clean up.
    });
    this.arm();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** The adapter parsed a complete request. */
  enqueue(ex: Exchange): void {
    this.pending.push(ex);
    if (this.pending.length >= MAX_PIPELINED) this.socket.pause();
    this.dispatchNext();
  }

  /** The adapter's parser failed: answer (after any response in progress) and close. */
  fail(err: ProtocolError, protocol: string): void {
    // uWSGI prints no address for unix-socket peers (there is none).
    const who = this.remoteAddress !== '' ? `${this.remoteAddress}: ` : '';
    this.host.log(`${who}${err.logLine ?? err.message}\n`);
    this.pendingError = { err, protocol };
    this.socket.pause();
    if (this.inFlight === null && this.pending.length === 0) this.flushErrorAndClose();
  }

  /** Called by the adapter on every chunk of input (timers follow activity). */
  noteInput(): void {
    if (this.state === 'idle' && this.partialRequest) {
      this.state = 'reading';
      this.headStartedAt = Date.now();
    }
    this.arm();
  }

  /** A response is being produced or requests wait for one (no interim 100 Continue now). */
  get busy(): boolean {
    return this.inFlight !== null || this.pending.length > 0;
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  // ---------------------------------------------------------- ResponseOutput

  write(chunks: Buffer[]): boolean {
    if (this.state === 'closed') return false;
    // One write(2) per response where possible: small pieces are joined, since
    // every separate write costs a syscall and, on TCP, a packet.
    const ok = chunks.length === 1 ? this.writeOne(chunks[0] as Buffer) : this.writeMany(chunks);
    if (this.state === 'serving' || this.socket.writableNeedDrain) this.arm();
    return ok;
  }

  /**
   * Most responses fit the socket buffer: when nothing is queued, write(2) them
   * directly on the descriptor, skipping the stream machinery (measured: a few
   * microseconds per request, a good part of our own cost on small responses).
   * Whatever the kernel does not take goes through the stream as usual, so
   * ordering and backpressure are unchanged.
   */
  private writeOne(data: Buffer): boolean {
    if (this.fd < 0 || this.socket.writableLength > 0 || this.socket.connecting) return this.socket.write(data);
    if (writeBatch !== null) {
      writeBatch.push(this, data);
      return true;
    }
    return this.writeDirect(data);
  }

  /** write(2) now; what the kernel does not take goes through the stream. */
  writeDirect(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    let written = 0;
    try {
      written = writeSync(this.fd, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.socket.destroy(); // EPIPE/ECONNRESET: the client is gone; 'close' cleans up
        return false;
      }
    }
    return written === data.length ? true : this.socket.write(data.subarray(written));
  }

  private writeMany(chunks: Buffer[]): boolean {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total <= JOIN_BELOW) return this.writeOne(Buffer.concat(chunks, total));
    if (writeBatch !== null && this.fd >= 0 && this.socket.writableLength === 0) {
      for (const c of chunks) writeBatch.push(this, c); // keep the order of what is already batched
      return true;
    }
    // Large pieces: no copy, one writev(2) through cork/uncork.
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c);
    this.socket.uncork();
    return ok;
  }

  drained(): Promise<boolean> {
    if (this.state === 'closed') return Promise.resolve(false);
    if (!this.socket.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  finish(keepAlive: boolean): void {
    this.inFlight = null;
    if (this.state === 'closed') return;
    if (!keepAlive || this.host.draining) {
      this.pending.forEach((ex) => ex.body.dispose());
      this.pending.length = 0;
      this.endGracefully();
      return;
    }
    if (this.pendingError !== null && this.pending.length === 0) {
      this.flushErrorAndClose();
      return;
    }
    this.socket.resume();
    this.state = this.partialRequest ? 'reading' : 'idle';
    this.dispatchNext();
    this.arm();
  }

  destroy(): void {
    this.inFlight = null;
    if (writeBatch !== null) writeBatch.push(this, 'destroy');
    else this.socket.destroy();
  }

  /** Close without waiting for a next request (the client half-closed). */
  closeWhenIdle(): void {
    if (this.inFlight === null && this.pending.length === 0) this.endGracefully();
  }

  /**
   * Graceful shutdown of an idle keep-alive connection. Closing it at once
   * races with a client that is sending its next request right now, which it
   * would lose; so it gets `graceMs` to send one (answered with
   * "Connection: close"), then the deadline sweep closes it.
   */
  drainIdle(graceMs: number): void {
    if (this.state !== 'idle' || this.inFlight !== null || this.pending.length > 0) return;
    const deadline = Date.now() + graceMs;
    if (this.deadline === 0 || this.deadline > deadline) this.deadline = deadline;
  }

  // ---------------------------------------------------------------- internals

  private dispatchNext(): void {
    if (this.inFlight !== null || this.state === 'closed') return;
    const ex = this.pending.shift();
    if (ex === undefined) return;
    this.inFlight = ex;
    this.state = 'serving';
    this.arm();
    this.host.dispatch(ex);
  }

  private flushErrorAndClose(): void {
    const pe = this.pendingError;
    if (pe !== null && pe.err.status !== null) {
      this.write([errorResponse(pe.protocol, pe.err.status, reasonPhrase(pe.err.status))]);
    }
    this.endGracefully();
  }

  private endGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // Responses still in a write batch go out first, then the FIN.
    if (writeBatch !== null) writeBatch.push(this, 'end');
    else this.socket.end();
    // A client that never reads its answer must not keep the socket forever.
    this.deadline = Date.now() + this.timeouts.stallMs;
  }

  private onSocketClosed(): void {
    this.state = 'closed';
    this.deadline = 0;
    this.resolveDrain(false);
    for (const ex of this.pending) ex.body.dispose();
    this.pending.length = 0;
    this.host.onClosed(this);
  }

  private resolveDrain(ok: boolean): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve(ok);
  }

  /** Set the deadline the current state calls for. */
  private arm(): void {
    if (this.state === 'closed') return;
    const now = Date.now();
    if (this.state === 'serving') {
      // The app is working: that is harakiri's business, not ours. Only a
      // client that stops reading our response is timed out.
      this.deadline = this.socket.writableNeedDrain ? now + this.timeouts.stallMs : 0;
    } else if (this.state === 'reading') {
      this.deadline = Math.min(now + this.timeouts.stallMs, this.headStartedAt + this.timeouts.idleMs);
    } else {
      this.deadline = now + this.timeouts.idleMs;
    }
  }

  /** Called about once a second by the worker. */
  checkDeadline(now: number): void {
    if (this.deadline === 0 || now < this.deadline) return;
    this.deadline = 0;
    if (this.state === 'reading' && this.inFlight === null) {
      this.host.log(`${this.remoteAddress}: request not received in time, closing\n`);
    }
    this.socket.destroy();
  }
}

const JOIN_BELOW = 64 * 1024;

/**
 * While the runner takes a batch of queued requests through Python, responses
 * are collected and written after the batch: Python's code stays hot in the
 * CPU caches for the whole batch, then the kernel's (measured: fewer
 * microseconds per request than interleaving the two).
 */
class WriteBatch {
  /** Data to write, or what to do to the connection once what came before is written. */
  private readonly items: Array<[Connection, Buffer | 'end' | 'destroy']> = [];

  push(conn: Connection, data: Buffer | 'end' | 'destroy'): void {
    this.items.push([conn, data]);
  }

  flush(): void {
    for (const [conn, data] of this.items) {
      if (data === 'end') conn.socket.end();
      else if (data === 'destroy') conn.socket.destroy();
      else conn.writeDirect(data);
    }
    this.items.length = 0;
  }
}

let writeBatch: WriteBatch | null = null;

/**
 * Write what is batched now and stop batching until the current batch ends:
 * a streaming response needs its writes (and their backpressure) to be real.
 */
export function endWriteBatch(): void {
  const batch = writeBatch;
  writeBatch = null;
  batch?.flush();
}

/** Run `fn` with direct writes deferred until it returns. */
export function batchWrites(fn: () => void): void {
  if (writeBatch !== null) return fn();
  const batch = (writeBatch = new WriteBatch());
  try {
    fn();
  } finally {
    writeBatch = null;
    batch.flush();
  }
}

/** libuv's descriptor of a plain TCP or unix socket (Node keeps it on the handle). */
function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}
