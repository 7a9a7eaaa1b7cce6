import { closeSync, openSync, read } from 'node:fs';
// The global `performance` is a lazy getter on globalThis, called on every use: the module's object is not.
import { performance } from 'node:perf_hooks';
import { requestLogRecord, type LoggedOutcome } from './access-log';
import { readProcessMemory } from '../stats/procfs';
import type { RequestLogger } from '../logging';
import type { Exchange } from './exchange';
import { routeToDefaultApp, type AppRouter } from './mounts';
import { socketScheme, type SchemeResolver } from './scheme';
import { chooseFraming, chunkFrame, errorResponse, lastChunk, serializeHead, serializeResponse, type Framing } from './framing';
import type { PythonBridge, HandleResult, PullResult } from './python/bridge';
import { FLAG_CONNECTION_CLOSE, ResponseKind } from './python/meta';
import { reportWriteError, type WriteErrorPolicy, type WriteKind } from './write-errors';
import { fileChunkHeader, fileChunkLength, sendFileBody } from './file-response';
import { batchAgeMs, endBatch, flushBatch, withWriteBatch } from './write-batch';

export interface RunnerOptions {
  /** Request lines (--log-format, --disable-logging...); none when absent. */
  requestLog?: RequestLogger;
  /** This worker's id, for the request log (%(wid)). */
  workerId: number;
  log: (line: string) => void;
  /** Picks the app for a request (mountpoints); may rewrite SCRIPT_NAME/PATH_INFO. */
  route: AppRouter;
  /** wsgi.url_scheme, with X-Forwarded-Proto from trusted peers. */
  scheme: SchemeResolver;
  /** Told when each request enters Python and when its response is over. */
  observer?: RequestObserver;
  /** --add-header lines (each ending in CRLF), for the 500s nuwsgi writes itself (the loader adds them to the app's). */
  addedHeaders?: string;
  /** What is logged when a client leaves mid-response (--ignore-sigpipe, --ignore-write-errors, --disable-write-exception). */
  writeErrors?: WriteErrorPolicy;
  /**
   * --x-sendfile: offered every app response head; true when it answered the
   * request itself from the file the head names (the app's body is dropped).
   */
  appFile?: (ex: Exchange, head: Buffer, done: (o: Outcome) => void) => boolean;
}

/**
 * Counts the worker's requests (into its scoreboard row: the one place they
 * are counted, docs/stats.md) and answers the request log's "req: a/b".
 */
export interface RequestObserver {
  /** The request enters the app; `ex.core` says which core runs it. `nowMs`: epoch ms now, when the caller has read the clock. */
  started(ex: Exchange, nowMs?: number): void;
  /** The request became a long-lived connection (a WebSocket): not timed by harakiri any more. */
  detached?(ex: Exchange): void;
  /** `o.status` is what the client got (500 when the app failed before its headers). */
  finished(ex: Exchange, o: ResponseOutcome): void;
  /** Requests this worker finished. */
  readonly requests: number;
  /** Requests started on app `appId`. */
  appRequests(appId: number): number;
}

/** What one response turned out to be, for the log and the counters. */
export interface ResponseOutcome extends LoggedOutcome {
  /** The app raised, its iterable failed mid-stream, or a write error uWSGI counts as an exception. */
  exception?: boolean;
  /** Bytes written, when not head + body (a HEAD response, a body cut to its Content-Length): the stats' tx. */
  wireBytes?: number;
}
type Outcome = ResponseOutcome;

const FILE_CHUNK = 256 * 1024;
const LAST_CHUNK_WITH_TRAILERS = Buffer.from('0\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Runs exchanges through the app on the worker's cores. Two implementations:
 * InlineRunner (threads = 1: Python on the event loop's thread, uWSGI's sync
 * worker) and ThreadedRunner (threads = N: a Python thread per core, the
 * event loop never waits). The worker asks `freeCores` before it accepts.
 */
export interface Runner {
  submit(ex: Exchange): void;
  /** Cores that could start a request right now (idle and not promised to a queued request). */
  readonly freeCores: number;
  /** Told each time a core becomes free (the worker resumes accepting). */
  onCoreFree: () => void;
  /** Told when no core is left for another request (the worker stops accepting). */
  onFull: () => void;
  /** True while a request is inside Python or queued for it. */
  readonly active: boolean;
  /** Resolves when nothing is queued or running (for graceful shutdown). */
  whenIdle(): Promise<void>;
  stopKeepingAlive(): void;
}

/** A core's way back into Python for a response that is not complete at once. */
interface CoreCalls {
  pull(core: number): PullResult | Promise<PullResult>;
  abort(core: number): void | Promise<void>;
}

/**
 * What both runners share: the response side. A complete response is written
 * at once (Node writes the bytes out later, so a slow client never holds
 * Python); a streaming one pulls each chunk only when the socket has drained,
 * and holds only its own core.
 */
export abstract class RunnerBase implements CoreCalls {
  protected readonly opts: RunnerOptions;
  private idleWaiters: Array<() => void> = [];
  onCoreFree: () => void = () => undefined;
  onFull: () => void = () => undefined;
  private keepAlive = true;

  constructor(opts: RunnerOptions) {
    this.opts = opts;
  }

  abstract submit(ex: Exchange): void;
  abstract readonly freeCores: number;
  abstract readonly active: boolean;
  abstract pull(core: number): PullResult | Promise<PullResult>;
  abstract abort(core: number): void | Promise<void>;

  whenIdle(): Promise<void> {
    if (!this.active) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  protected notifyIdle(): void {
    if (this.active || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * The worker is draining: every response from now on says "Connection:
   * close", so the client opens its next connection elsewhere instead of
   * sending a request into a socket we are about to close.
   */
  stopKeepingAlive(): void {
    this.keepAlive = false;
  }

  /** Route a request about to enter Python on `core` and tell the observer; false when its client is gone. */
  protected begin(ex: Exchange, core: number, nowPerf?: number): boolean {
    if (ex.out.closed) {
      ex.body.dispose();
      return false;
    }
    ex.core = core;
    const route = this.opts.route;
    ex.appId = route === routeToDefaultApp ? 0 : route(ex.vars);
    this.opts.observer?.started(ex, nowPerf === undefined ? undefined : performance.timeOrigin + nowPerf);
    return true;
  }

  protected schemeOf(ex: Exchange): 'http' | 'https' {
    const scheme = this.opts.scheme;
    return scheme === socketScheme ? ex.scheme : scheme(ex.scheme, ex.vars, ex.remoteAddr);
  }

  /** Send what Python answered. Resolves when the core is free again (at once unless streaming). */
  protected respond(ex: Exchange, result: HandleResult): Promise<void> | undefined {
    if (this.opts.appFile !== undefined) {
      const taken = this.takenAsFile(ex, result);
      if (taken !== false) return taken;
    }
    switch (result.meta.kind) {
      case ResponseKind.Complete:
        this.sendComplete(ex, result);
        return undefined;
      case ResponseKind.Stream:
        return this.sendStream(ex, result);
      case ResponseKind.File:
        return this.sendFile(ex, result);
      default:
        this.sendAppError(ex, result.meta.kind === ResponseKind.Broken);
        return undefined;
    }
  }

  /**
   * X-Sendfile: the static server sends the file the app named; the app's own
   * body is closed unread. false when not taken; else what holds the core.
   */
  private takenAsFile(ex: Exchange, result: HandleResult): false | Promise<void> | undefined {
    const kind = result.meta.kind;
    if (kind !== ResponseKind.Complete && kind !== ResponseKind.Stream && kind !== ResponseKind.File) return false;
    if (!(this.opts.appFile as NonNullable<RunnerOptions['appFile']>)(ex, result.head, (o) => this.done(ex, o))) return false;
    if (kind === ResponseKind.Complete) return undefined;
    const closed = this.abort(ex.core);
    return closed === undefined ? undefined : closed;
  }

  private frame(ex: Exchange, result: HandleResult, completeLength: number): Framing {
    return chooseFraming({
      protocol: ex.protocol,
      // A response that ends before its streamed (ASGI) request body: the rest is dropped and the connection closes.
      clientKeepAlive: ex.clientKeepAlive && this.keepAlive && (ex.stream === undefined || ex.stream.complete),
      clientHttp11: ex.clientHttp11,
      raw: ex.raw,
      isHead: ex.isHead,
      status: result.meta.status,
      declaredLength: result.meta.contentLength,
      completeLength,
      appWantsClose: (result.meta.flags & FLAG_CONNECTION_CLOSE) !== 0,
    });
  }

  private sendComplete(ex: Exchange, result: HandleResult): void {
    const body = result.body;
    const framing = this.frame(ex, result, body.length);
    let keepAlive = framing.keepAlive;
    let sent: Buffer | undefined = body;
    if (framing.body === 'none') {
      sent = undefined;
    } else if (framing.body === 'length' && result.meta.contentLength >= 0 && result.meta.contentLength !== body.length) {
      // The app's Content-Length lies: send what it declared at most, then close,
      // so the client never reads the next response as part of this one.
      sent = body.subarray(0, Math.min(body.length, result.meta.contentLength));
      this.opts.log(`Content-Length mismatch on ${ex.method} ${ex.uri}: declared ${result.meta.contentLength}, generated ${body.length}\n`);
      keepAlive = false;
    }
    // head and body may be views of the shared region: copy them out now, once.
    const wire = serializeResponse(ex.protocol, result.head, framing.extraHeaders, sent);
    const headerBytes = wire.length - (sent?.length ?? 0);
    // Counted (and the core shown idle) before the client can have the response:
    // a stats read made once the client has it always includes it.
    this.done(ex, { status: result.meta.status, bodyBytes: body.length, headerCount: result.meta.headerCount, headerBytes, wireBytes: wire.length });
    ex.out.write([wire]);
    ex.out.finish(keepAlive);
  }

  private async sendStream(ex: Exchange, result: HandleResult): Promise<void> {
    const framing = this.frame(ex, result, -1);
    const head = serializeHead(ex.protocol, result.head, framing.extraHeaders);
    const chunked = framing.body === 'chunked';
    const silent = framing.body === 'none';
    let sent = 0;
    const emit = (chunk: Buffer): boolean => {
      sent += chunk.length;
      if (silent) return true;
      return ex.out.write(chunked ? chunkFrame(chunk) : [chunk]);
    };
    let writable = ex.out.write([head]);
    if (result.body.length > 0) writable = emit(result.body);
    for (;;) {
      if (!writable && !(await ex.out.drained())) break;
      if (ex.out.closed) break;
      const next = await this.pull(ex.core);
      if (next.kind === ResponseKind.Stream) {
        writable = emit(next.chunk);
        continue;
      }
      if (next.kind === ResponseKind.Broken && next.clientLeft === true) {
        ex.out.destroy(); // the app stopped because the client left: logged as a client that left mid-stream
        break;
      }
      const failed = next.kind !== ResponseKind.End;
      if (!failed) {
        if (chunked) ex.out.write(next.trailers !== undefined ? [LAST_CHUNK_WITH_TRAILERS, next.trailers, CRLF] : [lastChunk()]);
        const short = framing.body === 'length' && sent !== result.meta.contentLength;
        ex.out.finish(framing.keepAlive && !short);
      } else {
        ex.out.destroy(); // headers are out: closing is the only way to say "incomplete"
      }
      this.done(ex, { status: result.meta.status, bodyBytes: sent, headerCount: result.meta.headerCount, headerBytes: head.length, exception: failed });
      return;
    }
    // The client went away mid-stream: say so as uWSGI does, close() the app's iterable exactly once.
    const exception = this.clientGone(ex, 'uwsgi_response_write_body_do');
    await this.abort(ex.core);
    this.done(ex, { status: result.meta.status, bodyBytes: sent, headerCount: result.meta.headerCount, headerBytes: head.length, writeErrors: 1, exception });
  }

  /** Node opens the app's file, Python closes its iterable; the core is free once it has. */
  private sendFile(ex: Exchange, result: HandleResult): Promise<void> | undefined {
    // The head is a view of the shared region: serialize it before calling Python again.
    const framing = this.frame(ex, result, -1);
    const head = serializeHead(ex.protocol, result.head, framing.extraHeaders);
    let fd = -1;
    let closed: void | Promise<void>;
    try {
      fd = openSync(result.body.toString('latin1'), 'r');
    } finally {
      closed = this.abort(ex.core); // Python closes its file; we read through our own descriptor
    }
    const offset = result.meta.fileOffset;
    // Chunked (no Content-Length, HTTP/1.1): one chunk of the size fstat gives now, its header sent with the head.
    const chunkLength = framing.body === 'chunked' ? fileChunkLength(fd, offset) : undefined;
    ex.out.write(chunkLength !== undefined ? [head, ...fileChunkHeader(chunkLength)] : [head]);
    const outcome: Outcome = { status: result.meta.status, bodyBytes: 0, headerCount: result.meta.headerCount, headerBytes: head.length, via: 'sendfile' };
    const limit = result.meta.contentLength >= 0 ? result.meta.contentLength : Infinity;
    if (framing.body === 'none') {
      closeSync(fd);
      ex.out.finish(framing.keepAlive);
      this.done(ex, outcome);
    } else {
      const sent =
        framing.body !== 'chunked' ? sendFileBody(fd, offset, limit, ex, framing, outcome, this.opts.log)
        : chunkLength !== undefined ? sendFileBody(fd, offset, chunkLength, ex, framing, outcome, this.opts.log, true)
        : copyFile(fd, offset, ex, framing, outcome);
      void sent.then(() => {
        if (outcome.writeErrors !== undefined) outcome.exception = this.clientGone(ex, 'uwsgi_response_sendfile_do');
        this.done(ex, outcome);
      });
    }
    return closed === undefined ? undefined : closed;
  }

  protected sendAppError(ex: Exchange, headersSent: boolean): void {
    if (headersSent) ex.out.destroy();
    else {
      ex.out.write([errorResponse(ex.protocol, 500, 'Internal Server Error', false, this.opts.addedHeaders)]);
      ex.out.finish(false);
    }
    this.done(ex, { status: 500, bodyBytes: 0, headerCount: 0, headerBytes: 0, exception: true });
  }

  /** The client went away before its response was written: uWSGI's lines; true when it counts as an exception. */
  private clientGone(ex: Exchange, kind: WriteKind): boolean {
    const policy = this.opts.writeErrors ?? { ignoreSigpipe: false, ignoreWriteErrors: false, disableWriteException: false };
    return reportWriteError(policy, ex, ex.out.failure, kind, this.opts.log);
  }

  /** Every response ends here, once: the observer counts it (scoreboard), then the request log. */
  protected done(ex: Exchange, o: Outcome): void {
    const observer = this.opts.observer;
    observer?.finished(ex, o);
    const requestLog = this.opts.requestLog;
    if (requestLog === undefined || !requestLog.active) return;
    const counters = {
      workerId: this.opts.workerId,
      appRequests: observer?.appRequests(ex.appId) ?? 0,
      workerRequests: observer?.requests ?? 0,
      // --memory-report: measured after each request, as uWSGI does (one read of /proc/self/statm).
      memory: requestLog.memoryReport ? readProcessMemory(process.pid) : undefined,
    };
    requestLog.log(requestLogRecord(ex, o, counters));
  }
}

/**
 * threads = 1: Python runs on the event loop's thread, one request at a time,
 * as uWSGI's sync worker does. Requests that became ready in the same loop
 * turn run one after another in one pump; when the queue is empty and the core
 * free, `refill` may take one more connection from the kernel (accept4), so a
 * busy worker serves several requests per loop turn without ever accepting one
 * it cannot start at once.
 *
 * Complete responses of a pump are written in a batch (write-batch.ts) after
 * its last Python call, but a finished response is only held across a call
 * known to be short: the batch is flushed before a Python call unless the
 * call's request target (the URI) took under SLOW_CALL_MS last time, no call
 * took longer in the last SLOW_MEMORY_MS, and no response in the batch has
 * waited DEFER_MAX_MS yet. A slow call would hold the responses before it
 * (head-of-line blocking, issue 11); an unknown one might be slow.
 */
export class InlineRunner extends RunnerBase {
  private readonly bridge: PythonBridge;
  private readonly queue: Exchange[] = [];
  private busy = false;
  private scheduled = false;
  private pumping = false;
  /** performance.now() at the end of the last Python call that took over SLOW_CALL_MS. */
  private slowCallAt = -Infinity;
  /** How long the last call for each request target took, ms (cleared when it holds ROUTES_KEPT). */
  private readonly lastCallMs = new Map<string, number>();
  private static readonly ROUTES_KEPT = 4096;
  /** Takes one more queued connection (its request, if complete, arrives via submit); false when none. */
  refill: () => boolean = () => false;
  /** Told once per pump, before the first request enters Python (the loop blocks until the pump ends). */
  beforeRun: () => void = () => undefined;

  /** A Python call this long (ms) makes the app "slow" for SLOW_MEMORY_MS: no response is deferred past a call meanwhile. */
  private static readonly SLOW_CALL_MS = 1;
  private static readonly SLOW_MEMORY_MS = 1000;
  /** The longest a complete response may wait in the batch before the next Python call starts, ms. */
  private static readonly DEFER_MAX_MS = 1;

  constructor(bridge: PythonBridge, opts: RunnerOptions) {
    super(opts);
    this.bridge = bridge;
  }

  submit(ex: Exchange): void {
    this.queue.push(ex);
    if (!this.scheduled && !this.pumping) {
      this.scheduled = true;
      setImmediate(this.pumpLater);
    }
  }

  get freeCores(): number {
    return this.busy ? 0 : Math.max(0, 1 - this.queue.length);
  }

  get active(): boolean {
    return this.busy || this.queue.length > 0;
  }

  /** A streaming response holds the core across loop turns: accept nothing meanwhile. */
  get holdingCore(): boolean {
    return this.busy;
  }

  private readonly pumpLater = (): void => {
    this.scheduled = false;
    withWriteBatch(this.pumpNow);
  };

  private readonly pumpNow = (): void => this.pump();

  /** Most connections one pump takes from the kernel itself (the loop must still turn). */
  private static readonly REFILL_MAX = 7;

  private pump(): void {
    this.pumping = true;
    let refills = 0;
    let told = false;
    try {
      while (!this.busy) {
        const ex = this.queue.shift();
        if (ex === undefined) {
          if (refills < InlineRunner.REFILL_MAX && this.refill()) {
            refills++;
            // Its request is not all there yet: take no other one meanwhile (each would wait in this
            // worker for the core, and a kill -9 would lose it with the in-flight one).
            if (this.queue.length === 0) break;
            continue;
          }
          break;
        }
        if (!told) {
          told = true;
          this.beforeRun();
        }
        const pending = this.runOne(ex);
        if (pending !== undefined) {
          this.busy = true;
          this.onFull();
          void pending.finally(() => {
            this.busy = false;
            this.onCoreFree();
            withWriteBatch(this.pumpNow);
          });
        }
      }
    } finally {
      this.pumping = false;
    }
    if (!this.busy && this.queue.length === 0) {
      this.onCoreFree();
      this.notifyIdle();
    }
  }

  /** Returns a promise only when the response still holds the Python side (streaming). */
  private runOne(ex: Exchange): Promise<void> | undefined {
    // One clock read for the scoreboard's start and the call's timing.
    let started = performance.now();
    if (!this.begin(ex, 0, started)) return undefined;
    if (!this.knownShort(ex.uri, started)) {
      flushBatch();
      started = performance.now();
    }
    let result: HandleResult;
    try {
      result = this.bridge.handle(ex.uwsgiVars ?? ex.vars, this.schemeOf(ex), ex.body.finish(), ex.appId);
    } finally {
      ex.body.dispose();
      this.noteCall(ex.uri, started, performance.now());
    }
    // Streams, files and X-Sendfile need real writes (backpressure, sendfile on the descriptor).
    if (result.meta.kind !== ResponseKind.Complete || this.opts.appFile !== undefined) endBatch();
    return this.respond(ex, result);
  }

  /** Whether the responses in the batch may wait for this call (see the class comment). */
  private knownShort(uri: string, now: number): boolean {
    if (now - this.slowCallAt < InlineRunner.SLOW_MEMORY_MS || batchAgeMs(now) >= InlineRunner.DEFER_MAX_MS) return false;
    const last = this.lastCallMs.get(uri);
    return last !== undefined && last < InlineRunner.SLOW_CALL_MS;
  }

  private noteCall(uri: string, started: number, ended: number): void {
    const ms = ended - started;
    if (ms >= InlineRunner.SLOW_CALL_MS) this.slowCallAt = ended;
    if (this.lastCallMs.size >= InlineRunner.ROUTES_KEPT && !this.lastCallMs.has(uri)) this.lastCallMs.clear();
    this.lastCallMs.set(uri, ms);
  }

  pull(): PullResult {
    return this.bridge.pull();
  }

  abort(): void {
    this.bridge.abort();
  }
}

/**
 * A chunked file body whose size fstat(2) does not give (procfs, sysfs: size
 * 0, content there): read to its end, each read one chunk, as fast as the
 * client drains it.
 */
async function copyFile(fd: number, offset: number, ex: Exchange, framing: Framing, outcome: Outcome): Promise<void> {
  let position = offset;
  try {
    while (!ex.out.closed) {
      const buf = Buffer.allocUnsafe(FILE_CHUNK);
      const n = await readAt(fd, buf, position);
      if (n === 0) break;
      position += n;
      outcome.bodyBytes += n;
      if (!ex.out.write(chunkFrame(buf.subarray(0, n))) && !(await ex.out.drained())) {
        outcome.writeErrors = 1; // the client went away before the whole file was written
        return;
      }
    }
    if (ex.out.closed) {
      outcome.writeErrors = 1;
      return;
    }
    ex.out.write([lastChunk()]);
    ex.out.finish(framing.keepAlive);
  } catch {
    ex.out.destroy(); // a read error (EIO) mid-body: only a close says "incomplete"
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
