import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkerConfig, WorkerTemplate } from '../contracts/worker-config';
import { ctime } from '../worker/access-log';
import { createSharedMemory } from '../util/shm';
import { ScoreboardReader, rowCores, scoreboardBytes, scoreboardRows, type WorkerRow } from '../contracts/scoreboard';
import { listenerFor, stopListening, type BoundSocket } from './sockets';
import { TouchWatcher } from './touch';
import { ChurnReclaimer } from './reclaim';
import { LOG_REOPEN_MESSAGE, type MasterLogHooks } from '../logging/master-log';
import type { WorkerEvents } from './stats-feed';
import { cheaperAlgorithm, type CheaperAlgorithm, type CheaperSettings, type LoadSample } from './cheaper';
import { readProcessMemory } from '../stats/procfs';
import { ConnectionAlarm, IdleClock } from './idle';
import { WORKER_NODE_FLAGS } from '../util/node-flags';

/**
 * A worker process's life as the master sees it. Timers belong to states:
 * 'spawning' has none (a worker that never gets ready dies and is respawned
 * with a backoff), 'draining' gets SIGKILL when its mercy runs out.
 */
export type WorkerState = 'spawning' | 'ready' | 'draining' | 'dead';

interface WorkerProc {
  child: ChildProcess;
  pid: number;
  /** Its row in the scoreboard. */
  row: number;
  state: WorkerState;
  spawnedAt: number;
  /** When it was told to stop (drain or an immediate stop), for "buried after N seconds"; 0 = not yet. */
  stopAskedAt: number;
  mercyTimer: NodeJS.Timeout | null;
  harakiriTries: number;
  /** The scoreboard's busy time at the last load sample (cheaper mode). */
  lastBusyUs: number;
}

/** A worker id (1..processes): the process serving it now, and the ones it replaces that still drain. */
interface WorkerSlot {
  id: number;
  current: WorkerProc | null;
  /** A replacement booting: once ready it becomes current and the old one drains. */
  next: WorkerProc | null;
  draining: WorkerProc[];
  respawns: number;
  /** Consecutive deaths before ever becoming ready: drives the respawn backoff. */
  bootFailures: number;
  respawnTimer: NodeJS.Timeout | null;
  /** Cheaper mode stopped this slot's worker for lack of load: no respawn until load comes back. */
  cheaped: boolean;
}

export interface MasterOptions {
  processes: number;
  workerReloadMercyMs: number;
  /** Seconds a request may run before its worker is killed (0 = never). */
  harakiri: number;
  /** --harakiri-verbose: log what the worker was doing in the kernel and in Python first. */
  harakiriVerbose?: boolean;
  /** Files whose mtime change means: reload / chain reload / reload the workers. */
  touchReload: string[];
  touchChainReload: string[];
  touchWorkersReload: string[];
  log: (line: string) => void;
  /** Re-reads the configuration for a graceful reload (SIGHUP); null when it is broken. */
  reloadTemplate: () => WorkerTemplate | null;
  /** Every worker is ready and none is being replaced: after boot and after each reload (systemd, emperor). */
  onAllReady?: () => void;
  /** Told what happens to each worker (stats); also offered every IPC message first. */
  events?: WorkerEvents;
  /** Called once a second with the master's own checks (stats, listen queue). */
  onTick?: () => void;
  /** --evil-reload-on-rss, bytes (0 = off): the master SIGKILLs a worker above it, even one stuck in Python. */
  evilReloadOnRssBytes?: number;
  /** How a worker process is started; tests of the state machine pass a fake (default: child_process.fork). */
  forkWorker?: (modulePath: string, args: string[], options: ForkOptions) => ChildProcess;
  /** --cheaper and friends; undefined runs every worker all the time. */
  cheaper?: CheaperSettings;
  /** The log: workers' stdout/stderr relayed as whole lines, reopen, rotation (src/logging/master-log.ts). Absent: workers inherit stdio. */
  logging?: MasterLogHooks;
  /** Worker N's process title (--auto-procname: "uWSGI worker N"); undefined keeps the command line. */
  workerTitle?: (id: number) => string | undefined;
  /** A reload of the whole instance (the configuration re-read): attached daemons restart, as uWSGI's re-exec does. */
  onInstanceReload?: () => void;
  /** The longest listen queue of the sockets now (the backlog and busyness cheaper algorithms). */
  listenQueue?: () => number;
  /** The master begins to stop (either way): attached daemons are stopped meanwhile. */
  onStopping?: () => void;
  /** --cheap: no worker until the first connection arrives on a socket. */
  cheap?: boolean;
  /** --idle N (seconds; 0 = off): without a request for that long, stop the workers and go cheap. */
  idleSeconds?: number;
  /** --die-on-idle: what to do instead of going cheap (stop the instance, or ask the emperor to). */
  onIdleDeath?: () => void;
  /**
   * A connection is waiting as we start (an on-demand vassal: the emperor
   * started us for it): spawn one worker, the others once it is ready
   * (spawnFirstThenRest). Otherwise all at once, which readies the full set
   * sooner when the host has idle cores.
   */
  firstWorkerFirst?: boolean;
}

import type { WorkerMessage } from '../contracts/ipc';
export type { WorkerMessage } from '../contracts/ipc';

const WORKER_ENTRY = path.join(__dirname, '..', 'worker', 'main.js');
/** Exit code of a worker whose app cannot load (uWSGI's need-app code). */
const EXIT_NO_APP = 22;
const MAX_BACKOFF_MS = 30_000;
/** What a worker's faulthandler dumps the Python stacks on (python/_nuwsgi.py registers the same). */
export const TRACEBACK_SIGNAL = 'SIGPWR';
/** How long the dump may take before the SIGKILL. */
const TRACEBACK_GRACE_MS = 500;
/**
 * SIGINT/SIGQUIT: how long a worker has to exit before its SIGKILL. uWSGI's
 * workers die at once, mid-request; ours exit from the event loop, which an
 * inline worker inside a request (or a hung app) does not reach.
 */
const IMMEDIATE_STOP_GRACE_MS = 1000;
/** Share of a second spent in the app above which a worker counts as busy (cheaper mode). */
const BUSY_SHARE = 0.8;
/** fds 0-2 are stdio, 3 the IPC channel, 4 the scoreboard, then the sockets. */
const SCOREBOARD_FD = 4;
const FIRST_SOCKET_FD = 5;

/** Supervises the workers: spawns, replaces, reloads, kills the stuck ones, stops. */
export class Master {
  private readonly opts: MasterOptions;
  private readonly sockets: BoundSocket[];
  private template: WorkerTemplate;
  private readonly slots: WorkerSlot[] = [];
  private readonly scoreboard: { fd: number; bytes: number; rowCores: number; reader: ScoreboardReader; freeRows: number[] };
  private stopping: 'no' | 'graceful' | 'immediate' = 'no';
  private exitCode = 0;
  private resolveStopped: ((code: number) => void) | undefined;
  private everReady = false;
  private chain: number[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private readonly touch: TouchWatcher;
  private readonly cheaperAlgo: CheaperAlgorithm | undefined;
  private paused = false;
  private lastLoadSampleMs = Date.now();
  /** --idle: counts the seconds without a request. */
  private readonly idleClock: IdleClock | undefined;
  /** Cheap: every worker stopped, the sockets watched for the next connection (uWSGI's is_cheap). */
  private sleeping = false;
  private readonly wakeAlarm = new ConnectionAlarm();
  /** A full GC and malloc_trim once a minute at most, after worker churn (reclaim.ts). */
  private readonly reclaimer = new ChurnReclaimer();
  /** Slots whose first worker waits for another slot's first one to be ready (spawnFirstThenRest). */
  private readonly held: WorkerSlot[] = [];

  constructor(opts: MasterOptions, sockets: BoundSocket[], template: WorkerTemplate) {
    this.opts = opts;
    this.sockets = sockets;
    this.template = template;
    const rows = scoreboardRows(opts.processes);
    // Every ASGI slot is a core (harakiri and the stats see each request in flight): rows have room for them.
    const cores = rowCores(template.threads, template.asgi?.concurrency ?? 0);
    const bytes = scoreboardBytes(rows, cores);
    const shm = createSharedMemory('nuwsgi-scoreboard', bytes);
    this.scoreboard = { fd: shm.fd, bytes, rowCores: cores, reader: new ScoreboardReader(shm.memory, cores), freeRows: Array.from({ length: rows }, (_, i) => i) };
    this.cheaperAlgo = opts.cheaper === undefined ? undefined : cheaperAlgorithm(opts.cheaper, opts.log);
    this.idleClock = (opts.idleSeconds ?? 0) > 0 ? new IdleClock(opts.idleSeconds as number) : undefined;
    this.touch = new TouchWatcher([
      ...opts.touchReload.map((file) => ({ file, action: () => this.touched(file, 'grace them all', () => this.reload(true)) })),
      ...opts.touchChainReload.map((file) => ({ file, action: () => this.touched(file, 'chain reload', () => this.chainReload()) })),
      ...opts.touchWorkersReload.map((file) => ({ file, action: () => this.touched(file, 'workers reload', () => this.reload(false)) })),
    ]);
  }

  /** Spawn every worker; resolves with the exit code once the master has stopped. */
  run(): Promise<number> {
    this.opts.log(`spawned nuwsgi master process (pid: ${process.pid})`);
    const initial = this.opts.cheap === true ? 0 : (this.opts.cheaper?.initial ?? this.opts.processes);
    for (let id = 1; id <= this.opts.processes; id++) {
      const slot: WorkerSlot = { id, current: null, next: null, draining: [], respawns: 0, bootFailures: 0, respawnTimer: null, cheaped: id > initial };
      this.slots.push(slot);
      if (slot.cheaped) this.opts.events?.setCheaped(id, true);
    }
    const initialSlots = this.slots.filter((s) => !s.cheaped);
    if (this.opts.firstWorkerFirst === true) this.spawnFirstThenRest(initialSlots);
    else for (const slot of initialSlots) slot.current = this.spawn(slot);
    this.ticker = setInterval(() => this.tick(), 1000);
    if (this.opts.cheap === true) {
      this.sleep();
      // The sockets listen and a connection will be served: ready, for the emperor and systemd.
      this.opts.onAllReady?.();
    }
    return new Promise((resolve) => (this.resolveStopped = resolve));
  }

  // ------------------------------------------------------------------ commands

  /** SIGTERM: let every worker finish its requests, then exit 0. */
  stopGracefully(): void {
    if (this.stopping !== 'no') return;
    this.stopping = 'graceful';
    // First, before the log line and before the workers drain: no new connection enters, the last
    // worker to close the socket ends it (see stopListening). A client that reads the log line and
    // then connects (a test, a supervisor) is never queued on a socket about to close.
    for (const s of this.sockets) stopListening(s);
    this.opts.events?.stopping();
    this.opts.log('SIGTERM received: gracefully stopping workers...');
    this.opts.onStopping?.();
    if (this.paused) this.togglePause(); // a stopped process would never act on SIGTERM
    this.wakeAlarm.disarm();
    for (const proc of this.allProcs()) this.drain(proc);
    this.checkStopped();
  }

  /** SIGINT / SIGQUIT: stop now (a fatal hook passes the exit code). */
  stopNow(exitCode?: number): void {
    if (exitCode !== undefined) this.exitCode = exitCode;
    if (this.stopping === 'immediate') return;
    if (this.stopping === 'no') this.opts.onStopping?.();
    this.stopping = 'immediate';
    this.opts.events?.stopping();
    this.opts.log('SIGINT/SIGQUIT received...killing workers...');
    if (this.paused) this.togglePause();
    this.wakeAlarm.disarm();
    for (const proc of this.allProcs()) this.stopAtOnce(proc);
    this.checkStopped();
  }

  /** SIGINT now, SIGKILL if it is still there after IMMEDIATE_STOP_GRACE_MS (a drain's longer mercy is cut short). */
  private stopAtOnce(proc: WorkerProc): void {
    if (proc.state === 'dead') return;
    if (proc.stopAskedAt === 0) proc.stopAskedAt = Date.now();
    proc.child.kill('SIGINT');
    if (proc.mercyTimer !== null) clearTimeout(proc.mercyTimer);
    proc.mercyTimer = setTimeout(() => {
      this.opts.log(`worker (pid: ${proc.pid}) did not stop on SIGINT (busy in a request)...killing it`);
      proc.child.kill('SIGKILL');
    }, IMMEDIATE_STOP_GRACE_MS);
  }

  /**
   * SIGHUP: a graceful reload. With `rereadConfig` the configuration is read
   * again first (a broken one is refused and the running workers stay). Every
   * worker gets a replacement; each old one drains only once its replacement
   * is ready, and the listening sockets never close: no request is refused.
   */
  reload(rereadConfig: boolean): void {
    if (this.stopping !== 'no') return;
    if (rereadConfig && !this.rereadTemplate('graceful reload')) return;
    if (rereadConfig) this.opts.logging?.reloading(this.workersReopenLogs); // --log-reopen
    if (rereadConfig) this.opts.onInstanceReload?.();
    this.opts.events?.reloading();
    this.opts.log('...gracefully replacing workers (new ones first, then the old ones drain)...');
    for (const slot of this.slots) this.replace(slot);
  }

  /** A broken configuration is refused: the running workers stay. */
  private rereadTemplate(what: string): boolean {
    const template = this.opts.reloadTemplate();
    if (template === null) {
      this.opts.log(`${what} refused: the new configuration does not load (see above); the workers keep running`);
      return false;
    }
    this.template = template;
    return true;
  }

  /** FIFO `l`, --touch-logreopen: reopen the log file by path (after logrotate moved it); every worker follows. */
  reopenLogs(): void {
    this.opts.logging?.reopen(this.workersReopenLogs);
  }

  /** FIFO `L`, --touch-logrotate: rotate the log file now; every worker follows. */
  rotateLogs(): void {
    this.opts.logging?.rotate(this.workersReopenLogs);
  }

  private readonly workersReopenLogs = (): void => {
    for (const proc of this.allProcs()) if (proc.child.connected) proc.child.send(LOG_REOPEN_MESSAGE);
  };

  /** One worker at a time: the next goes only once the previous replacement is ready. */
  chainReload(): void {
    if (this.stopping !== 'no' || this.chain.length > 0) return;
    this.chain = this.slots.filter((s) => !s.cheaped).map((s) => s.id);
    this.chainNext();
  }

  /**
   * FIFO `R` / `W`: every worker is stopped at once (in-flight requests are
   * lost, which is what the command asks for) and respawned.
   */
  reloadBrutally(rereadConfig: boolean): void {
    if (this.stopping !== 'no') return;
    if (rereadConfig && !this.rereadTemplate('reload')) return;
    if (rereadConfig) this.opts.onInstanceReload?.();
    this.opts.events?.reloading();
    this.opts.log('...brutally killing workers...');
    for (const slot of this.slots) {
      if (slot.current !== null) this.drain(slot.current, 'SIGINT');
    }
  }

  /** SIGTSTP / FIFO `p`: suspend every worker (connections wait in the listen queue), or resume them. */
  togglePause(): void {
    const procs = this.allProcs();
    if (!this.paused) {
      this.paused = true;
      this.opts.log(`${ctime(Date.now())} - *** PAUSE (press start to resume, if you do not have a joypad send SIGTSTP) ***`);
      for (const slot of this.slots) {
        const proc = slot.current;
        if (proc === null) continue;
        proc.child.kill('SIGSTOP');
        this.opts.log(`${ctime(Date.now())} - *** worker ${slot.id} suspended ***`);
      }
      // Replacements and draining workers are stopped too, so nothing serves while paused.
      for (const proc of procs) if (!this.slots.some((s) => s.current === proc)) proc.child.kill('SIGSTOP');
    } else {
      this.paused = false;
      this.opts.log(`${ctime(Date.now())} - *** (SIGTSTP received) resuming workers ***`);
      for (const proc of procs) proc.child.kill('SIGCONT');
      for (const slot of this.slots) {
        if (slot.current !== null) this.opts.log(`${ctime(Date.now())} - *** worker ${slot.id} resumed ***`);
      }
      // Time spent paused is not time spent in a request.
      this.lastLoadSampleMs = Date.now();
    }
    this.opts.events?.setPaused(this.paused);
  }

  /** FIFO `+`: one more worker, if a cheaped slot is left. */
  addWorker(): void {
    const slot = this.slots.find((s) => s.cheaped);
    if (slot === undefined || this.stopping !== 'no') return;
    this.decheap(slot);
  }

  /** FIFO `-`: one worker fewer, never below --cheaper (or 1). */
  removeWorker(): void {
    if (this.stopping !== 'no') return;
    const active = this.slots.filter((s) => !s.cheaped);
    if (active.length <= (this.opts.cheaper?.min ?? 1)) return;
    this.cheapOldest();
  }

  /** SIGUSR1: request counters per worker, in uWSGI's words. */
  logCounters(): void {
    let total = 0;
    const lines: string[] = [];
    for (const slot of this.slots) {
      const row = slot.current === null ? undefined : this.scoreboard.reader.read(slot.current.row);
      if (row === undefined) continue;
      total += row.requests;
      lines.push(`\tworker ${slot.id} app 0 [] requests: ${row.requests} exceptions: ${row.exceptions}`);
    }
    this.opts.log(`\tworkers total requests: ${total}\n-----------------\n${lines.join('\n')}\n-----------------`);
  }

  /** SIGUSR2: what each worker is doing (read from the scoreboard: works even when it is stuck). */
  logWorkerStatus(): void {
    for (const slot of this.slots) {
      const proc = slot.current;
      if (proc === null) continue;
      const row = this.scoreboard.reader.read(proc.row);
      if (row.cores.length === 1) {
        const doing = row.requestStartMs > 0 ? `is managing request ${row.current} since ${ctime(row.requestStartMs)}` : 'is idle';
        this.opts.log(`SIGUSR2: --- nuwsgi worker ${slot.id} (pid: ${proc.pid}) ${doing} ---`);
        continue;
      }
      // uWSGI (what_i_am_doing) names the core with --threads, and only the busy ones.
      const busy = row.cores.filter((core) => core.requestStartMs > 0);
      if (busy.length === 0) this.opts.log(`SIGUSR2: --- nuwsgi worker ${slot.id} (pid: ${proc.pid}) is idle ---`);
      for (const core of busy) {
        this.opts.log(`SIGUSR2: --- nuwsgi worker ${slot.id} core ${core.id} (pid: ${proc.pid}) is managing request ${core.current} since ${ctime(core.requestStartMs)} ---`);
      }
    }
  }

  // ------------------------------------------------------------------ spawning

  private spawn(slot: WorkerSlot): WorkerProc {
    const row = this.scoreboard.freeRows.shift() ?? 0;
    this.scoreboard.reader.clear(row);
    const logIo = this.opts.logging?.forWorker(FIRST_SOCKET_FD + this.sockets.length);
    const title = this.opts.workerTitle?.(slot.id);
    const config: WorkerConfig = {
      ...this.template,
      ...(title !== undefined ? { title } : {}),
      id: slot.id,
      listeners: this.sockets.map((s, i) => listenerFor(s, FIRST_SOCKET_FD + i)),
      scoreboard: { fd: SCOREBOARD_FD, bytes: this.scoreboard.bytes, row, rowCores: this.scoreboard.rowCores },
      ...(logIo !== undefined ? { logTarget: logIo.target } : {}),
    };
    const child = (this.opts.forkWorker ?? fork)(WORKER_ENTRY, [], {
      stdio: ['ignore', logIo?.stdout ?? 'inherit', logIo?.stderr ?? 'inherit', 'ipc', this.scoreboard.fd, ...this.sockets.map((s) => s.fd), ...(logIo?.extraFds ?? [])],
      env: { ...process.env, _NUWSGI_WORKER_CONFIG: JSON.stringify(config) },
      serialization: 'json',
      // Ours first: flags given to the master's node come later and win.
      execArgv: [...WORKER_NODE_FLAGS, ...process.execArgv],
    });
    this.opts.logging?.attach(child);
    const proc: WorkerProc = { child, pid: child.pid ?? 0, row, state: 'spawning', spawnedAt: Date.now(), stopAskedAt: 0, mercyTimer: null, harakiriTries: 0, lastBusyUs: 0 };
    child.on('message', (msg: WorkerMessage) => this.onMessage(slot, proc, msg));
    // A replacement enters the stats when it takes over (onReady); until then the old one is the slot.
    if (slot.current === null) this.opts.events?.spawned(slot.id, proc.pid, this.rowOf(proc));
    child.on('exit', (code, signal) => this.onExit(slot, proc, code, signal));
    const first = slot.respawns === 0 && slot.bootFailures === 0 && slot.current === null;
    this.opts.log(first ? `spawned nuwsgi worker ${slot.id} (pid: ${proc.pid}, cores: ${this.workerCores()})` : `Respawned nuwsgi worker ${slot.id} (new pid: ${proc.pid})`);
    return proc;
  }

  /**
   * The spawn line's cores: --threads, or for --asgi apps their slots (as
   * uWSGI counts --async cores). An app detected as ASGI at load is known
   * only to its worker; the line then says --threads (the stats say more).
   */
  private workerCores(): number {
    const t = this.template;
    const apps = (t.apps as WorkerTemplate['apps'] | undefined) ?? []; // the state machine's tests pass a partial template
    const asgi = apps.length > 0 && apps.every((app) => app.interface === 'asgi');
    return asgi && t.asgi !== undefined ? t.asgi.concurrency : t.threads;
  }

  /**
   * Reads a process's scoreboard row: the stats' only source of its counters
   * and state. The stats drop it when the process exits or is replaced, before
   * the row can be handed to another process.
   */
  private rowOf(proc: WorkerProc): () => WorkerRow {
    return () => this.scoreboard.reader.read(proc.row);
  }

  /** Start a replacement for the slot's worker; the old one drains when it is ready. */
  private replace(slot: WorkerSlot): void {
    if (slot.next !== null || this.stopping !== 'no') return;
    if (slot.current === null || slot.current.state !== 'ready') {
      // Nothing healthy to keep serving meanwhile: just restart it.
      if (slot.current !== null) this.drain(slot.current);
      return;
    }
    slot.respawns++;
    slot.next = this.spawn(slot);
  }

  private onMessage(slot: WorkerSlot, proc: WorkerProc, msg: WorkerMessage): void {
    if (this.opts.events?.message(slot.id, proc.pid, msg) === true) return;
    if (msg.type === 'ready') this.onReady(slot, proc);
    else if (msg.type === 'recycle' && proc === slot.current && proc.state === 'ready') {
      this.opts.log(`...The work of process ${proc.pid} is done (${msg.reason}). Seeya!`);
      this.replace(slot);
    }
  }

  private onReady(slot: WorkerSlot, proc: WorkerProc): void {
    if (proc.state !== 'spawning') return;
    proc.state = 'ready';
    slot.bootFailures = 0;
    this.everReady = true;
    this.releaseHeld();
    if (this.stopping === 'graceful') {
      this.drain(proc);
      return;
    }
    if (proc === slot.next) {
      const old = slot.current;
      slot.current = proc;
      slot.next = null;
      this.opts.events?.spawned(slot.id, proc.pid, this.rowOf(proc));
      if (old !== null) {
        slot.draining.push(old);
        this.drain(old);
      }
      if (this.chain[0] === slot.id) {
        this.chain.shift();
        this.chainNext();
      }
    }
    if (proc === slot.current) this.opts.events?.ready(slot.id);
    if (this.slots.every((s) => s.cheaped || (s.current?.state === 'ready' && s.next === null))) this.opts.onAllReady?.();
  }

  private chainNext(): void {
    const id = this.chain[0];
    if (id === undefined) {
      this.opts.log('chain reloading complete');
      return;
    }
    this.opts.log(`chain next victim is worker ${id}`);
    const slot = this.slots[id - 1] as WorkerSlot;
    this.replace(slot);
    if (slot.next === null) this.chain.shift(); // could not replace (not ready): move on
    if (slot.next === null) this.chainNext();
  }

  /** Ask a worker to finish what it has and exit; SIGKILL when its mercy runs out. */
  private drain(proc: WorkerProc, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (proc.state === 'draining' || proc.state === 'dead') return;
    const slot = this.slotOf(proc);
    if (slot !== undefined && slot.current === proc) this.opts.events?.draining(slot.id);
    proc.state = 'draining';
    proc.stopAskedAt = Date.now();
    proc.child.kill(signal);
    proc.mercyTimer = setTimeout(() => {
      this.opts.log(`worker (pid: ${proc.pid}) is taking too much time to die...NO MERCY !!!`);
      proc.child.kill('SIGKILL');
    }, this.opts.workerReloadMercyMs);
  }

  // -------------------------------------------------------------------- deaths

  private onExit(slot: WorkerSlot, proc: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void {
    const wasBooting = proc.state === 'spawning';
    const wasDraining = proc.state === 'draining';
    proc.state = 'dead';
    this.reclaimer.workerExited();
    if (proc.mercyTimer !== null) clearTimeout(proc.mercyTimer);
    this.scoreboard.freeRows.push(proc.row);
    slot.draining = slot.draining.filter((p) => p !== proc);
    if (slot.next === proc) slot.next = null;
    const wasCurrent = slot.current === proc;
    if (wasCurrent) {
      slot.current = null;
      this.opts.events?.exited(slot.id);
    } else {
      this.opts.events?.replacedExited?.(slot.id, proc.pid); // its last requests count too
    }
    if (this.stopping !== 'no' || wasDraining) {
      // As uWSGI's: how long it took to die once told to (its whole life when it died on its own).
      const seconds = Math.round((Date.now() - (proc.stopAskedAt || proc.spawnedAt)) / 1000);
      this.opts.log(`worker ${slot.id} (pid: ${proc.pid}) buried after ${seconds} seconds`);
      this.checkStopped();
      if (this.stopping !== 'no' || !wasCurrent) return;
      if (slot.cheaped) {
        this.opts.log(`nuwsgi worker ${slot.id} cheaped.`);
        return;
      }
    } else {
      const how = signal !== null ? `, killed by signal ${signalNumber(signal)}` : '';
      this.opts.log(`DAMN ! worker ${slot.id} (pid: ${proc.pid}) died${how} :( trying respawn ...`);
      if (signal !== null) this.logLostRequests(slot.id, proc);
    }
    if (wasBooting && code === EXIT_NO_APP && !this.everReady) {
      // The app cannot load at all: stop everything with uWSGI's need-app code.
      this.exitCode = EXIT_NO_APP;
      this.stopNow();
      return;
    }
    if (!wasCurrent && !wasBooting) return; // a replaced worker: its successor already serves
    if (wasBooting) this.releaseHeld(); // the first boot failed: the others try theirs meanwhile
    if (this.held.includes(slot) && !this.heldSlotFreed(slot)) return; // spawned once the first is ready
    slot.respawns++;
    if (wasBooting) slot.bootFailures++;
    this.scheduleRespawn(slot);
  }

  /**
   * A worker killed by a signal (a crash in a C extension, an OOM kill): the
   * requests it was running, per core, from its scoreboard row (still intact:
   * the row is reused only by a later spawn), as uWSGI prints its backtrace.
   */
  private logLostRequests(slotId: number, proc: WorkerProc): void {
    const now = Date.now();
    for (const core of this.scoreboard.reader.read(proc.row).cores) {
      if (core.requestStartMs <= 0) continue;
      const secs = ((now - core.requestStartMs) / 1000).toFixed(1);
      this.opts.log(`worker ${slotId} core ${core.id} was running: ${core.current} (for ${secs} seconds)`);
    }
  }

  /** Workers that die while booting, again and again, are respawned ever more slowly: never a busy loop. */
  private scheduleRespawn(slot: WorkerSlot): void {
    if (slot.current !== null || slot.next !== null) return;
    if (slot.bootFailures === 0) {
      slot.current = this.spawn(slot);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (slot.bootFailures - 1));
    this.opts.log(`worker ${slot.id} failed to boot ${slot.bootFailures} time(s) in a row: respawning in ${delay} ms`);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null;
      if (this.stopping === 'no' && slot.current === null) slot.current = this.spawn(slot);
    }, delay);
  }

  private slotOf(proc: WorkerProc): WorkerSlot | undefined {
    return this.slots.find((s) => s.current === proc || s.next === proc || s.draining.includes(proc));
  }

  private allProcs(): WorkerProc[] {
    return this.slots.flatMap((s) => [s.current, s.next, ...s.draining]).filter((p): p is WorkerProc => p !== null && p.state !== 'dead');
  }

  private checkStopped(): void {
    if (this.stopping === 'no' || this.allProcs().length > 0) return;
    for (const slot of this.slots) if (slot.respawnTimer !== null) clearTimeout(slot.respawnTimer);
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.opts.log('goodbye to nuwsgi.');
    this.resolveStopped?.(this.exitCode);
    this.resolveStopped = undefined;
  }

  // ------------------------------------------------------------ once a second

  private tick(): void {
    if (this.stopping !== 'no') return;
    this.reclaimer.tick(Date.now());
    this.touch.check();
    this.opts.onTick?.();
    this.opts.logging?.tick(this.workersReopenLogs); // --touch-logreopen/logrotate, --log-maxsize
    if (this.paused) return; // suspended workers are neither stuck nor idle
    if (this.opts.harakiri > 0) this.checkHarakiri(Date.now());
    if ((this.opts.evilReloadOnRssBytes ?? 0) > 0) this.checkEvilRss(this.opts.evilReloadOnRssBytes as number);
    if (this.sleeping) return; // uWSGI: neither the cheaper algorithm nor the idle check while cheap
    if (this.cheaperAlgo !== undefined) this.adjustWorkers();
    if (this.idleClock !== undefined) this.checkIdle(this.idleClock, Date.now());
  }

  // ------------------------------------------------------- idle and cheap modes

  /** --idle: no request for N seconds and no worker in one: go cheap, or die (--die-on-idle). */
  private checkIdle(clock: IdleClock, now: number): void {
    let requests = 0;
    let busy = this.chain.length > 0; // a reload in progress is not idleness
    for (const proc of this.allProcs()) {
      const row = this.scoreboard.reader.read(proc.row);
      requests += row.requests;
      // An open WebSocket is not idleness either: going cheap would close it.
      if (proc.state === 'spawning' || row.inRequest > 0 || row.openConnections > 0) busy = true;
    }
    if (!clock.observe(now, requests, busy)) return;
    this.opts.log(clock.idleLine(now));
    if (this.opts.onIdleDeath !== undefined) {
      this.sleeping = true; // as uWSGI: no more checks; the emperor (or our own stop) ends the instance
      this.opts.onIdleDeath();
      return;
    }
    for (const slot of this.slots) {
      if (!slot.cheaped) this.opts.events?.setCheaped(slot.id, true);
      slot.cheaped = true;
      // Nobody is in a request: a graceful stop ends at once and cannot lose one that slips in.
      for (const proc of [slot.current, slot.next]) if (proc !== null) this.drain(proc);
    }
    this.sleep();
  }

  /** Watch the sockets; the first connection waiting on one wakes the workers (which then accept it). */
  private sleep(): void {
    this.sleeping = true;
    this.opts.log('cheap mode enabled: waiting for socket connection...');
    this.wakeAlarm.arm(
      this.sockets.map((s) => s.fd),
      () => this.wake(),
    );
  }

  private wake(): void {
    if (!this.sleeping || this.stopping !== 'no') return;
    this.sleeping = false;
    this.idleClock?.restart();
    const wanted = this.opts.cheaper?.initial ?? this.opts.processes;
    // A slot whose old worker still drains gets its new one when that exits (onExit).
    const waking = this.slots.slice(0, wanted);
    for (const slot of waking) {
      slot.cheaped = false;
      this.opts.events?.setCheaped(slot.id, false);
    }
    // All of them: a slot whose old worker still drains is held too, so that when the old workers exit
    // one after the other only the first to exit boots at once (heldSlotFreed), the rest once it is ready.
    this.spawnFirstThenRest(waking);
  }

  /**
   * When a connection is already waiting (an on-demand start, a wake from
   * cheap mode): the first slot's worker is spawned alone and the others once
   * it is ready (or has died), so that connection waits for one boot with the
   * host to itself rather than N boots sharing its cores. A worker boots in
   * hundreds of ms of CPU (Node, CPython, the app's import) where uWSGI forks;
   * docs/architecture.md ("Worker startup") has the measurements.
   */
  private spawnFirstThenRest(slots: WorkerSlot[]): void {
    // A slot whose old worker still drains (a wake right after going cheap) gets its new one when
    // that exits: as the first if no other is booting by then (onExit), else with the rest.
    const first = slots.find((s) => s.current === null && s.next === null);
    if (first !== undefined) first.current = this.spawn(first);
    this.held.push(...slots.filter((s) => s !== first));
  }

  /** A held slot's old worker exited: it boots now if no first worker is booting or ready, else it stays held. */
  private heldSlotFreed(slot: WorkerSlot): boolean {
    const firstUnderway = this.slots.some((s) => !this.held.includes(s) && (s.current?.state === 'spawning' || s.current?.state === 'ready'));
    if (firstUnderway) return false;
    this.held.splice(this.held.indexOf(slot), 1);
    return true;
  }

  /** The first worker is ready or gone: the held slots get theirs now (one whose old worker still drains, when it exits). */
  private releaseHeld(): void {
    const held = this.held.splice(0);
    if (this.stopping !== 'no') return;
    for (const slot of held) if (!slot.cheaped && slot.current === null && slot.next === null) slot.current = this.spawn(slot);
  }

  /** Read from the scoreboard, so it works while the worker is stuck inside Python. */
  private checkHarakiri(now: number): void {
    for (const slot of this.slots) {
      for (const proc of [slot.current, ...slot.draining]) {
        if (proc === null || proc.state === 'dead') continue;
        const stuck = this.scoreboard.reader.overdue(proc.row, now - this.opts.harakiri * 1000);
        if (stuck.length === 0) continue;
        proc.harakiriTries++;
        if (proc.harakiriTries === 1) this.opts.events?.harakiri(slot.id);
        const log = this.opts.log;
        log(`*** HARAKIRI ON WORKER ${slot.id} (pid: ${proc.pid}, try: ${proc.harakiriTries}) ***`);
        log(`HARAKIRI !!! worker ${slot.id} status !!!`);
        // As uWSGI: every core that passed the limit, by id. The whole worker
        // goes: requests on its other cores are lost too (docs/master.md).
        for (const core of stuck) log(`HARAKIRI [core ${core.id}] ${core.current} since ${Math.floor(core.requestStartMs / 1000)}`);
        log(`HARAKIRI !!! end of worker ${slot.id} status !!!`);
        if (this.opts.harakiriVerbose === true && proc.harakiriTries === 1) {
          this.harakiriVerbose(proc);
          continue; // SIGKILL once the traceback is out
        }
        proc.child.kill('SIGKILL');
      }
    }
  }

  /**
   * --harakiri-verbose: uWSGI's syscall and wchan lines, and (ours) the stuck
   * worker's Python traceback: the worker's faulthandler dumps every thread
   * from a C signal handler, which runs even while Python holds the loop.
   */
  private harakiriVerbose(proc: WorkerProc): void {
    for (const what of ['syscall', 'wchan']) {
      const text = readProcText(proc.pid, what);
      if (text !== undefined) this.opts.log(`HARAKIRI: -- ${what}> ${text}`);
    }
    proc.child.kill(TRACEBACK_SIGNAL);
    setTimeout(() => proc.child.kill('SIGKILL'), TRACEBACK_GRACE_MS);
  }

  // --------------------------------------------------------------- cheaper mode

  /** Once a second: the cheaper algorithm's verdict on the last second's load. */
  private adjustWorkers(): void {
    const algo = this.cheaperAlgo as CheaperAlgorithm;
    const load = this.sampleLoad(Date.now());
    if (this.chain.length > 0 || this.slots.some((s) => s.next !== null)) return; // not while replacing
    if (algo.usesBacklog) load.backlog = this.opts.listenQueue?.() ?? 0;
    const decision = algo.decide(load);
    if (decision > 0) {
      for (const slot of this.slots.filter((s) => s.cheaped).slice(0, decision)) this.decheap(slot);
    } else if (decision < 0) {
      this.cheapOldest();
    }
  }

  /**
   * A worker counts as busy when it spent most of the last second in the app
   * (from the scoreboard's busy time), or has been in one request all along.
   * uWSGI samples an instantaneous flag instead; with nuwsgi's queueing
   * workers the share of time is the steadier signal.
   */
  private sampleLoad(now: number): LoadSample {
    const elapsedUs = Math.max(1, (now - this.lastLoadSampleMs) * 1000);
    this.lastLoadSampleMs = now;
    let active = 0;
    let busy = 0;
    const workers: NonNullable<LoadSample['workers']> = [];
    for (const slot of this.slots) {
      if (slot.cheaped) continue;
      active++;
      const proc = slot.current;
      if (proc === null || proc.state !== 'ready') continue;
      const row = this.scoreboard.reader.read(proc.row);
      // Busy cores, not busy workers: a worker with 4 cores counts 1 only when all 4 were busy.
      let runningUs = 0;
      for (const core of row.cores) if (core.requestStartMs > 0) runningUs += Math.min(elapsedUs, (now - core.requestStartMs) * 1000);
      const share = (row.busyUs - proc.lastBusyUs + runningUs) / (elapsedUs * row.cores.length);
      proc.lastBusyUs = row.busyUs;
      if (share >= BUSY_SHARE) busy++;
      workers.push({ id: slot.id, busyUs: row.busyUs, busyNow: row.requestStartMs > 0 });
    }
    return { active, busy, cheaped: this.slots.filter((s) => s.cheaped).length, nowMs: now, workers };
  }

  private decheap(slot: WorkerSlot): void {
    slot.cheaped = false;
    this.opts.events?.setCheaped(slot.id, false);
    if (slot.current === null && slot.next === null) slot.current = this.spawn(slot);
  }

  /** uWSGI cheaps the worker that has run longest. */
  private cheapOldest(): void {
    const candidates = this.slots.filter((s) => !s.cheaped && s.current !== null && s.current.state === 'ready');
    const oldest = candidates.sort((a, b) => (a.current as WorkerProc).spawnedAt - (b.current as WorkerProc).spawnedAt)[0];
    if (oldest === undefined) return;
    oldest.cheaped = true;
    this.opts.events?.setCheaped(oldest.id, true);
    this.drain(oldest.current as WorkerProc);
  }

  /**
   * --evil-reload-on-rss: unlike reload-on-rss (the worker asks, between
   * requests, and drains), the master kills the worker at once: the last
   * resort for a worker whose memory grows inside one request.
   */
  private checkEvilRss(limit: number): void {
    for (const slot of this.slots) {
      const proc = slot.current;
      if (proc === null || proc.state !== 'ready') continue;
      const rss = readProcessMemory(proc.pid)?.rss ?? 0;
      if (rss <= limit) continue;
      this.opts.log(`*** EVIL RELOAD ON WORKER ${slot.id} RSS: ${rss} (pid: ${proc.pid}) ***`);
      proc.child.kill('SIGKILL');
    }
  }

  private touched(file: string, what: string, action: () => void): void {
    this.opts.log(`*** ${file} has been touched... ${what} !!! ***`);
    action();
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

function signalNumber(signal: NodeJS.Signals): number | string {
  return SIGNALS[signal] ?? signal;
}

function readProcText(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
