import type { ProtocolError } from '../protocol/errors';
import type { Exchange, ResponseOutput, UpgradedConnection } from './exchange';
import { errorResponse } from './framing';
import type { Transport, TransportEvents } from './transport';
import { inputWaiting } from './pending-input';
import { activeBatch, batchHolding, type BatchAction, type BatchTarget } from './write-batch';

/** An idle connection found with input waiting is looked at again after this long, not closed. */
const INPUT_WAITING_RECHECK_MS = 1000;

export interface ConnectionTimeouts {
  /** Idle keep-alive limit, and the most a request head may take (--http-timeout), ms. */
  idleMs: number;
  /** Most a body read or a response write may stall (--socket-timeout), ms. */
  stallMs: number;
  /** Most a request head may take from its first byte (--header-timeout, at most idleMs), ms. */
  headerMs?: number;
  /** A body may take this long before `bodyMinRate` applies (--body-grace), ms. */
  bodyGraceMs?: number;
  /** Average bytes/s a body must keep up after the grace period (--body-min-rate); 0 = no minimum. */
  bodyMinRate?: number;
}

/** What a connection needs from the worker. */
export interface ConnectionHost {
  dispatch(ex: Exchange): void;
  log(line: string): void;
  onClosed(conn: Connection): void;
  /** True while the worker shuts down: responses then close their connections. */
  readonly draining: boolean;
  /** ASGI: a request may go to the app while its body is still arriving (src/worker/asgi/body-stream.ts). */
  readonly streamsBodies?: boolean;
  /** A connection the worker marked `reserved` got its first request dispatched (`started`, called after dispatch) or closed before it. */
  reservationEnded?(conn: Connection, started: boolean): void;
}

/** Where the connection is, and so which deadline applies. */
type ConnState =
  | 'idle' // nothing buffered, nothing in flight: idle timeout
  | 'reading' // a request is arriving: head deadline / body stall timeout
  | 'serving' // a request is queued or in Python: no read timeout
  | 'upgraded' // a WebSocket: its own pings time it out; only a client that stops reading is cut here
  | 'closed';

/** The largest number of parsed requests a client may pipeline ahead of its responses. */
const MAX_PIPELINED = 16;

/** What a protocol adapter does with the input (set with `Connection.read`). */
export interface ConnectionReader {
  data(chunk: Buffer): void;
  /** The client sent EOF. */
  end(): void;
  /** The socket closed: drop a request still being collected (its body's memory and temporary file). */
  closed?(): void;
  /** Whether more input is of any use (false once a uwsgi packet is complete). */
  needsInput(): boolean;
  /** It copies whatever input it keeps past `data` (TransportEvents.borrowsInput). */
  readonly borrowsInput?: boolean;
}

/**
 * The transport half of a client connection, shared by both protocols:
 * response output with backpressure, in-order dispatch of pipelined requests,
 * a deadline tied to each state, and a clean close. Protocol adapters feed it.
 *
 * Deadlines are plain numbers checked by the worker's once-a-second sweep
 * (`checkDeadline`): arming one per request costs an assignment, not a timer.
 */
export class Connection implements ResponseOutput, TransportEvents, BatchTarget {
  readonly transport: Transport;
  private readonly host: ConnectionHost;
  private readonly timeouts: ConnectionTimeouts;
  private state: ConnState = 'idle';
  private readonly pending: Exchange[] = [];
  private inFlight: Exchange | null = null;
  private pendingError: { err: ProtocolError; protocol: string } | null = null;
  /** Epoch ms after which `checkDeadline` closes the connection; 0 = none. */
  private deadline = 0;
  /** The idle deadline was put off once for input found waiting (checkDeadline); new input resets it. */
  private inputWaitGranted = false;
  /** null until a writer waits (most connections never do: one array fewer per connection). */
  private drainWaiters: Array<(ok: boolean) => void> | null = null;
  private headStartedAt = 0;
  /** When the current request's body began (its head was parsed), epoch ms; 0 = not in a body. */
  private bodyStartedAt = 0;
  private bodyBytes = 0;
  /** The body's pace is judged per window of --body-grace seconds: when the current one began, and its bytes. */
  private rateWindowAt = 0;
  private rateWindowBytes = 0;
  /** SERVER_PROTOCOL of the 408 we answer a too-slow request with (the adapter sets it). */
  timeoutProtocol = 'HTTP/1.1';
  /** Set by the protocol adapter: whether its parser holds a partial request. */
  partialRequest = false;
  private reader: ConnectionReader | null = null;
  /** The client sent EOF: answer what it sent, then close. */
  private peerEnded = false;
  /** ASGI: the request handed on while its body still arrives (queued or in flight), if any. */
  private streamedEx: Exchange | null = null;
  /** Reading stopped because the app has not taken the streamed body yet (its pace is not the client's fault). */
  private bodyPaused = false;
  /** Bytes of the in-flight request's response were written (no 100 Continue, no 408 after that). */
  private responseStarted = false;
  /** A request of this connection went to the host already. */
  private dispatchedAny = false;
  /**
   * Set by the worker: accepted before its first request arrived, this
   * connection has a core promised to it until that request comes (or it
   * closes, or the promise lapses). See src/worker/reservations.ts.
   */
  reserved = false;

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

  get borrowsInput(): boolean {
    return this.reader !== null && this.reader.borrowsInput === true;
  }

  data(chunk: Buffer): void {
    this.inputWaitGranted = false;
    this.reader?.data(chunk);
  }

  end(): void {
    this.peerEnded = true;
    this.reader?.end();
    this.inFlight?.clientGone?.();
  }

  drain(): void {
    if (this.state === 'upgraded') this.arm(); // no write may follow soon to clear the stall deadline
    this.resolveDrain(true);
  }

  close(): void {
    this.onSocketClosed();
  }

  /** Closed by us, or the transport is going down (a failed write destroys it at once; its close callback comes a loop turn later). */
  get closed(): boolean {
    return this.state === 'closed' || this.transport.destroyed;
  }

  /** The adapter parsed a request head (`nowMs`: Date.now() as the request's exchange read it); its body (if any) follows. */
  headParsed(nowMs = Date.now()): void {
    this.bodyStartedAt = nowMs;
    this.bodyBytes = 0;
    this.rateWindowAt = this.bodyStartedAt;
    this.rateWindowBytes = 0;
  }

  /** RequestSession.noteBodyCutShort: what arrived of the body, against what was declared (-1: chunked). */
  logBodyCutShort(method: string, uri: string, declaredLength: number): void {
    const got = declaredLength >= 0 ? `${this.bodyBytes} of ${declaredLength} bytes received` : `${this.bodyBytes} bytes of a chunked body received`;
    this.host.log(`client closed the connection before the end of the request body: ${method} ${uri} (${got}), not passed to the app`);
  }

  /** The adapter took `bytes` of body. */
  noteBody(bytes: number): void {
    this.bodyBytes += bytes;
    this.rateWindowBytes += bytes;
  }

  /**
   * ASGI: the adapter hands on a request whose body is still arriving; the
   * body's stall and rate limits keep applying until `bodyEnded`, except
   * while reading is paused because the app has not taken what came.
   */
  enqueueEarly(ex: Exchange): void {
    this.streamedEx = ex;
    this.pending.push(ex);
    if (this.pending.length >= MAX_PIPELINED) this.transport.pause();
    this.dispatchNext();
  }

  /** The streamed body is complete. */
  bodyEnded(): void {
    this.streamedEx = null;
    this.bodyStartedAt = 0;
    this.headStartedAt = Date.now(); // a partial request after it is the next head
    this.arm();
  }

  /** The app holds enough of the streamed body: stop reading the socket. */
  pauseBody(): void {
    if (this.closed) return;
    this.bodyPaused = true;
    this.transport.pause();
    this.arm();
  }

  /** The app took the streamed body: read again (unless the connection wants a pause for its own reasons). */
  resumeBody(): void {
    if (!this.bodyPaused) return;
    this.bodyPaused = false;
    if (this.closed || this.pendingError !== null || this.pending.length >= MAX_PIPELINED) return;
    this.rateWindowAt = Date.now(); // the pause was ours: the client's pace is judged from now
    this.rateWindowBytes = 0;
    this.transport.resume();
    this.arm();
  }

  /** Whether an interim 100 Continue may still go out for the request in flight. */
  get mayContinue(): boolean {
    return !this.closed && !this.responseStarted;
  }

  /** The adapter parsed a complete request. */
  enqueue(ex: Exchange): void {
    // A partial request after it is the next head. Without a body, its head
    // was parsed in this same read: its clock reading is now's.
    this.headStartedAt = this.bodyBytes > 0 || this.bodyStartedAt === 0 ? Date.now() : this.bodyStartedAt;
    this.bodyStartedAt = 0;
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
    const streamed = this.streamedEx;
    if (streamed !== null) {
      if (this.dropStreamed()) return;
      if (this.inFlight === streamed) {
        this.flushErrorAndClose(); // the app is reading this body: answer now, it hears http.disconnect
        return;
      }
    }
    if (this.inFlight === null && this.pending.length === 0) this.flushErrorAndClose();
  }

  /**
   * A streamed body failed (a parser error, too slow): the app hears
   * http.disconnect. Its error answer can go out only if no byte of the
   * response did; else the connection is dropped. True when handled here.
   */
  private dropStreamed(): boolean {
    const ex = this.streamedEx as Exchange;
    this.streamedEx = null;
    ex.stream?.fail();
    const queued = this.pending.indexOf(ex);
    if (queued >= 0) {
      this.pending.splice(queued, 1);
      ex.body.dispose();
      return false;
    }
    if (this.inFlight !== ex) return false;
    if (this.responseStarted) {
      this.transport.destroy();
      return true;
    }
    return false; // nothing written yet: the caller answers now
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
    this.responseStarted = true;
    // One write(2) per response where possible: small pieces are joined, since
    // every separate write costs a syscall and, on TCP, a packet.
    const ok = chunks.length === 1 ? this.writeOne(chunks[0] as Buffer) : this.writeMany(chunks);
    if (this.state === 'serving' || this.transport.needDrain) this.arm();
    return ok;
  }

  /**
   * Most responses fit the socket buffer: the transport write(2)s them directly
   * on the descriptor when nothing is queued (measured: a few microseconds per
   * request against going through a stream). While the inline runner batches
   * (write-batch.ts), they wait for the batch's flush, which never holds them
   * across a Python call that may be long.
   */
  private writeOne(data: Buffer): boolean {
    const batch = this.batch();
    if (batch !== null) {
      this.deferred++;
      batch.push(this, data);
      return true;
    }
    return this.transport.write(data);
  }

  /** Writes deferred by a batch and not yet written. */
  private deferred = 0;

  /**
   * The batch this connection's output goes into: behind its own deferred
   * writes, always; else into an open batch when a direct write would go
   * out at once (nothing queued before it, a descriptor to write on).
   */
  private batch(): ReturnType<typeof activeBatch> {
    if (this.deferred > 0) return batchHolding();
    const open = activeBatch();
    return open !== null && this.transport.fd >= 0 && this.transport.writableLength === 0 ? open : null;
  }

  /** @internal the batch writes what it deferred. */
  writeNow(data: Buffer): boolean {
    this.deferred--;
    return this.transport.write(data);
  }

  /** @internal the batch closes the connection after what it deferred. */
  settleNow(action: BatchAction): void {
    this.deferred--;
    if (action === 'end') this.transport.end();
    else if (action === 'close') this.transport.closeWhenWritten();
    else this.transport.destroy();
  }

  /** Close actions wait behind the connection's deferred writes, if it has any. */
  private settle(action: BatchAction): void {
    const batch = this.deferred > 0 ? batchHolding() : null;
    if (batch !== null) {
      this.deferred++;
      batch.push(this, action);
    } else if (action === 'end') this.transport.end();
    else if (action === 'close') this.transport.closeWhenWritten();
    else this.transport.destroy();
  }

  private writeMany(chunks: Buffer[]): boolean {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total <= JOIN_BELOW) return this.writeOne(Buffer.concat(chunks, total));
    const batch = this.batch();
    if (batch !== null) {
      this.deferred += chunks.length;
      for (const c of chunks) batch.push(this, c); // keep the order of what is already batched
      return true;
    }
    return this.transport.writev(chunks); // large pieces: no copy
  }

  interim(data: Buffer): boolean {
    if (this.closed || this.responseStarted) return false;
    this.writeOne(data); // not the response yet: a 100 Continue or a 408 may still follow
    if (this.transport.needDrain) this.arm();
    return true;
  }

  directFd(): number {
    if (this.state === 'closed' || this.deferred > 0 || activeBatch() !== null || this.transport.writableLength > 0) return -1;
    this.responseStarted = true;
    this.arm(); // progress made outside write(): no stall deadline while the client keeps up
    return this.transport.fd;
  }

  drained(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!this.transport.needDrain) return Promise.resolve(true);
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  finish(keepAlive: boolean): void {
    this.endStreamedBody();
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
    // A pipelined request's streamed body that the app has not taken yet stays paused (its stream resumes it).
    if (!this.bodyPaused) this.transport.resume();
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
    this.endStreamedBody();
    this.inFlight = null;
    this.settle('destroy');
  }

  /**
   * Switch protocols (a WebSocket after its 101): `reader` gets the input from
   * now on. Refused (null) when input followed the request (the client must
   * wait for the 101, RFC 6455 §4.1) or the connection is going down.
   */
  takeOver(reader: ConnectionReader): UpgradedConnection | null {
    if (this.closed || this.pending.length > 0 || this.partialRequest || this.pendingError !== null) return null;
    this.reader = reader;
    this.state = 'upgraded';
    this.arm();
    if (!this.peerEnded) this.transport.resume();
    return {
      pause: () => this.transport.pause(),
      resume: () => {
        if (!this.closed) this.transport.resume();
      },
      end: () => this.endGracefully(),
    };
  }

  /** The response ended before its streamed body: the rest is read and dropped (the connection closes). */
  private endStreamedBody(): void {
    const ex = this.streamedEx;
    if (ex === null || ex !== this.inFlight) return;
    this.streamedEx = null;
    this.bodyPaused = false;
    ex.stream?.fail();
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
    this.responseStarted = false;
    this.state = 'serving';
    this.arm();
    this.dispatchedAny = true;
    const promised = this.reserved;
    this.reserved = false; // a close during dispatch must not count as a promise broken
    this.host.dispatch(ex);
    // After it: the request holds its core now (or was answered without one, static files: the core is free).
    if (promised) this.host.reservationEnded?.(this, true);
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
    this.pending.forEach(dropUnserved);
    this.pending.length = 0;
    if (!clean) {
      this.endGracefully();
      return;
    }
    this.state = 'closed';
    this.settle('close');
    this.deadline = Date.now() + this.timeouts.stallMs; // a client that never reads its answer
  }

  private endGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.settle('end'); // responses still deferred go out first, then the FIN
    // A client that never reads its answer must not keep the socket forever.
    this.deadline = Date.now() + this.timeouts.stallMs;
  }

  private onSocketClosed(): void {
    this.state = 'closed';
    this.deadline = 0;
    this.resolveDrain(false);
    this.reader?.closed?.();
    this.inFlight?.clientGone?.();
    for (const ex of this.pending) dropUnserved(ex);
    this.pending.length = 0;
    if (this.reserved) {
      this.reserved = false;
      this.host.reservationEnded?.(this, false);
    }
    this.host.onClosed(this);
  }

  /** Open, and no request of it has reached the host yet (its first is still to come, or arriving). */
  get awaitingFirstRequest(): boolean {
    return !this.dispatchedAny && this.state !== 'closed';
  }

  private resolveDrain(ok: boolean): void {
    const waiters = this.drainWaiters;
    if (waiters === null) return;
    this.drainWaiters = null;
    for (const resolve of waiters) resolve(ok);
  }

  /** Set the deadline the current state calls for. */
  private arm(): void {
    if (this.state === 'closed') return;
    if (this.state === 'serving' || this.state === 'upgraded') {
      // The app is working: that is harakiri's business, not ours. Only a
      // client that stops reading our response is timed out.
      // A streamed body still arriving is the client's business though, unless we paused it.
      const waiting = this.transport.needDrain || (this.streamedEx !== null && !this.bodyPaused);
      this.deadline = waiting ? Date.now() + this.timeouts.stallMs : 0;
      return;
    }
    const now = Date.now(); // not above: the common serving case needs no clock
    if (this.state === 'reading') {
      // In a body, only stalls: its pace is checked by checkBodyRate.
      const headEnd = this.bodyStartedAt > 0 ? Infinity : this.headStartedAt + this.headerMs;
      this.deadline = Math.min(now + this.timeouts.stallMs, headEnd);
    } else {
      this.deadline = now + this.timeouts.idleMs;
    }
  }

  private get headerMs(): number {
    return Math.min(this.timeouts.headerMs ?? Infinity, this.timeouts.idleMs);
  }

  /** Called about once a second by the worker. */
  checkDeadline(now: number): void {
    if ((this.state === 'reading' || this.streamedEx !== null) && this.bodyTooSlow(now)) {
      const secs = Math.round((now - this.rateWindowAt) / 1000);
      const total = this.bodyBytes !== this.rateWindowBytes ? `, ${this.bodyBytes} in all` : '';
      this.timeOut(`request body too slow (${this.rateWindowBytes} bytes in the last ${secs} seconds${total}, under ${this.timeouts.bodyMinRate ?? 0} bytes/s)`);
      return;
    }
    if (this.deadline === 0 || now < this.deadline) return;
    if (this.state === 'idle' && !this.inputWaitGranted && inputWaiting(this.transport.fd)) {
      // Its next request arrived while the app held the loop: the read that follows this timer serves it.
      // Once per input: a connection whose bytes stay unread (a paused one) still closes at the next sweep.
      this.inputWaitGranted = true;
      this.deadline = now + INPUT_WAITING_RECHECK_MS;
      return;
    }
    this.deadline = 0;
    if (this.state === 'reading' && this.inFlight === null && this.pending.length === 0) {
      const headLate = this.bodyStartedAt === 0 && now >= this.headStartedAt + this.headerMs;
      if (headLate) {
        this.timeOut(`request head not complete after ${Math.round(this.headerMs / 1000)} seconds`);
        return;
      }
      this.host.log(`${this.remoteAddress}: request not received in time, closing\n`);
    } else if (this.streamedEx !== null && !this.bodyPaused) {
      this.host.log(`${this.remoteAddress}: request body not received in time, closing\n`);
    }
    this.transport.failure ??= 'ETIMEDOUT';
    this.transport.destroy();
  }

  /**
   * A minimum rate as mod_reqtimeout's MinRate, but judged per window of
   * --body-grace seconds rather than on the average since the start: a
   * client that sends half a body fast and then drips cannot bank its head
   * start (at 500 bytes/s, 1 MB sent at once would buy it half an hour).
   * A real client stalling is cut sooner anyway, by --socket-timeout.
   */
  private bodyTooSlow(now: number): boolean {
    const minRate = this.timeouts.bodyMinRate ?? 0;
    if (minRate <= 0 || this.bodyStartedAt === 0) return false;
    if (this.streamedEx === null && (this.inFlight !== null || this.pending.length > 0)) return false;
    if (this.bodyPaused) {
      this.rateWindowAt = now; // the app is slow, not the client
      this.rateWindowBytes = 0;
      return false;
    }
    const elapsedMs = now - this.rateWindowAt;
    if (elapsedMs < (this.timeouts.bodyGraceMs ?? 0)) return false;
    if ((this.rateWindowBytes * 1000) / elapsedMs < minRate) return true;
    this.rateWindowAt = now;
    this.rateWindowBytes = 0;
    return false;
  }

  /** A request too slow to arrive: 408, as Apache and nginx answer, and close (the rest of it is not read). */
  private timeOut(why: string): void {
    const who = this.remoteAddress !== '' ? `${this.remoteAddress}: ` : '';
    this.host.log(`${who}${why}, answering 408\n`);
    this.bodyStartedAt = 0;
    if (this.streamedEx !== null && this.dropStreamed()) return;
    if (this.inFlight !== null && this.inFlight.stream === undefined) {
      this.transport.destroy(); // a pipelined request's body is late while another response is being written
      return;
    }
    this.write([errorResponse(this.timeoutProtocol, 408, reasonPhrase(408))]);
    this.endGracefully(); // FIN after the answer: closing at once with unread input would reset it away
  }
}

const JOIN_BELOW = 64 * 1024;

/** A request that will never be served: its body's temporary file and memory (and share of the budget) go. */
function dropUnserved(ex: Exchange): void {
  ex.body.dispose();
  ex.stream?.fail();
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
