import net from 'node:net';
import { writeSync } from 'node:fs';
import { koffi } from '../util/libc';
import { NuwsgiError } from '../util/errors';
import type { Exchange } from './exchange';
import type { PythonBridge, PullResult } from './python/bridge';
import { CMD_ABORT, CMD_HANDLE, CMD_PULL } from './python/meta';
import { RunnerBase, type RunnerOptions } from './runner';
import { openRawPipe } from './transport';

/** One core: a Python thread, its region (in the bridge) and the pipe that wakes it. */
interface Core {
  readonly id: number;
  /** Node's end of the core's job pipe. */
  readonly jobFd: number;
  /** The request it runs (and streams), or null when idle. */
  ex: Exchange | null;
  /** Resolves when the core's thread reports the command done. */
  waiting: (() => void) | null;
  /** The command the core's thread is running, if any: a core is idle only once it is done. */
  running: Promise<void> | null;
}

const COMMANDS = [Buffer.from([0]), Buffer.from([CMD_HANDLE]), Buffer.from([CMD_PULL]), Buffer.from([CMD_ABORT])];
const O_CLOEXEC = 0o2000000;
/** Core ids travel as one byte through the completion pipe. */
export const MAX_CORES = 256;

/**
 * threads = N: one Python thread per core (docs/architecture.md, "Dispatch and
 * cores"). Node writes a request into the core's region and one command byte
 * into its job pipe; the thread takes the GIL, runs the app, and writes its
 * core id into the completion pipe, which Node reads as a stream. The event
 * loop never takes the GIL and never waits for Python.
 */
export class ThreadedRunner extends RunnerBase {
  private readonly bridge: PythonBridge;
  private readonly cores: Core[] = [];
  private readonly idle: Core[] = [];
  private readonly queue: Exchange[] = [];


  constructor(bridge: PythonBridge, cores: number, stackKiB: number, opts: RunnerOptions) {
    super(opts);
    if (cores > MAX_CORES) throw new NuwsgiError('E_CONFIG', `threads: at most ${MAX_CORES} per worker`);
    this.bridge = bridge;
    const jobReadFds: number[] = [];
    for (let id = 0; id < cores; id++) {
      const [read, write] = makePipe();
      jobReadFds.push(read);
      const core: Core = { id, jobFd: write, ex: null, waiting: null, running: null };
      this.cores.push(core);
      this.idle.push(core);
    }
    const [doneRead, doneWrite] = makePipe();
    bridge.startCores(jobReadFds, doneWrite, stackKiB);
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

  private startQueued(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const core = this.idle.pop() as Core;
      const ex = this.queue.shift() as Exchange;
      void this.run(core, ex);
    }
    if (this.freeCores === 0) this.onFull();
  }

  private async run(core: Core, ex: Exchange): Promise<void> {
    try {
      if (!this.begin(ex, core.id)) return;
      core.ex = ex;
      try {
        this.bridge.writeCoreRequest(core.id, ex.vars, this.schemeOf(ex), ex.body.finish(), ex.appId);
        await this.command(core, CMD_HANDLE);
      } catch (err) {
        // Nothing reached the app (the request did not fit the region...): a 500, counted once.
        this.opts.log(`core ${core.id}: ${(err as Error).message}\n`);
        this.sendAppError(ex, false);
        return;
      } finally {
        ex.body.dispose(); // Python has opened a spooled body by now
      }
      try {
        const pending = this.respond(ex, this.bridge.coreResult(core.id));
        if (pending !== undefined) await pending;
      } catch (err) {
        this.opts.log(`core ${core.id}: ${(err as Error).message}\n`);
        ex.out.destroy();
      }
    } finally {
      if (core.running !== null) await core.running; // e.g. an abort still closing the app's file
      core.ex = null;
      this.idle.push(core);
      this.startQueued();
      this.onCoreFree();
      this.notifyIdle();
    }
  }

  private command(core: Core, command: number): Promise<void> {
    const running = new Promise<void>((resolve) => {
      core.waiting = resolve;
      writeSync(core.jobFd, COMMANDS[command] as Buffer);
    });
    core.running = running;
    return running;
  }

  private completed(id: number): void {
    const core = this.cores[id];
    const resolve = core?.waiting;
    if (core === undefined || resolve === null || resolve === undefined) return;
    core.waiting = null;
    core.running = null;
    resolve();
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

type Pipe2 = (fds: number[], flags: number) => number;
let pipe2Fn: Pipe2 | undefined;

/** A blocking pipe (Python's thread blocks reading it); Node's side is made non-blocking by libuv where it reads. */
export function makePipe(): [number, number] {
  pipe2Fn ??= koffi.load('libc.so.6').func('int pipe2(_Out_ int *fds, int flags)') as Pipe2;
  const fds = [-1, -1];
  if (pipe2Fn(fds, O_CLOEXEC) !== 0) throw new NuwsgiError('E_PYTHON_INIT', `pipe2() failed (errno ${koffi.errno()})`);
  return [fds[0] as number, fds[1] as number];
}
