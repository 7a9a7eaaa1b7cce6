/**
 * The byte stream under a client connection.
 *
 * Plain TCP and unix connections are served straight on libuv's stream
 * handle (`RawTransport`), without a `net.Socket` on top. A `net.Socket` is a
 * Readable plus a Writable: building one, feeding each read through its
 * buffer and tearing it down (end, finish, close, each deferred to a tick)
 * measured 20-30 µs of CPU per connection here, more than the whole rest of a
 * request to a small app. Behind nginx's `uwsgi_pass` every request is a new
 * connection, so that cost was what made us half as fast as uWSGI there.
 *
 * TLS connections keep `net.Socket`/`tls.TLSSocket` (`SocketTransport`), and so
 * does everything when the handle bindings are missing (another Node version).
 * `process.binding` is deprecated in documentation only (DEP0111): Node 20 warns
 * about it only under --pending-deprecation, once per worker.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import os from 'node:os';
import type { Server, Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { koffi } from '../util/libc';
import { fdCalls, writeNonBlocking } from '../util/fd-calls';
import { AF_INET, formatIpv4, parseSockaddr, socketAddress } from './sockaddr';
import { pausableListener, watchListener, type ListenerGate } from './listener-gate';

/** What a transport tells its connection. */
export interface TransportEvents {
  /**
   * Bytes arrived: a fresh Buffer, owned by the receiver, unless the receiver
   * says `borrowsInput`.
   */
  data(chunk: Buffer): void;
  /**
   * True while the receiver copies whatever input it keeps past `data`'s
   * return (the HTTP parser does): it is then handed views of a shared read
   * buffer, valid only during the call, instead of a Buffer per read.
   */
  readonly borrowsInput?: boolean;
  /** The peer sent EOF: no more input will come. */
  end(): void;
  /** Everything queued has been handed to the kernel. */
  drain(): void;
  /** The transport is closed; called once, last. */
  close(): void;
}

export interface Transport {
  /** The descriptor for direct write(2) calls, -1 when bytes must go through `write` (TLS). */
  readonly fd: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Bytes accepted by `write` but not yet taken by the kernel. */
  readonly writableLength: number;
  /** The writer should wait for `drain` before writing more. */
  readonly needDrain: boolean;
  readonly destroyed: boolean;
  /** Why the connection broke ('EPIPE', 'ECONNRESET', 'ETIMEDOUT'...), once it did; undefined otherwise. */
  failure: string | undefined;
  /**
   * Start delivering events (once). Input that is already there may be
   * delivered before this returns; `resume` then keeps reading.
   */
  start(events: TransportEvents): void;
  /** Write in order after anything queued; false when the caller should wait for `drain`. */
  write(data: Buffer): boolean;
  writev(chunks: Buffer[]): boolean;
  pause(): void;
  resume(): void;
  /** FIN after the queued bytes; closes once the peer closes too (or on destroy). */
  end(): void;
  /**
   * Close as soon as the queued bytes are out, without waiting for the peer:
   * for a connection whose request was read completely, so that nothing unread
   * can turn the close into a reset (what uWSGI and Node's http server do).
   */
  closeWhenWritten(): void;
  /** Close now; queued bytes are dropped. */
  destroy(): void;
}

// ---------------------------------------------------------------------------
// libuv handles, as Node's own net module drives them.

interface AddressOut {
  address?: string;
  port?: number;
}

/** A Pipe or TCP wrap from Node's pipe_wrap/tcp_wrap bindings (the parts we use). */
export interface StreamHandle {
  readonly fd: number;
  onread: ((this: StreamHandle, buffer: ArrayBuffer | undefined) => unknown) | null;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: object, data: Buffer): number;
  shutdown(req: object): number;
  close(callback?: (this: StreamHandle) => void): void;
  getpeername?(out: AddressOut): number;
  getsockname?(out: AddressOut): number;
  setNoDelay?(enable: boolean): number;
  /** libuv reads into this buffer from now on, and `onread` gets no ArrayBuffer (Node's `onread: { buffer }` option of net.Socket). */
  useUserBuffer?(buffer: Buffer): void;
  /** useUserBuffer was called (it pushes a listener each time). */
  nuwsgiUserBuffer?: boolean;
  /** Our back-reference, so the shared callbacks below need no closure per connection. */
  nuwsgiTransport?: RawTransport;
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

interface WriteReq {
  handle: StreamHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
}

interface ShutdownReq {
  handle: StreamHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
}

const UV_EOF = -4095;
const UV_ENOTCONN = -107;
/** Queued bytes above which `write` asks the caller to wait for `drain` (net.Socket's is 16 KiB). */
const HIGH_WATER_MARK = 64 * 1024;
/** The first read(2) on a new connection goes here; what it got is copied out (parsers keep views). */
const eagerBuffer = Buffer.allocUnsafeSlow(64 * 1024);
/**
 * libuv reads every handle's input into this one buffer (`useUserBuffer`):
 * by default Node mallocs 64 KiB per read, shrinks it, wraps it in a fresh
 * ArrayBuffer and a backing store the GC's sweeper frees later, per request
 * on a keep-alive connection. Reads are delivered one at a time, each
 * consumed before the next.
 */
const handleReadBuffer = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Views of a shared read buffer for borrowing receivers, remembered by
 * length: a keep-alive client's requests are mostly the same size, and then
 * a read costs no object at all.
 */
class ReadViews {
  private readonly buffer: Buffer;
  private readonly views: Array<Buffer | undefined> = new Array<Buffer | undefined>(64).fill(undefined);

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** buffer[0, n), valid until the next read into the buffer. */
  of(n: number): Buffer {
    const slot = n & 63;
    const known = this.views[slot];
    if (known !== undefined && known.length === n) return known;
    const view = this.buffer.subarray(0, n);
    this.views[slot] = view;
    return view;
  }
}

const eagerViews = new ReadViews(eagerBuffer);
const handleReadViews = new ReadViews(handleReadBuffer);

/** buffer[0, n) for `events`: a view when it borrows, else a copy it owns. */
function deliver(events: TransportEvents, buffer: Buffer, views: ReadViews, n: number): void {
  if (events.borrowsInput === true) {
    events.data(views.of(n));
    return;
  }
  const chunk = Buffer.allocUnsafe(n);
  buffer.copy(chunk, 0, 0, n);
  events.data(chunk);
}

/** `eagerRead`'s answer when nothing has arrived yet. */
const EAGAIN_RESULT = -2;
const EAGAIN = 11;
const EINTR = 4;
const ECONNABORTED = 103;
/** errno -> 'EPIPE', as Node's fs errors name them. */
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, no]) => [no, name]));

/**
 * One write(2) on a non-blocking socket: the bytes taken (0 on EAGAIN), or
 * the error's name ('EPIPE', 'ECONNRESET'). Through koffi rather than
 * fs.writeSync: 0.3 against 0.44 µs of CPU per call measured here, and no
 * Error built for EAGAIN.
 */
function writeDirect(fd: number, data: Buffer): number | string {
  const n = writeNonBlocking(fd, data, data.length);
  return n >= 0 ? n : (ERRNO_NAMES.get(-n) ?? 'EIO');
}

/** close(2), errors ignored: the descriptor is released all the same (EIO, EINTR on Linux). */
function closeDirect(fd: number): void {
  const calls = fdCalls();
  if (calls !== null) {
    calls.close(fd);
    return;
  }
  try {
    closeSync(fd);
  } catch {
    // as above
  }
}

/**
 * One read(2) into `eagerBuffer`: the byte count, 0 at EOF, EAGAIN_RESULT
 * when nothing is there yet, -1 on an error. Through koffi rather than
 * fs.readSync: readSync throws on EAGAIN, and building that Error (message,
 * stack trace) measured 7.6 µs against 0.65 µs for the call itself; a client
 * that connects before it writes (wrk, browsers) makes that common.
 */
function eagerRead(fd: number): number {
  const calls = fdCalls();
  if (calls === null) return eagerReadSync(fd);
  for (;;) {
    const n = calls.read(fd, eagerBuffer, eagerBuffer.length);
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    return errno === EAGAIN ? EAGAIN_RESULT : -1;
  }
}

function eagerReadSync(fd: number): number {
  try {
    return readSync(fd, eagerBuffer, 0, eagerBuffer.length, null);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? EAGAIN_RESULT : -1;
  }
}

let binding: StreamBinding | null | undefined;

/** Node's stream_wrap binding, or null when this Node does not expose it (then net.Socket serves). */
function streamBinding(): StreamBinding | null {
  if (binding !== undefined) return binding;
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    const ok = typeof b.WriteWrap === 'function' && typeof b.ShutdownWrap === 'function' && b.streamBaseState instanceof Int32Array;
    binding = ok ? (b as StreamBinding) : null;
  } catch {
    binding = null;
  }
  return binding;
}

/** The listening Pipe or TCP wrap of a net.Server. */
interface ListeningHandle {
  readonly fd: number;
  onconnection?: unknown;
  setNoDelay?: (on: boolean) => number;
  getsockname?: (out: AddressOut) => number;
  /** Pipe or TCP: `new` with type 0 (SOCKET) makes a handle for an accepted descriptor. */
  readonly constructor: new (type: 0) => StreamHandle & { open(fd: number): number };
}

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

type Accept4 = (fd: number, addr: Buffer, len: Buffer, flags: number) => number;
type TakeOne = (listenFd: number) => number;
let accept4Fn: TakeOne | null | undefined;
/** Where accept4(2) writes the peer's address (sizeof(struct sockaddr_storage)), read at once by `fromDescriptor`. */
const ACCEPTED_ADDR = Buffer.alloc(128);
const ACCEPTED_LEN = Buffer.alloc(4);

/**
 * accept4(2) on a listening descriptor, never waiting: the new descriptor or
 * -1 (EAGAIN). The peer's address lands in ACCEPTED_ADDR, which spares a
 * getpeername(2) per connection (uWSGI reads accept's own address too).
 */
function accept4(): TakeOne | null {
  if (accept4Fn !== undefined) return accept4Fn;
  try {
    const call = koffi.load('libc.so.6').func('int accept4(int, void*, void*, int)') as Accept4;
    accept4Fn = (listenFd) => {
      ACCEPTED_LEN.writeUInt32LE(ACCEPTED_ADDR.length, 0);
      return call(listenFd, ACCEPTED_ADDR, ACCEPTED_LEN, SOCK_NONBLOCK | SOCK_CLOEXEC);
    };
  } catch {
    accept4Fn = null;
  }
  return accept4Fn;
}

/** When a listener takes connections (asked after each one libuv accepted). */
export interface AcceptPolicy {
  /** Take another queued connection now. */
  more(): boolean;
  /** No core can start a request: stop watching the listener until resumed. */
  full(): boolean;
  /** A connection woke the loop (before it is accepted). */
  woke?(): void;
  /** After each batch of accepted connections (--thunder-lock lets the next idle worker watch). */
  taken?(): void;
}

/** What a worker's dispatcher does with a listening socket it took over. */
export interface RawListener {
  /**
   * Stop taking connections: they wait in the kernel's listen queue for any
   * worker with a free core. `now`: also leave the event loop's epoll set at
   * once (--thunder-lock), where libuv would leave it only on the socket's
   * next event, a wake-up this worker has no use for.
   */
  pause(now?: boolean): void;
  resume(): void;
  readonly paused: boolean;
  /** Take one already-queued connection now (accept4, never waits); false when none is queued. */
  acceptOne(): boolean;
  /** The server is closing: stop watching for good (closes our duplicate of its descriptor, if any). */
  close(): void;
}

/**
 * Take over a listening net.Server: each accepted connection goes to `onHandle`
 * as a bare libuv handle instead of becoming a net.Socket. Returns null (and
 * changes nothing) when this Node does not allow it; the server then keeps
 * emitting 'connection' as usual.
 *
 * libuv (since 1.45) accepts one connection per callback. After it, while
 * `policy.more()` says a core is still free we take further queued
 * connections ourselves (accept4, never waiting); when `policy.full()`, the
 * listener pauses until the worker resumes it (docs/architecture.md,
 * "Dispatch and cores"). `ownWatch`: libuv does not accept at all, we do, on
 * a readiness watch of our own (watchListener); for the inline runner, which
 * pauses its listeners rarely (a poll handle's stop and start are an
 * epoll_ctl each, libuv's stream watcher's lazier).
 */
export function acceptRawHandles(
  server: Server,
  onAccepted: (transport: RawTransport) => void,
  onError: (errno: number) => void,
  policy: AcceptPolicy,
  options: { ownWatch?: boolean } = {},
): RawListener | null {
  const listening = (server as unknown as { _handle?: ListeningHandle | null })._handle;
  if (streamBinding() === null || listening === null || listening === undefined || typeof listening.onconnection !== 'function') {
    return null;
  }
  // TCP_NODELAY on the listening socket: Linux copies it to every accepted one,
  // which saves a setsockopt(2) per connection.
  listening.setNoDelay?.(true);
  // Every connection's local port is the listener's: asked once, not per connection.
  const name: AddressOut = {};
  listening.getsockname?.(name);
  const port = name.port ?? 0;
  const take = accept4();
  const HandleClass = listening.constructor;
  const acceptOne = (): boolean => {
    if (take === null) return false;
    const fd = take(listening.fd);
    if (fd < 0) return false; // EAGAIN: nothing queued (a real error is reported by the listener's watcher)
    onAccepted(RawTransport.fromDescriptor(fd, HandleClass, port));
    return true;
  };
  /** After the first connection of a wake-up: more while a core is free, then pause if none is. */
  const acceptMore = (): void => {
    while (policy.more()) if (!acceptOne()) break;
    if (policy.full()) listener.pause();
    policy.taken?.();
  };
  let gate: ListenerGate | null = null;
  if (take !== null && options.ownWatch === true) {
    gate = watchListener(listening, () => {
      policy.woke?.();
      const fd = take(listening.fd);
      if (fd < 0) {
        const errno = koffi.errno();
        // EAGAIN: another worker took it; ECONNABORTED: the client left (libuv skips both too).
        if (errno !== EAGAIN && errno !== ECONNABORTED && errno !== EINTR) onError(-errno);
        return;
      }
      onAccepted(RawTransport.fromDescriptor(fd, HandleClass, port));
      acceptMore();
    });
  }
  // libuv's accepts (every one without our watch; none with it, unless a Node change restarts its watcher).
  listening.onconnection = (err: number, handle: StreamHandle | undefined): void => {
    if (err !== 0 || handle === undefined) {
      onError(err);
      return;
    }
    policy.woke?.();
    onAccepted(new RawTransport(handle, port));
    acceptMore();
  };
  gate ??= pausableListener(listening);
  const watching = gate;
  const listener: RawListener = {
    pause: (now?: boolean) => watching?.pause(now === true),
    resume: () => watching?.resume(),
    get paused() {
      return watching?.paused ?? false;
    },
    acceptOne,
    close: () => watching?.close?.(),
  };
  return listener;
}

/**
 * A bare libuv Pipe handle reading `fd` (a pipe from this process's own
 * threads, see threaded-runner.ts), or null when this Node has no pipe_wrap
 * binding. Cheaper per read than a net.Socket: no stream machinery.
 */
export function openRawPipe(fd: number): RawTransport | null {
  if (streamBinding() === null) return null;
  try {
    const b = (process as unknown as { binding(name: string): { Pipe?: new (type: number) => StreamHandle & { open(fd: number): number }; constants?: { SOCKET?: number } } }).binding('pipe_wrap');
    if (b.Pipe === undefined) return null;
    const handle = new b.Pipe(b.constants?.SOCKET ?? 0);
    if (handle.open(fd) !== 0) return null;
    (handle as { unref?: () => void }).unref?.(); // never what keeps a worker alive
    return new RawTransport(handle);
  } catch {
    return null;
  }
}

/**
 * Accept every connection queued on a listening net.Server right now, never
 * waiting: a draining worker calls it just before it closes the socket, so
 * that connections a client (nginx) already sent its request on are served
 * rather than reset when the last descriptor closes. Returns how many it took;
 * 0 when accept4 or the handle is not available.
 */
export function acceptQueued(server: Server, onAccepted: (transport: RawTransport) => void): number {
  const listening = (server as unknown as { _handle?: ListeningHandle | null })._handle;
  const accept = accept4();
  if (accept === null || listening === null || listening === undefined) return 0;
  const name: AddressOut = {};
  listening.getsockname?.(name);
  const HandleClass = listening.constructor;
  let taken = 0;
  for (;;) {
    const fd = accept(listening.fd);
    if (fd < 0) return taken; // EAGAIN: the queue is empty
    taken++;
    onAccepted(RawTransport.fromDescriptor(fd, HandleClass, name.port ?? 0));
  }
}

type RawState = 'open' | 'ending' | 'closing' | 'closed';

/** Makes the libuv handle of an accepted descriptor: the listener's Pipe or TCP class. */
type HandleFactory = new (type: 0) => StreamHandle & { open(fd: number): number };

/**
 * A client connection on a bare libuv stream handle, or on its descriptor
 * alone until it needs the event loop. A connection we accepted ourselves
 * (accept4) whose request came with the first read and whose response the
 * kernel took at once never needs one: it is read, written and closed with
 * plain system calls. That spares the handle's C++ and JS objects, libuv's
 * ioctl(FIONBIO) on open and epoll_ctl(DEL) on close, and the close callback
 * a loop turn later, per connection (behind nginx and with `Connection:
 * close`, where every request is a new connection).
 */
export class RawTransport implements Transport {
  failure: string | undefined = undefined;

  readonly fd: number;
  /** null until the connection needs the event loop (a read to wait for, a write queue, a shutdown). */
  private handle: StreamHandle | null;
  private readonly makeHandle: HandleFactory | null;
  private events: TransportEvents | null = null;
  private state: RawState = 'open';
  private reading = false;
  private eof = false;
  /** Bytes in libuv's write queue (what write(2) did not take at once). */
  private queued = 0;
  private closeAfterQueue = false;
  private peer: AddressOut | undefined;
  /** The peer's IPv4 address from accept4(2), formatted only when asked (-1: none known). */
  private peerIpv4 = -1;
  private peerIpv4Port = 0;
  private local: AddressOut | undefined;
  private readonly listenerPort: number;

  /** `localPort`: the listener's port when known (> 0), which spares a getsockname(2). */
  constructor(handle: StreamHandle | number, localPort = 0, makeHandle: HandleFactory | null = null) {
    this.listenerPort = localPort;
    this.makeHandle = makeHandle;
    if (typeof handle === 'number') {
      this.handle = null;
      this.fd = handle;
      return;
    }
    this.handle = handle;
    this.fd = handle.fd;
    handle.nuwsgiTransport = this;
  }

  /** A descriptor from our own accept4 (non-blocking); its handle is made by `makeHandle` when first needed. */
  static fromDescriptor(fd: number, makeHandle: HandleFactory, localPort: number): RawTransport {
    const t = new RawTransport(fd, localPort, makeHandle);
    t.takeAcceptedPeer();
    return t;
  }

  /** The address accept4(2) just wrote: IPv4 kept as numbers, anything else formatted now (or asked later). */
  private takeAcceptedPeer(): void {
    if (ACCEPTED_LEN.readUInt32LE(0) < 2) return; // nothing written: getpeername when asked
    if (ACCEPTED_ADDR.readUInt16LE(0) === AF_INET) {
      this.peerIpv4 = ACCEPTED_ADDR.readUInt32BE(4);
      this.peerIpv4Port = ACCEPTED_ADDR.readUInt16BE(2);
      return;
    }
    this.peer = parseSockaddr(ACCEPTED_ADDR) ?? undefined;
  }

  private peerAddress(): AddressOut {
    if (this.peer !== undefined) return this.peer;
    if (this.peerIpv4 >= 0) return (this.peer = { address: formatIpv4(this.peerIpv4), port: this.peerIpv4Port });
    return (this.peer = this.address('getpeername'));
  }

  /** The libuv handle, made now if there is none yet; null when that failed (the transport is then destroyed). */
  private ensureHandle(): StreamHandle | null {
    if (this.handle !== null) return this.handle;
    if (this.makeHandle === null || this.destroyed) return null;
    const handle = new this.makeHandle(0);
    if (handle.open(this.fd) !== 0) {
      this.fail('EIO');
      return null;
    }
    handle.nuwsgiTransport = this;
    readIntoSharedBuffer(handle);
    this.handle = handle;
    return handle;
  }

  get destroyed(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  get writableLength(): number {
    return this.queued;
  }

  get needDrain(): boolean {
    return this.queued >= HIGH_WATER_MARK;
  }

  get remoteAddress(): string {
    return this.peerAddress().address ?? '';
  }

  get remotePort(): number {
    if (this.peerIpv4 >= 0) return this.peerIpv4Port;
    return this.peerAddress().port ?? 0;
  }

  get localAddress(): string {
    return (this.local ??= this.address('getsockname')).address ?? '';
  }

  get localPort(): number {
    if (this.listenerPort > 0) return this.listenerPort;
    return (this.local ??= this.address('getsockname')).port ?? 0;
  }

  /**
   * TCP handles have addresses; unix ones have none (as net.Socket reports them).
   * Asked on the descriptor even when there is a handle (libuv accepted it):
   * the handle's getpeername fills its out-object from C++ through V8's slow
   * property paths (`AddressToJS`, visible in perf under `Connection: close`).
   */
  private address(which: 'getpeername' | 'getsockname'): AddressOut {
    if (this.destroyed) return {};
    const known = socketAddress(this.fd, which);
    if (known !== null) return known;
    const handle = this.ensureHandle();
    const out: AddressOut = {};
    const fn = handle?.[which];
    if (fn !== undefined) fn.call(handle, out);
    return out;
  }

  /**
   * By the time a connection is accepted its request has usually arrived
   * (nginx writes right after connecting): one read(2) now takes it, and a
   * connection whose request is complete never needs registering with epoll
   * (saves two epoll_ctl(2) and a loop turn, per connection).
   */
  start(events: TransportEvents): void {
    this.events = events;
    if (this.handle !== null) readIntoSharedBuffer(this.handle);
    this.readNow();
  }

  /**
   * One read(2) now, its bytes (or EOF, or the error) handed on as a libuv read
   * would: false when nothing had arrived (EAGAIN).
   */
  private readNow(): boolean {
    const n = eagerRead(this.fd);
    if (n < 0) {
      if (n !== EAGAIN_RESULT) this.destroy();
      return n !== EAGAIN_RESULT;
    }
    if (n === 0) {
      this.onRead(UV_EOF, undefined, 0);
      return true;
    }
    if (this.events !== null) deliver(this.events, eagerBuffer, eagerViews, n);
    return true;
  }

  /**
   * @internal End of the loop turn, a handle-less connection still wants to
   * read: behind nginx a connection is often accepted in the instant between
   * nginx's connect(2) and its write(2) of the request (about a third of them
   * on a busy 2-core machine, `perf trace -s`: read's EAGAIN count). Its request
   * has usually arrived by now; one more read(2) takes it and spares the
   * handle, epoll_ctl(ADD) and (DEL), and a loop turn (a sleep and a wake-up
   * when the worker has nothing else to do).
   */
  retryReadOrStart(): void {
    if (!this.reading || this.destroyed) return;
    if (this.handle === null && this.readNow() && (!this.reading || this.destroyed || this.handle !== null)) return;
    this.startReading();
  }

  write(data: Buffer): boolean {
    if (this.state !== 'open') return false;
    let written = 0;
    if (this.queued === 0) {
      const n = writeDirect(this.fd, data);
      if (typeof n === 'string') {
        this.fail(n); // EPIPE/ECONNRESET: the client is gone
        return false;
      }
      if (n === data.length) return true;
      written = n;
    }
    return this.enqueue(written === 0 ? data : data.subarray(written));
  }

  writev(chunks: Buffer[]): boolean {
    let ok = true;
    for (const c of chunks) ok = this.write(c);
    return ok;
  }

  /** Through libuv's queue, which keeps the order and tells us when the kernel took it. */
  private enqueue(data: Buffer): boolean {
    const handle = this.ensureHandle();
    if (handle === null) return false;
    const b = streamBinding() as StreamBinding;
    const req = new b.WriteWrap();
    req.handle = handle;
    req.oncomplete = onRawWriteDone;
    req.async = false;
    req.bytes = data.length;
    req.buffer = data; // keeps the memory alive until libuv is done with it
    const err = handle.writeBuffer(req, data);
    if (err !== 0) {
      this.fail(errnoName(err));
      return false;
    }
    if (b.streamBaseState[b.kLastWriteWasAsync] === 0) return true; // written after all
    this.queued += data.length;
    return this.queued < HIGH_WATER_MARK;
  }

  /** @internal a queued write finished. */
  writeDone(req: WriteReq, status: number): void {
    this.queued -= req.bytes;
    req.buffer = null;
    if (this.destroyed) return;
    if (status < 0) {
      this.fail(errnoName(status));
      return;
    }
    if (this.queued > 0) return;
    if (this.closeAfterQueue) this.destroy();
    else this.events?.drain();
  }

  pause(): void {
    if (!this.reading) return;
    this.reading = false;
    if (!this.destroyed) this.handle?.readStop();
  }

  resume(): void {
    if (this.reading || this.eof || this.destroyed) return;
    this.reading = true;
    if (this.handle === null) {
      // Not yet: most such connections are answered and closed in this loop
      // turn (the request came with the first read), and then never need a handle.
      startReadLater(this);
      return;
    }
    this.startReading();
  }

  /** @internal readStart on the handle (made now if needed), if reading is still wanted. */
  startReading(): void {
    if (!this.reading || this.destroyed) return;
    const handle = this.ensureHandle();
    if (handle === null) return;
    const err = handle.readStart();
    if (err !== 0) this.destroy();
  }

  end(): void {
    if (this.state !== 'open') return;
    const handle = this.ensureHandle();
    if (handle === null) return;
    this.state = 'ending';
    const b = streamBinding() as StreamBinding;
    const req = new b.ShutdownWrap();
    req.handle = handle;
    req.oncomplete = onRawShutdownDone;
    const err = handle.shutdown(req);
    if (err !== 0 && err !== 1 && err !== UV_ENOTCONN) {
      this.destroy();
      return;
    }
    // Read on (and discard) until the peer's EOF: closing with unread input
    // would send a reset that can destroy the response on its way.
    if (this.eof) this.destroy();
    else this.resume();
  }

  closeWhenWritten(): void {
    if (this.destroyed) return;
    if (this.queued === 0) {
      this.destroy();
      return;
    }
    this.state = 'ending';
    this.closeAfterQueue = true;
    this.pause();
  }

  /** Close because the connection broke, remembering why (the first reason wins). */
  private fail(code: string | undefined): void {
    this.failure ??= code ?? 'EIO';
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.state = 'closing';
    this.reading = false;
    if (this.handle !== null) {
      this.handle.close(onRawClose);
      return;
    }
    // No handle: close(2) now, as uv_close does, and tell the connection
    // later, as libuv's close callback would (never from inside its own call).
    closeDirect(this.fd);
    closeLater(this);
  }

  /** @internal the handle (or the bare descriptor) is closed. */
  closed(): void {
    this.state = 'closed';
    if (this.handle !== null) this.handle.nuwsgiTransport = undefined;
    this.events?.close();
  }

  /** @internal libuv read a chunk, EOF, or an error. */
  onRead(nread: number, buffer: ArrayBuffer | undefined, offset: number): void {
    if (nread > 0) {
      if (this.state !== 'open' || this.events === null) return;
      if (buffer === undefined) deliver(this.events, handleReadBuffer, handleReadViews, nread);
      else this.events.data(Buffer.from(buffer, offset, nread));
      return;
    }
    if (nread === 0) return;
    if (nread !== UV_EOF) {
      this.fail(errnoName(nread)); // ECONNRESET and friends
      return;
    }
    this.eof = true;
    this.reading = false;
    if (this.state === 'ending') this.destroy();
    else if (this.state === 'open') this.events?.end();
  }
}

/**
 * Handle-less transports that want to read: their handles start reading at
 * the end of this loop turn (after the runner's immediate, which usually
 * answers and closes them first), before the loop next waits for events.
 */
let toStart: RawTransport[] = [];

function startReadLater(transport: RawTransport): void {
  if (toStart.length === 0) setImmediate(startReads);
  toStart.push(transport);
}

function startReads(): void {
  const batch = toStart;
  toStart = [];
  for (const t of batch) t.retryReadOrStart();
}

/** Handle-less transports closed during this tick: their close events go out together, right after it. */
let closing: RawTransport[] = [];

function closeLater(transport: RawTransport): void {
  if (closing.length === 0) process.nextTick(emitClosed);
  closing.push(transport);
}

function emitClosed(): void {
  const batch = closing;
  closing = [];
  for (const t of batch) t.closed();
}

/** Reads go to `onRawRead`, into the shared buffer when this Node can (else a fresh ArrayBuffer each). */
function readIntoSharedBuffer(handle: StreamHandle): void {
  handle.onread = onRawRead;
  if (typeof handle.useUserBuffer === 'function' && handle.nuwsgiUserBuffer !== true) {
    handle.useUserBuffer(handleReadBuffer);
    handle.nuwsgiUserBuffer = true;
  }
}

function onRawRead(this: StreamHandle, buffer: ArrayBuffer | undefined): void {
  const b = streamBinding() as StreamBinding;
  const state = b.streamBaseState;
  this.nuwsgiTransport?.onRead(state[b.kReadBytesOrError] as number, buffer, state[b.kArrayBufferOffset] as number);
}

function onRawWriteDone(this: WriteReq, status: number): void {
  this.handle.nuwsgiTransport?.writeDone(this, status);
}

function onRawClose(this: StreamHandle): void {
  this.nuwsgiTransport?.closed();
}

function onRawShutdownDone(this: ShutdownReq, status: number): void {
  if (status < 0) this.handle.nuwsgiTransport?.destroy();
}

// ---------------------------------------------------------------------------

/** A connection on a net.Socket (TLS, or a Node without the handle bindings). */
export class SocketTransport implements Transport {
  failure: string | undefined = undefined;

  readonly fd: number;
  private readonly socket: Socket;

  /** `directWrites`: write(2) on the descriptor when nothing is queued (never for TLS). */
  constructor(socket: Socket, directWrites: boolean) {
    this.socket = socket;
    this.fd = directWrites ? descriptorOf(socket) : -1;
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  get localAddress(): string {
    return this.socket.localAddress ?? '';
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get needDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  start(events: TransportEvents): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => events.data(chunk));
    s.on('end', () => events.end());
    s.on('drain', () => events.drain());
    s.on('close', () => events.close());
    s.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNRESET and friends: 'close' follows, and that is where we clean up.
      this.failure ??= err.code ?? 'EIO';
    });
  }

  write(data: Buffer): boolean {
    if (this.fd < 0 || this.socket.writableLength > 0 || this.socket.connecting) return this.socket.write(data);
    if (this.socket.destroyed) return false;
    let written = 0;
    try {
      written = writeSync(this.fd, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.failure ??= (err as NodeJS.ErrnoException).code ?? 'EIO';
        this.socket.destroy();
        return false;
      }
    }
    return written === data.length ? true : this.socket.write(data.subarray(written));
  }

  writev(chunks: Buffer[]): boolean {
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c);
    this.socket.uncork();
    return ok;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  closeWhenWritten(): void {
    this.socket.end(); // TLS: close_notify and the FIN, as before
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** libuv's descriptor of a plain TCP or unix socket (Node keeps it on the handle). */
function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** 'EPIPE' for libuv's -32. */
function errnoName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return 'EIO';
  }
}
