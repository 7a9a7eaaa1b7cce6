import type { ProtocolError } from '../protocol/errors';
import type { Exchange, ResponseOutput } from './exchange';
import { errorResponse } from './framing';
import type { Transport, TransportEvents } from './transport';

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

/** What a protocol adapter does with the input (set with `Connection.read`). */
export interface ConnectionReader {
  data(chunk: Buffer): void;
  /** The client sent EOF. */
  end(): void;
  /** Whether more input is of any use (false once a uwsgi packet is complete). */
  needsInput(): boolean;
}

/**
 * The transport half of a client connection, shared by both protocols:
 * response output with backpressure, in-order dispatch of pipelined requests,
 * a deadline tied to each state, and a clean close. Protocol adapters feed it.
 *
 * Deadlines are plain numbers checked by the worker's once-a-second sweep
 * (`checkDeadline`): arming one per request costs an assignment, not a timer.
 */
export class Connection implements ResponseOutput, TransportEvents {
  readonly transport: Transport;
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
  private reader: ConnectionReader | null = null;
  /** The client sent EOF: answer what it sent, then close. */
  private peerEnded = false;

  constructor(transport: Transport, host: ConnectionHost, timeouts: ConnectionTimeouts) {
    this.transport = transport;
    this.host = host;
    this.timeouts = timeouts;
    this.arm();
  }

  /** Start reading: the adapter's parser gets the input from now on. */
  read(reader: ConnectionReader): void {
    this.reader = reader;
    this.transport.start(this); // may already deliver the request
    const paused = this.pendingError !== null || this.pending.length >= MAX_PIPELINED;
    if (!this.closed && !paused && reader.needsInput()) this.transport.resume();
  }

  // ---------------------------------------------------------- TransportEvents

  data(chunk: Buffer): void {
    this.reader?.data(chunk);
  }

  end(): void {
    this.peerEnded = true;
    this.reader?.end();
  }

  drain(): void {
    this.resolveDrain(true);
  }

  close(): void {
    this.onSocketClosed();
  }

  /** Closed by us, or the transport is going down (a failed write destroys it at once; its close callback comes a loop turn later). */
  get closed(): boolean {
    return this.state === 'closed' || this.transport.destroyed;
  }

  /** The adapter parsed a complete request. */
  enqueue(ex: Exchange): void {
    this.pending.push(ex);
    if (this.pending.length >= MAX_PIPELINED) this.transport.pause();
    this.dispatchNext();
  }

  /** The adapter's parser failed: answer (after any response in progress) and close. */
  fail(err: ProtocolError, protocol: string): void {
    // uWSGI prints no address for unix-socket peers (there is none).
    const who = this.remoteAddress !== '' ? `${this.remoteAddress}: ` : '';
    this.host.log(`${who}${err.logLine ?? err.message}\n`);
    this.pendingError = { err, protocol };
    this.transport.pause();
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
    return this.transport.remoteAddress;
  }

  get failure(): string | undefined {
    return this.transport.failure;
  }

  // ---------------------------------------------------------- ResponseOutput

  write(chunks: Buffer[]): boolean {
    if (this.state === 'closed') return false;
    // One write(2) per response where possible: small pieces are joined, since
    // every separate write costs a syscall and, on TCP, a packet.
    const ok = chunks.length === 1 ? this.writeOne(chunks[0] as Buffer) : this.writeMany(chunks);
    if (this.state === 'serving' || this.transport.needDrain) this.arm();
    return ok;
  }

  /**
   * Most responses fit the socket buffer: the transport write(2)s them directly
   * on the descriptor when nothing is queued (measured: a few microseconds per
   * request against going through a stream). Inside a batch, they wait for the
   * batch's end (see WriteBatch).
   */
  private writeOne(data: Buffer): boolean {
    if (writeBatch !== null && this.batchable()) {
      writeBatch.push(this, data);
      return true;
    }
    return this.transport.write(data);
  }

  /** Deferred writes are safe only when they would be direct ones: nothing queued before them. */
  private batchable(): boolean {
    return this.transport.fd >= 0 && this.transport.writableLength === 0;
  }

  /** @internal the batch writes what it deferred. */
  writeNow(data: Buffer): boolean {
    return this.transport.write(data);
  }

  private writeMany(chunks: Buffer[]): boolean {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total <= JOIN_BELOW) return this.writeOne(Buffer.concat(chunks, total));
    if (writeBatch !== null && this.batchable()) {
      for (const c of chunks) writeBatch.push(this, c); // keep the order of what is already batched
      return true;
    }
    return this.transport.writev(chunks); // large pieces: no copy
  }

  directFd(): number {
    if (this.state === 'closed' || writeBatch !== null || this.transport.writableLength > 0) return -1;
    this.arm(); // progress made outside write(): no stall deadline while the client keeps up
    return this.transport.fd;
  }

  drained(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!this.transport.needDrain) return Promise.resolve(true);
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  finish(keepAlive: boolean): void {
    this.inFlight = null;
    if (this.state === 'closed') return;
    if (!keepAlive || this.host.draining) {
      this.closeAfterResponse();
      return;
    }
    if (this.pendingError !== null && this.pending.length === 0) {
      this.flushErrorAndClose();
      return;
    }
    if (this.peerEnded && this.pending.length === 0) {
      this.closeAfterResponse(); // nothing more can come
      return;
    }
    this.transport.resume();
    this.state = this.partialRequest ? 'reading' : 'idle';
    // A pipelined request whose first bytes came while we served the one
    // before never went through noteInput()'s idle -> reading: its head clock
    // starts now, or a stale (or zero) start closes it at the next sweep
    // (found by scripts/fuzz.mjs).
    if (this.state === 'reading') this.headStartedAt = Date.now();
    this.dispatchNext();
    this.arm();
  }

  destroy(): void {
    this.inFlight = null;
    if (writeBatch !== null) writeBatch.push(this, 'destroy');
    else this.transport.destroy();
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

  /**
   * The last response is written. When the client's input was read to the end
   * of a request (nothing partial, nothing pipelined after it, no error), the
   * connection closes as soon as the bytes are out, as uWSGI does: waiting for
   * the client's FIN costs a shutdown(2), a read and a loop turn per connection,
   * a good part of a small request's cost behind nginx. Otherwise, the graceful
   * FIN-then-wait below, so unread input cannot reset the response away.
   */
  private closeAfterResponse(): void {
    const clean = this.pending.length === 0 && !this.partialRequest && this.pendingError === null;
    this.pending.forEach((ex) => ex.body.dispose());
    this.pending.length = 0;
    if (!clean) {
      this.endGracefully();
      return;
    }
    this.state = 'closed';
    if (writeBatch !== null) writeBatch.push(this, 'close');
    else this.transport.closeWhenWritten();
    this.deadline = Date.now() + this.timeouts.stallMs; // a client that never reads its answer
  }

  private endGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // Responses still in a write batch go out first, then the FIN.
    if (writeBatch !== null) writeBatch.push(this, 'end');
    else this.transport.end();
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
    if (this.state === 'serving') {
      // The app is working: that is harakiri's business, not ours. Only a
      // client that stops reading our response is timed out.
      this.deadline = this.transport.needDrain ? Date.now() + this.timeouts.stallMs : 0;
      return;
    }
    const now = Date.now(); // not above: the common serving case needs no clock
    if (this.state === 'reading') {
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
    this.transport.failure ??= 'ETIMEDOUT';
    this.transport.destroy();
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
  private readonly items: Array<[Connection, Buffer | 'end' | 'close' | 'destroy']> = [];

  push(conn: Connection, data: Buffer | 'end' | 'close' | 'destroy'): void {
    this.items.push([conn, data]);
  }

  flush(): void {
    for (const [conn, data] of this.items) {
      if (data === 'end') conn.transport.end();
      else if (data === 'close') conn.transport.closeWhenWritten();
      else if (data === 'destroy') conn.transport.destroy();
      else conn.writeNow(data);
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
