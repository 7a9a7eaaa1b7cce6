import net from 'node:net';
import { closeSync } from 'node:fs';
import type { Exchange } from '../exchange';
import type { PythonBridge, PullResult } from '../python/bridge';
import { RunnerBase, type RunnerOptions } from '../runner';
import { openRawPipe } from '../transport';
import { makePipe } from '../../util/fd-calls';
import { dropPages } from '../../util/reclaim';
import { JobWriter, makeJobPipe } from './job-pipe';
import { NuwsgiError } from '../../util/errors';
import { WebSocketSession, type WsSettings } from './websocket-session';
import { ASGI_CMD, ASGI_EV, BODY_AREA, BODY_KIND, BODY_PIECE, GONE_RAISED, GONE_STATUS, HINT_AT, MAX_SLOTS, EventReader } from './protocol';
import { ResponseKind, readMeta } from '../python/meta';
import { fixChunkedLength } from '../http-adapter';
import { scopeFlags, writeScope } from './scope';

/** What the loop thread needs to start (python/_nuwsgi_asgi.py's start()). */
export interface AsgiSettings {
  /** Requests in flight per worker (--asgi-concurrency): one slot each. */
  concurrency: number;
  lifespan: 'auto' | 'on' | 'off';
  loop: 'auto' | 'asyncio' | 'uvloop';
  /** --threads: the default executor's size (run_in_executor, sync endpoints). */
  threads: number;
  /** --ws-*: WebSockets (always on for ASGI apps). */
  ws: WsSettings;
}

/** A request in flight: its region (in the bridge) and what Node waits for. */
interface Slot {
  readonly id: number;
  ex: Exchange | null;
  /** Resolves the command the loop thread is answering (one at a time per slot). */
  answered: (() => void) | null;
  /** Resolves once the app's task is over (EV_FREE). */
  freed: (() => void) | null;
  /** The WebSocket the slot serves: every event of the slot is its. */
  ws: WebSocketSession | null;
  /** An ASGI HTTP request (handle()): its response is over, its task is over (EV_FREE). */
  responded: boolean;
  taskOver: boolean;
  /** Its region was written since releaseIdleMemory() last gave its pages back. */
  used: boolean;
  /** Made once per slot (no closure per request): handle()'s answers to EV_ANSWER and EV_FREE, and the client leaving. */
  readonly onHandled: () => void;
  readonly onFreed: () => void;
  readonly onClientGone: () => void;
}

/**
 * ASGI: one asyncio loop on its own Python thread (docs/asgi.md). Node writes
 * a request into a free slot's region and a 4-byte command into the loop's
 * job pipe; the loop runs the app as a task and answers through the
 * completion pipe. Up to `concurrency` requests run at once; past it the
 * worker stops accepting and connections wait in the kernel's backlog.
 */
export class AsgiRunner extends RunnerBase {
  private readonly bridge: PythonBridge;
  private readonly slots: Slot[] = [];
  private readonly idle: Slot[] = [];
  private readonly queue: Exchange[] = [];
  private readonly jobFd: number;
  private readonly interfaces: string[];
  private stopped: (() => void) | null = null;
  private readonly ws: WsSettings;
  /** Commands of this tick, written to the job pipe at once (one write, one wake-up of the loop). */
  private readonly jobs: JobWriter;

  constructor(bridge: PythonBridge, settings: AsgiSettings, interfaces: string[], opts: RunnerOptions) {
    super(opts);
    if (settings.concurrency > MAX_SLOTS) throw new NuwsgiError('E_CONFIG', `asgi-concurrency: at most ${MAX_SLOTS}`);
    this.bridge = bridge;
    this.interfaces = interfaces;
    this.ws = settings.ws;
    bridge.growRegions(settings.concurrency);
    for (let id = settings.concurrency - 1; id >= 0; id--) this.idle.push(this.newSlot(id));
    this.slots = [...this.idle].reverse();
    const [jobRead, jobWrite] = makeJobPipe();
    const [doneRead, doneWrite] = makePipe();
    this.jobFd = jobWrite;
    this.jobs = new JobWriter(jobWrite);
    this.readEvents(doneRead);
    const failure = bridge.callAsgi(
      'start',
      JSON.stringify({ jobFd: jobRead, doneFd: doneWrite, interfaces, lifespan: settings.lifespan, loop: settings.loop, threads: settings.threads }),
    );
    if (failure === null) throw new NuwsgiError('E_APP_LOAD', 'the ASGI loop did not start (see the traceback above)', 22);
    if (failure !== '') throw new NuwsgiError('E_APP_LOAD', `ASGI ${failure}\n*** no app loaded. GAME OVER ***`, 22);
  }

  private newSlot(id: number): Slot {
    const slot: Slot = {
      id, ex: null, answered: null, freed: null, ws: null, responded: false, taskOver: false, used: false,
      onHandled: () => this.handled(slot),
      onFreed: () => this.taskEnded(slot),
      onClientGone: () => this.send(ASGI_CMD.GONE, id),
    };
    return slot;
  }

  private readEvents(fd: number): void {
    const reader = new EventReader((slot, event) => this.onEvent(slot, event));
    const onData = (data: Buffer): void => reader.push(data);
    const raw = openRawPipe(fd);
    if (raw !== null) {
      const log = this.opts.log;
      raw.start({ data: onData, end: () => log('ASGI completion pipe closed\n'), drain: () => undefined, close: () => undefined });
      raw.resume();
      return;
    }
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.on('data', onData);
    socket.on('error', (err) => this.opts.log(`ASGI completion pipe: ${err.message}\n`));
    socket.unref();
  }

  private onEvent(id: number, event: number): void {
    if (event === ASGI_EV.STOPPED) {
      const stopped = this.stopped;
      this.stopped = null;
      stopped?.();
      return;
    }
    const slot = this.slots[id];
    if (slot === undefined) return;
    if (slot.ws !== null) {
      slot.ws.onEvent(event);
      return;
    }
    if (event === ASGI_EV.RECEIVE) {
      this.receive(slot);
      return;
    }
    if (event === ASGI_EV.HINT) {
      this.earlyHint(slot);
      return;
    }
    const pending = event === ASGI_EV.ANSWER ? slot.answered : slot.freed;
    if (event === ASGI_EV.ANSWER) slot.answered = null;
    else slot.freed = null;
    pending?.();
  }

  get freeCores(): number {
    return Math.max(0, this.idle.length - this.queue.length);
  }

  get busyCores(): number {
    return this.slots.length - this.idle.length;
  }

  get active(): boolean {
    return this.idle.length < this.slots.length || this.queue.length > 0;
  }

  submit(ex: Exchange): void {
    this.queue.push(ex);
    this.startQueued();
  }

  private startQueued(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      this.start(this.idle.pop() as Slot, this.queue.shift() as Exchange);
    }
    if (this.freeCores === 0) this.onFull();
  }

  private start(slot: Slot, ex: Exchange): void {
    slot.used = true;
    if (!this.begin(ex, slot.id)) {
      queueMicrotask(() => this.release(slot, ex)); // not from inside startQueued's loop: no recursion per closed client
      return;
    }
    slot.ex = ex;
    if (ex.upgrade === undefined && this.interfaces[ex.appId] === 'asgi') this.handle(slot, ex);
    else void this.runOther(slot, ex);
  }

  /**
   * An ASGI HTTP request, the common case, driven by the slot's events
   * rather than an async function: no promise, closure or microtask per
   * request. EV_ANSWER → handled(), EV_FREE → taskEnded(); the slot is free
   * once both the response and the app's task are over.
   */
  private handle(slot: Slot, ex: Exchange): void {
    try {
      this.writeRequest(slot, ex, true);
    } catch (err) {
      this.opts.log(`ASGI slot ${slot.id}: ${(err as Error).message}\n`);
      this.sendAppError(ex, false);
      ex.body.dispose();
      queueMicrotask(() => this.release(slot, ex));
      return;
    }
    slot.responded = false;
    slot.taskOver = false;
    slot.answered = slot.onHandled;
    slot.freed = slot.onFreed;
    this.send(ASGI_CMD.HANDLE, slot.id);
    ex.clientGone = slot.onClientGone;
  }

  /** EV_ANSWER to HANDLE: the response starts (or is whole). */
  private handled(slot: Slot): void {
    const ex = slot.ex as Exchange;
    ex.body.dispose(); // the loop has opened a spooled body by now
    let pending: Promise<void> | undefined;
    try {
      const result = this.bridge.coreResult(slot.id);
      if (result.meta.kind === ResponseKind.Error && result.meta.status === GONE_STATUS) this.clientLeft(ex, (result.meta.flags & GONE_RAISED) !== 0);
      else pending = this.respond(ex, result);
    } catch (err) {
      this.responseFailed(slot, ex, err);
    }
    if (pending === undefined) this.responseOver(slot, ex);
    else pending.then(() => this.responseOver(slot, ex), (err: unknown) => { this.responseFailed(slot, ex, err); this.responseOver(slot, ex); });
  }

  /**
   * The client left before any response and the app stopped: nothing to
   * write, the connection closes. Logged as 499 (nginx's "client closed
   * request", as a WebSocket whose client left before the handshake's answer).
   */
  private clientLeft(ex: Exchange, raised: boolean): void {
    ex.out.destroy();
    this.done(ex, { status: GONE_STATUS, bodyBytes: 0, headerCount: 0, headerBytes: 0, exception: raised });
  }

  private responseFailed(slot: Slot, ex: Exchange, err: unknown): void {
    this.opts.log(`ASGI slot ${slot.id}: ${(err as Error).message}\n`);
    ex.out.destroy();
  }

  private responseOver(slot: Slot, ex: Exchange): void {
    ex.clientGone = undefined;
    ex.stream?.fail(); // a receive() still waiting must not answer the slot's next request
    slot.responded = true;
    if (slot.taskOver) this.release(slot, ex);
  }

  /** EV_FREE: the app's task is over (it may outlive its response: background tasks). */
  private taskEnded(slot: Slot): void {
    slot.taskOver = true;
    if (slot.responded) this.release(slot, slot.ex as Exchange);
  }

  /** The slot serves the next request. */
  private release(slot: Slot, ex: Exchange): void {
    ex.clientGone = undefined;
    ex.stream?.fail();
    slot.ex = null;
    this.idle.push(slot);
    this.startQueued();
    this.onCoreFree();
    this.notifyIdle();
  }

  /**
   * After a burst (the worker's memory trim, src/worker/memory-trim.ts): the
   * idle slots used since the last call give their regions' pages back. A
   * region keeps every page a request touched (its scope and the body that
   * had arrived with it at the start, body pieces at the end), and that is
   * allocated memory no malloc_trim returns: after 300 held uploads the idle
   * slots kept 19-37 MiB, depending on how much of each body had arrived
   * before its request reached the app (timing), so a second burst under load
   * could leave the worker 12-17 MiB above the first (asgi-bodies.test.ts). A
   * region's content is written before each command, never read from an
   * earlier request: zeroed pages are as good.
   */
  releaseIdleMemory(): void {
    for (const slot of this.idle) {
      if (!slot.used) continue;
      slot.used = false;
      dropPages(this.bridge.slotRegion(slot.id));
    }
  }

  /** A WebSocket, or a WSGI app mounted beside the ASGI ones. */
  private async runOther(slot: Slot, ex: Exchange): Promise<void> {
    let taskOver: Promise<void> = Promise.resolve();
    try {
      if (ex.upgrade !== undefined && this.interfaces[ex.appId] === 'asgi') {
        await this.runWebSocket(slot, ex);
        return;
      }
      if (ex.stream !== undefined && !(await this.collectBody(ex))) return;
      try {
        this.writeRequest(slot, ex, false);
        taskOver = new Promise<void>((resolve) => (slot.freed = resolve));
        await this.command(slot, ASGI_CMD.HANDLE);
      } catch (err) {
        this.opts.log(`ASGI slot ${slot.id}: ${(err as Error).message}\n`);
        slot.freed = null;
        taskOver = Promise.resolve();
        this.sendAppError(ex, false);
        return;
      } finally {
        ex.body.dispose();
      }
      try {
        const pending = this.respond(ex, this.bridge.coreResult(slot.id));
        if (pending !== undefined) await pending;
      } catch (err) {
        this.responseFailed(slot, ex, err);
      }
    } finally {
      await taskOver; // the app's task may outlive its response (background tasks)
      this.release(slot, ex);
    }
  }

  /**
   * A WebSocket holds its slot (one of --asgi-concurrency) until the app's
   * task is over, as a request in flight does; never a thread.
   */
  private async runWebSocket(slot: Slot, ex: Exchange): Promise<void> {
    const upgrade = ex.upgrade as NonNullable<Exchange['upgrade']>;
    const host = {
      command: (command: number) => this.send(command, slot.id),
      region: this.bridge.slotRegion(slot.id),
      outData: () => this.bridge.slotData(slot.id),
      outLength: () => this.bridge.slotDataLength(slot.id),
      copyOut: (target: Buffer, at: number) => this.bridge.copySlotData(slot.id, target, at),
      log: this.opts.log,
      opened: () => this.opts.observer?.detached?.(ex),
    };
    const session = new WebSocketSession(host, ex, upgrade, this.ws);
    slot.ws = session;
    try {
      const scheme = this.schemeOf(ex);
      await session.run(() => this.bridge.writeCoreScope(slot.id, (w) => writeScope(w, ex, scheme), null, ex.appId, 0));
    } finally {
      slot.ws = null;
      ex.body.dispose();
      this.done(ex, session.outcome);
    }
  }

  /** An ASGI app gets its scope's pieces (src/worker/asgi/scope.ts); a WSGI app mounted beside it, its environ. */
  private writeRequest(slot: Slot, ex: Exchange, asgi: boolean): void {
    const scheme = this.schemeOf(ex);
    const body = ex.body.finish();
    if (asgi) this.bridge.writeCoreScope(slot.id, (w) => writeScope(w, ex, scheme), body, ex.appId, scopeFlags(ex));
    else this.bridge.writeCoreRequest(slot.id, ex.vars, scheme, body, ex.appId);
  }

  /** Draining (reload, recycling, stop): open WebSockets get Close 1012, their apps websocket.disconnect. */
  override stopKeepingAlive(): void {
    super.stopKeepingAlive();
    for (const slot of this.slots) slot.ws?.shutdown();
  }

  /** A WSGI app mounted in an ASGI worker reads its body whole: collect the rest first. False when it never came. */
  private async collectBody(ex: Exchange): Promise<boolean> {
    const whole = await (ex.stream as NonNullable<Exchange['stream']>).collectInto(ex.body);
    if (!whole) {
      ex.body.dispose();
      this.sendAppError(ex, false); // the connection is gone or answered already: this only counts it
      return false;
    }
    fixChunkedLength(ex);
    return true;
  }

  /**
   * The app awaits receive() on a streamed body: the next piece goes into the
   * slot's body area once there is one (the socket is read meanwhile, up to
   * the stream's high-water mark).
   */
  private receive(slot: Slot): void {
    const ex = slot.ex;
    const answer = (kind: number, data?: Buffer): void => {
      if (slot.ex !== ex) return; // the request is over: its slot may serve another now
      const region = this.bridge.slotRegion(slot.id);
      const at = region.length - BODY_AREA;
      region.writeUInt32LE(kind, at);
      region.writeUInt32LE(data?.length ?? 0, at + 4);
      data?.copy(region, at + 8);
      this.send(ASGI_CMD.BODY, slot.id);
    };
    const stream = ex?.stream;
    if (stream === undefined) {
      answer(BODY_KIND.GONE);
      return;
    }
    void stream.take(BODY_PIECE).then((piece) => {
      if (piece === null) answer(BODY_KIND.GONE);
      else answer(piece.last ? BODY_KIND.LAST : BODY_KIND.MORE, piece.data);
    });
  }

  /**
   * http.response.early_hint: the framed 103 goes out before the response
   * (advertised only to HTTP/1.1 clients of the HTTP socket, see scopeFlags in scope.ts).
   * Always answered, so the app's send() never waits for a client that left.
   */
  private earlyHint(slot: Slot): void {
    const ex = slot.ex;
    if (ex !== null && !ex.raw && ex.clientHttp11) {
      const region = this.bridge.slotRegion(slot.id);
      const length = region.readUInt32LE(0);
      if (length <= region.length - BODY_AREA - HINT_AT) ex.out.interim?.(Buffer.from(region.subarray(HINT_AT, HINT_AT + length)));
    }
    this.send(ASGI_CMD.HINTED, slot.id);
  }

  private command(slot: Slot, command: number): Promise<void> {
    return new Promise<void>((resolve) => {
      slot.answered = resolve;
      this.send(command, slot.id);
    });
  }

  /** Queue a command for the loop thread (JobWriter: one write per turn of Node's loop). */
  private send(command: number, slot: number): void {
    const ex = this.slots[slot]?.ex;
    if (ex != null) ex.switches = (ex.switches ?? 0) + 1; // each command wakes the request's task: the log's switches
    this.jobs.push(command, slot);
  }

  async pull(id: number): Promise<PullResult> {
    await this.command(this.slots[id] as Slot, ASGI_CMD.PULL);
    const result = this.bridge.corePull(id);
    if (result.kind === ResponseKind.Broken && readMeta(this.bridge.slotRegion(id)).status === GONE_STATUS) return { kind: ResponseKind.Broken, clientLeft: true };
    return result;
  }

  async abort(id: number): Promise<void> {
    await this.command(this.slots[id] as Slot, ASGI_CMD.ABORT);
  }

  /** Lifespan shutdown (after the last request): resolves when the apps have answered it. */
  shutdown(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.stopped = resolve;
      this.send(ASGI_CMD.SHUTDOWN, 0);
    });
  }

  /** What each slot is running, for diagnostics. */
  coreRequests(): Array<Exchange | null> {
    return this.slots.map((s) => s.ex);
  }

  /** Closing the job pipe ends the loop thread (tests; the worker simply exits). */
  close(): void {
    this.jobs.stop();
    closeSync(this.jobFd);
  }
}
