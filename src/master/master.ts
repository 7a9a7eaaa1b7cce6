import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkerConfig, WorkerTemplate } from '../worker/worker';
import { ctime } from '../worker/access-log';
import { createSharedMemory } from '../util/shm';
import { ScoreboardReader, scoreboardBytes, scoreboardRows } from './scoreboard';
import { listenerFor, type BoundSocket } from './sockets';
import { TouchWatcher } from './touch';

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
  mercyTimer: NodeJS.Timeout | null;
  harakiriTries: number;
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
}

export interface MasterOptions {
  processes: number;
  workerReloadMercyMs: number;
  /** Seconds a request may run before its worker is killed (0 = never). */
  harakiri: number;
  /** Files whose mtime change means: reload / chain reload / reload the workers. */
  touchReload: string[];
  touchChainReload: string[];
  touchWorkersReload: string[];
  log: (line: string) => void;
  /** Re-reads the configuration for a graceful reload (SIGHUP); null when it is broken. */
  reloadTemplate: () => WorkerTemplate | null;
  /** Every worker is ready and none is being replaced: after boot and after each reload (systemd, emperor). */
  onAllReady?: () => void;
}

export type WorkerMessage = { type: 'ready' } | { type: 'recycle'; reason: string };

const WORKER_ENTRY = path.join(__dirname, '..', 'worker', 'main.js');
/** Exit code of a worker whose app cannot load (uWSGI's need-app code). */
const EXIT_NO_APP = 22;
const MAX_BACKOFF_MS = 30_000;
/** fds 0-2 are stdio, 3 the IPC channel, 4 the scoreboard, then the sockets. */
const SCOREBOARD_FD = 4;
const FIRST_SOCKET_FD = 5;

/** Supervises the workers: spawns, replaces, reloads, kills the stuck ones, stops. */
export class Master {
  private readonly opts: MasterOptions;
  private readonly sockets: BoundSocket[];
  private template: WorkerTemplate;
  private readonly slots: WorkerSlot[] = [];
  private readonly scoreboard: { fd: number; bytes: number; reader: ScoreboardReader; freeRows: number[] };
  private stopping: 'no' | 'graceful' | 'immediate' = 'no';
  private exitCode = 0;
  private resolveStopped: ((code: number) => void) | undefined;
  private everReady = false;
  private chain: number[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private readonly touch: TouchWatcher;

  constructor(opts: MasterOptions, sockets: BoundSocket[], template: WorkerTemplate) {
    this.opts = opts;
    this.sockets = sockets;
    this.template = template;
    const rows = scoreboardRows(opts.processes);
    const bytes = scoreboardBytes(rows);
    const shm = createSharedMemory('nuwsgi-scoreboard', bytes);
    this.scoreboard = { fd: shm.fd, bytes, reader: new ScoreboardReader(shm.memory), freeRows: Array.from({ length: rows }, (_, i) => i) };
    this.touch = new TouchWatcher([
      ...opts.touchReload.map((file) => ({ file, action: () => this.touched(file, 'grace them all', () => this.reload(true)) })),
      ...opts.touchChainReload.map((file) => ({ file, action: () => this.touched(file, 'chain reload', () => this.chainReload()) })),
      ...opts.touchWorkersReload.map((file) => ({ file, action: () => this.touched(file, 'workers reload', () => this.reload(false)) })),
    ]);
  }

  /** Spawn every worker; resolves with the exit code once the master has stopped. */
  run(): Promise<number> {
    this.opts.log(`spawned nuwsgi master process (pid: ${process.pid})`);
    for (let id = 1; id <= this.opts.processes; id++) {
      const slot: WorkerSlot = { id, current: null, next: null, draining: [], respawns: 0, bootFailures: 0, respawnTimer: null };
      this.slots.push(slot);
      slot.current = this.spawn(slot);
    }
    this.ticker = setInterval(() => this.tick(), 1000);
    return new Promise((resolve) => (this.resolveStopped = resolve));
  }

  // ------------------------------------------------------------------ commands

  /** SIGTERM: let every worker finish its requests, then exit 0. */
  stopGracefully(): void {
    if (this.stopping !== 'no') return;
    this.stopping = 'graceful';
    this.opts.log('SIGTERM received: gracefully stopping workers...');
    for (const proc of this.allProcs()) this.drain(proc);
    this.checkStopped();
  }

  /** SIGINT / SIGQUIT: stop now. */
  stopNow(): void {
    if (this.stopping === 'immediate') return;
    this.stopping = 'immediate';
    this.opts.log('SIGINT/SIGQUIT received...killing workers...');
    for (const proc of this.allProcs()) proc.child.kill('SIGINT');
    this.checkStopped();
  }

  /**
   * SIGHUP: a graceful reload. With `rereadConfig` the configuration is read
   * again first (a broken one is refused and the running workers stay). Every
   * worker gets a replacement; each old one drains only once its replacement
   * is ready, and the listening sockets never close: no request is refused.
   */
  reload(rereadConfig: boolean): void {
    if (this.stopping !== 'no') return;
    if (rereadConfig) {
      const template = this.opts.reloadTemplate();
      if (template === null) {
        this.opts.log('graceful reload refused: the new configuration does not load (see above); the workers keep running');
        return;
      }
      this.template = template;
    }
    this.opts.log('...gracefully replacing workers (new ones first, then the old ones drain)...');
    for (const slot of this.slots) this.replace(slot);
  }

  /** One worker at a time: the next goes only once the previous replacement is ready. */
  chainReload(): void {
    if (this.stopping !== 'no' || this.chain.length > 0) return;
    this.chain = this.slots.map((s) => s.id);
    this.chainNext();
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
      const doing = row.requestStartMs > 0 ? `is managing request ${row.current} since ${ctime(row.requestStartMs)}` : 'is idle';
      this.opts.log(`SIGUSR2: --- nuwsgi worker ${slot.id} (pid: ${proc.pid}) ${doing} ---`);
    }
  }

  // ------------------------------------------------------------------ spawning

  private spawn(slot: WorkerSlot): WorkerProc {
    const row = this.scoreboard.freeRows.shift() ?? 0;
    this.scoreboard.reader.clear(row);
    const config: WorkerConfig = {
      ...this.template,
      id: slot.id,
      listeners: this.sockets.map((s, i) => listenerFor(s, FIRST_SOCKET_FD + i)),
      scoreboard: { fd: SCOREBOARD_FD, bytes: this.scoreboard.bytes, row },
    };
    const child = fork(WORKER_ENTRY, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', this.scoreboard.fd, ...this.sockets.map((s) => s.fd)],
      env: { ...process.env, _NUWSGI_WORKER_CONFIG: JSON.stringify(config) },
      serialization: 'json',
    });
    const proc: WorkerProc = { child, pid: child.pid ?? 0, row, state: 'spawning', spawnedAt: Date.now(), mercyTimer: null, harakiriTries: 0 };
    child.on('message', (msg: WorkerMessage) => this.onMessage(slot, proc, msg));
    child.on('exit', (code, signal) => this.onExit(slot, proc, code, signal));
    const first = slot.respawns === 0 && slot.bootFailures === 0 && slot.current === null;
    this.opts.log(first ? `spawned nuwsgi worker ${slot.id} (pid: ${proc.pid}, cores: 1)` : `Respawned nuwsgi worker ${slot.id} (new pid: ${proc.pid})`);
    return proc;
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
    if (this.stopping === 'graceful') {
      this.drain(proc);
      return;
    }
    if (proc === slot.next) {
      const old = slot.current;
      slot.current = proc;
      slot.next = null;
      if (old !== null) {
        slot.draining.push(old);
        this.drain(old);
      }
      if (this.chain[0] === slot.id) {
        this.chain.shift();
        this.chainNext();
      }
    }
    if (this.slots.every((s) => s.current?.state === 'ready' && s.next === null)) this.opts.onAllReady?.();
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
  private drain(proc: WorkerProc): void {
    if (proc.state === 'draining' || proc.state === 'dead') return;
    proc.state = 'draining';
    proc.child.kill('SIGTERM');
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
    if (proc.mercyTimer !== null) clearTimeout(proc.mercyTimer);
    this.scoreboard.freeRows.push(proc.row);
    slot.draining = slot.draining.filter((p) => p !== proc);
    if (slot.next === proc) slot.next = null;
    const wasCurrent = slot.current === proc;
    if (wasCurrent) slot.current = null;
    if (this.stopping !== 'no' || wasDraining) {
      const seconds = Math.round((Date.now() - proc.spawnedAt) / 1000);
      this.opts.log(`worker ${slot.id} (pid: ${proc.pid}) buried after ${seconds} seconds`);
      this.checkStopped();
      if (this.stopping !== 'no' || !wasCurrent) return;
    } else {
      const how = signal !== null ? `, killed by signal ${signalNumber(signal)}` : '';
      this.opts.log(`DAMN ! worker ${slot.id} (pid: ${proc.pid}) died${how} :( trying respawn ...`);
    }
    if (wasBooting && code === EXIT_NO_APP && !this.everReady) {
      // The app cannot load at all: stop everything with uWSGI's need-app code.
      this.exitCode = EXIT_NO_APP;
      this.stopNow();
      return;
    }
    if (!wasCurrent && !wasBooting) return; // a replaced worker: its successor already serves
    slot.respawns++;
    if (wasBooting) slot.bootFailures++;
    this.scheduleRespawn(slot);
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
    this.touch.check();
    if (this.opts.harakiri > 0) this.checkHarakiri(Date.now());
  }

  /** Read from the scoreboard, so it works while the worker is stuck inside Python. */
  private checkHarakiri(now: number): void {
    for (const slot of this.slots) {
      for (const proc of [slot.current, ...slot.draining]) {
        if (proc === null || proc.state === 'dead') continue;
        const row = this.scoreboard.reader.read(proc.row);
        if (row.requestStartMs === 0 || now - row.requestStartMs < this.opts.harakiri * 1000) continue;
        proc.harakiriTries++;
        const log = this.opts.log;
        log(`*** HARAKIRI ON WORKER ${slot.id} (pid: ${proc.pid}, try: ${proc.harakiriTries}) ***`);
        log(`HARAKIRI !!! worker ${slot.id} status !!!`);
        log(`HARAKIRI [core 0] ${row.current} since ${Math.floor(row.requestStartMs / 1000)}`);
        log(`HARAKIRI !!! end of worker ${slot.id} status !!!`);
        proc.child.kill('SIGKILL');
      }
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
