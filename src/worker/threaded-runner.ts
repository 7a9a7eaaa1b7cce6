import net from 'node:net';
import { koffi } from '../util/libc';
import { fdCalls, makePipe, type FdCalls } from '../util/fd-calls';
import { NuwsgiError } from '../util/errors';
import { coreThreadPlacement, type CoreThreadPlacement } from './core-placement';
import type { Exchange } from './exchange';
import type { HandleResult, PythonBridge, PullResult } from './python/bridge';
import { CMD_ABORT, CMD_HANDLE, CMD_PULL, ResponseKind } from './python/meta';
import { afterTurnWrites, deferInTurn } from './write-batch';
import { RunnerBase, type RunnerOptions } from './runner';
import { openRawPipe } from './transport';

/** One core: a Python thread, its region (in the bridge) and the eventfd that wakes it. */
interface Core {
  readonly id: number;
  /** The core's job eventfd: Node adds the command's number, the thread reads (and so resets) it. */
  readonly jobFd: number;
  /** The request it runs (and streams), or null when idle. */
  ex: Exchange | null;
  /** Called when the core's thread reports the command done (one command at a time per core). */
  waiting: (() => void) | null;
  /** A pull or abort the core's thread is running, if any: a core is idle only once it is done. */
  running: Promise<void> | null;
  /** The answer to HANDLE, read out of the region when the thread reported it. */
  result: HandleResult | null;
  /** Made once per core (no closure per request): HANDLE's completion, a complete response's write, the end of a response. */
  readonly onHandled: () => void;
  readonly respondComplete: () => void;
  readonly onResponded: () => void;
  readonly onResponseFailed: (err: unknown) => void;
}

/** eventfd(2) writes are 8-byte counters: a core has one command at a time, so the counter is the command. */
const COMMANDS = [0, CMD_HANDLE, CMD_PULL, CMD_ABORT].map((cmd) => {
  const b = Buffer.alloc(8);
  b.writeUInt8(cmd, 0); // little-endian u64
  return b;
});
const O_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = O_CLOEXEC;
/** Core ids travel as one byte through the completion pipe. */
export const MAX_CORES = 256;

/**
 * threads = N: one Python thread per core (docs/architecture.md, "Dispatch and
 * cores"). Node writes a request into the core's region and the command into
 * its job eventfd; the thread takes the GIL, runs the app, and writes its core
 * id into the completion pipe, which Node reads as a stream (several ids per
 * read when several cores finished meanwhile). The event loop never takes the
 * GIL and never waits for Python.
 *
 * Why an eventfd and not a pipe for jobs: a pipe write is a "synchronous"
 * wake-up to the kernel (the writer is expected to sleep next), so the woken
 * core thread was queued on Node's own CPU and preempted the event loop in the
 * middle of its turn; a CPU profile showed half of the loop's time inside
 * those write(2)s. An eventfd wakes the thread like any other event: it runs
 * on a free CPU and the loop finishes its turn (docs/architecture.md,
 * "Performance notes"). With --threads-follow-loop (the default) that CPU is
 * the loop's own (core-placement.ts): a wake-up across CPUs costs several
 * times one on the same CPU.
 */
export class ThreadedRunner extends RunnerBase {
  private readonly bridge: PythonBridge;
  private readonly cores: Core[] = [];
  private readonly idle: Core[] = [];
  private readonly queue: Exchange[] = [];
  private readonly write = coreWrite();
  /**
   * Takes one connection that queued in the kernel while this worker was not
   * watching its listeners (accept4, never waits); false when none. Set by
   * the worker.
   */
  refill: () => boolean = () => false;

  /** --threads-follow-loop: keeps the cores on the loop's CPU (core-placement.ts); null when off. */
  private readonly placement: CoreThreadPlacement | null;

  constructor(bridge: PythonBridge, cores: number, stackKiB: number, opts: RunnerOptions, followLoop = false) {
    super(opts);
    if (cores > MAX_CORES) throw new NuwsgiError('E_CONFIG', `threads: at most ${MAX_CORES} per worker`);
    this.bridge = bridge;
    const jobReadFds: number[] = [];
    for (let id = 0; id < cores; id++) {
      const jobFd = makeEventFd();
      jobReadFds.push(jobFd);
      const core = this.newCore(id, jobFd);
      this.cores.push(core);
      this.idle.push(core);
    }
    const [doneRead, doneWrite] = makePipe();
    const tids = bridge.startCores(jobReadFds, doneWrite, stackKiB, followLoop);
    this.placement = followLoop ? coreThreadPlacement(tids, opts.log) : null;
    this.readCompletions(doneRead);
  }

  /** Each byte in the completion pipe is the id of a core whose command is done. */
  private readCompletions(fd: number): void {
    const onIds = (ids: Buffer): void => {
      for (let i = 0; i < ids.length; i++) this.completed(ids[i] as number);
    };
    const raw = openRawPipe(fd);
    if (raw !== null) {
      const log = this.opts.log;
      raw.start({ data: onIds, end: () => log('core completion pipe closed\n'), drain: () => undefined, close: () => undefined });
      raw.resume();
      return;
    }
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.on('data', onIds);
    socket.on('error', (err) => this.opts.log(`core completion pipe: ${err.message}\n`));
    socket.unref(); // the worker's lifetime is the master's business
  }

  get freeCores(): number {
    return Math.max(0, this.idle.length - this.queue.length);
  }

  get busyCores(): number {
    return this.cores.length - this.idle.length;
  }

  get active(): boolean {
    return this.idle.length < this.cores.length || this.queue.length > 0;
  }

  submit(ex: Exchange): void {
    this.queue.push(ex);
    this.startQueued();
  }

  private newCore(id: number, jobFd: number): Core {
    const core: Core = {
      id, jobFd, ex: null, waiting: null, running: null, result: null,
      onHandled: () => this.handled(core),
      respondComplete: () => this.respondComplete(core),
      onResponded: () => this.release(core),
      onResponseFailed: (err: unknown) => {
        this.responseFailed(core, err);
        this.release(core);
      },
    };
    return core;
  }

  private startQueued(): void {
    let freed = false;
    while (this.queue.length > 0 && this.idle.length > 0) {
      const core = this.idle.pop() as Core;
      const ex = this.queue.shift() as Exchange;
      if (!this.start(core, ex)) {
        this.idle.push(core); // nothing reached Python: the core takes the next one in this same loop
        freed = true;
      }
    }
    if (this.freeCores === 0) this.onFull();
    if (freed) {
      this.onCoreFree();
      this.notifyIdle();
    }
  }

  /**
   * A request enters its core, driven by the core's completions rather than
   * an async function: no promise, closure or microtask per request (as the
   * ASGI runner's handle()). HANDLE's completion → handled(); the response's
   * end → release(). False when nothing reached Python (the core is free).
   */
  private start(core: Core, ex: Exchange): boolean {
    if (!this.begin(ex, core.id)) return false;
    core.ex = ex;
    try {
      this.bridge.writeCoreRequest(core.id, ex.uwsgiVars ?? ex.vars, this.schemeOf(ex), ex.body.finish(), ex.appId);
      core.waiting = core.onHandled;
      this.wake(core, CMD_HANDLE);
    } catch (err) {
      // Nothing reached the app (the request did not fit the region...): a 500, counted once.
      core.waiting = null;
      this.opts.log(`core ${core.id}: ${(err as Error).message}\n`);
      this.sendAppError(ex, false);
      ex.body.dispose();
      core.ex = null;
      return false;
    }
    return true;
  }

  /** HANDLE is done: the response starts (or is whole). */
  private handled(core: Core): void {
    const ex = core.ex as Exchange;
    ex.body.dispose(); // Python has opened a spooled body by now
    let pending: Promise<void> | undefined;
    let deferred = false;
    try {
      const result = this.bridge.coreResult(core.id);
      if (result.meta.kind === ResponseKind.Complete && this.opts.appFile === undefined) {
        core.result = result;
        deferInTurn(core.respondComplete);
        deferred = true;
      } else {
        pending = this.respond(ex, result);
      }
    } catch (err) {
      this.responseFailed(core, err);
    }
    // A deferred response frees its core once it is written, at the end of this turn: the core's next
    // connection is not taken before, so a worker never holds more requests than it has cores, and a
    // kill -9 loses at most one per core (concurrency.test.ts; it lost a third when the refill came first).
    if (deferred) afterTurnWrites(core.onResponded);
    else if (pending === undefined) this.release(core);
    else pending.then(core.onResponded, core.onResponseFailed);
  }

  /**
   * A complete response is written at the end of this loop turn, with the
   * others completed in it (write-batch.ts): the write wakes the client, and a
   * local one (nginx, a benchmark) would otherwise preempt the event loop in
   * the middle of its turn, once per response.
   */
  private respondComplete(core: Core): void {
    const result = core.result as HandleResult;
    core.result = null;
    this.respond(core.ex as Exchange, result);
  }

  private responseFailed(core: Core, err: unknown): void {
    core.result = null;
    this.opts.log(`core ${core.id}: ${(err as Error).message}\n`);
    core.ex?.out.destroy();
  }

  /** The response is over: the core serves the next request (once a pull or abort still running is done). */
  private release(core: Core): void {
    if (core.running !== null) {
      void core.running.then(core.onResponded); // e.g. an abort still closing the app's file
      return;
    }
    core.ex = null;
    this.idle.push(core);
    this.startQueued();
    this.refillCores();
    this.onCoreFree();
    this.notifyIdle();
  }

  /**
   * A core is free and no request waits here: take a connection the kernel
   * queued while the listeners were paused now, as a uWSGI thread accepts as
   * soon as it finishes, instead of resuming the listener and waiting for the
   * next epoll (and its wake-up on a busy machine: behind nginx, with every
   * core busy, 0.4-1.5 ms from a completion to its core's next request). Its
   * request, when already there, reaches submit() within the call. At most
   * one connection per free core.
   */
  private refillCores(): void {
    for (let free = this.freeCores; free > 0 && this.refill(); free--);
  }

  /** A pull or abort (streams, files): these few await their answer. */
  private command(core: Core, command: number): Promise<void> {
    const running = new Promise<void>((resolve) => (core.waiting = resolve));
    try {
      this.wake(core, command);
    } catch (err) {
      core.waiting = null;
      return Promise.reject(err as Error);
    }
    core.running = running;
    return running;
  }

  /**
   * The command into the core's eventfd: the thread wakes and runs it.
   * write(2) through koffi: 0.2 µs less per call than fs.writeSync's binding
   * and checks (docs/architecture.md, "Threads: the loop's per-request path").
   */
  private wake(core: Core, command: number): void {
    this.placement?.follow();
    if (this.write(core.jobFd, COMMANDS[command] as Buffer, 8) !== 8) {
      throw new NuwsgiError('E_PYTHON_INIT', `core ${core.id}: eventfd write failed (errno ${koffi.errno()})`);
    }
  }

  private completed(id: number): void {
    const core = this.cores[id];
    const next = core?.waiting;
    if (core === undefined || next === null || next === undefined) return;
    core.waiting = null;
    core.running = null;
    next();
  }

  async pull(id: number): Promise<PullResult> {
    await this.command(this.cores[id] as Core, CMD_PULL);
    return this.bridge.corePull(id);
  }

  async abort(id: number): Promise<void> {
    await this.command(this.cores[id] as Core, CMD_ABORT);
  }

  /** What each core is running, for diagnostics. */
  coreRequests(): Array<Exchange | null> {
    return this.cores.map((c) => c.ex);
  }
}

/** write(2) for the cores' eventfds (fd-calls.ts); the threads need koffi anyway (eventfd, pipe2). */
function coreWrite(): FdCalls['write'] {
  const calls = fdCalls();
  if (calls === null) throw new NuwsgiError('E_PYTHON_INIT', 'cannot load libc through koffi for the core threads');
  return calls.write;
}

type EventFd = (initval: number, flags: number) => number;
let eventfdFn: EventFd | undefined;

/** A blocking eventfd (a core thread blocks reading it); Node writes it and never reads it. */
export function makeEventFd(): number {
  eventfdFn ??= koffi.load('libc.so.6').func('int eventfd(unsigned int initval, int flags)') as EventFd;
  const fd = eventfdFn(0, EFD_CLOEXEC);
  if (fd < 0) throw new NuwsgiError('E_PYTHON_INIT', `eventfd() failed (errno ${koffi.errno()})`);
  return fd;
}
