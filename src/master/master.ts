import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkerConfig } from '../worker/worker';
import { listenerFor, type BoundSocket } from './sockets';

/**
 * A worker's life as the master sees it. Timers belong to states: a worker in
 * 'draining' gets SIGKILL when its mercy runs out.
 */
export type WorkerState = 'spawning' | 'ready' | 'draining' | 'dead';

interface WorkerSlot {
  id: number;
  child: ChildProcess | null;
  pid: number;
  state: WorkerState;
  spawnedAt: number;
  respawns: number;
  /** Consecutive deaths before ever becoming ready: drives the respawn backoff. */
  bootFailures: number;
  timer: NodeJS.Timeout | null;
}

export interface MasterOptions {
  processes: number;
  workerReloadMercyMs: number;
  log: (line: string) => void;
  /** The worker configuration minus what the master fills in (id, listeners). */
  workerTemplate: Omit<WorkerConfig, 'id' | 'listeners'>;
}

const WORKER_ENTRY = path.join(__dirname, '..', 'worker', 'main.js');
/** Exit code of a worker whose app cannot load (uWSGI's need-app code). */
const EXIT_NO_APP = 22;
const MAX_BACKOFF_MS = 30_000;

/** Supervises the workers: spawns, respawns, stops. Signals are wired by the caller. */
export class Master {
  private readonly opts: MasterOptions;
  private readonly sockets: BoundSocket[];
  private readonly slots: WorkerSlot[] = [];
  private stopping: 'no' | 'graceful' | 'immediate' = 'no';
  private exitCode = 0;
  private resolveStopped: ((code: number) => void) | undefined;
  private everReady = false;

  constructor(opts: MasterOptions, sockets: BoundSocket[]) {
    this.opts = opts;
    this.sockets = sockets;
  }

  /** Spawn every worker; resolves with the exit code once the master has stopped. */
  run(): Promise<number> {
    this.opts.log(`spawned nuwsgi master process (pid: ${process.pid})`);
    for (let id = 1; id <= this.opts.processes; id++) {
      const slot: WorkerSlot = { id, child: null, pid: 0, state: 'dead', spawnedAt: 0, respawns: 0, bootFailures: 0, timer: null };
      this.slots.push(slot);
      this.spawn(slot);
    }
    return new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** SIGTERM: let every worker finish its requests, then exit 0. */
  stopGracefully(): void {
    if (this.stopping !== 'no') return;
    this.stopping = 'graceful';
    this.opts.log('SIGTERM received: gracefully stopping workers...');
    for (const slot of this.live()) this.drain(slot);
    this.checkStopped();
  }

  /** SIGINT / SIGQUIT: stop now. */
  stopNow(): void {
    if (this.stopping === 'immediate') return;
    this.stopping = 'immediate';
    this.opts.log('SIGINT/SIGQUIT received...killing workers...');
    for (const slot of this.live()) slot.child?.kill('SIGINT');
    this.checkStopped();
  }

  private live(): WorkerSlot[] {
    return this.slots.filter((s) => s.state !== 'dead');
  }

  private spawn(slot: WorkerSlot): void {
    const config: WorkerConfig = {
      ...this.opts.workerTemplate,
      id: slot.id,
      // fds 0-2 are stdio, 3 is the IPC channel, the sockets follow in order.
      listeners: this.sockets.map((s, i) => listenerFor(s, 4 + i)),
    };
    const child = fork(WORKER_ENTRY, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...this.sockets.map((s) => s.fd)],
      env: { ...process.env, _NUWSGI_WORKER_CONFIG: JSON.stringify(config) },
      serialization: 'json',
    });
    slot.child = child;
    slot.pid = child.pid ?? 0;
    slot.state = 'spawning';
    slot.spawnedAt = Date.now();
    child.on('message', (msg: { type?: string }) => {
      if (msg.type === 'ready') this.onReady(slot);
    });
    child.on('exit', (code, signal) => this.onExit(slot, child, code, signal));
    if (slot.respawns === 0 && slot.bootFailures === 0) {
      this.opts.log(`spawned nuwsgi worker ${slot.id} (pid: ${slot.pid}, cores: 1)`);
    } else {
      this.opts.log(`Respawned nuwsgi worker ${slot.id} (new pid: ${slot.pid})`);
    }
  }

  private onReady(slot: WorkerSlot): void {
    if (slot.state !== 'spawning') return;
    slot.state = 'ready';
    slot.bootFailures = 0;
    this.everReady = true;
    if (this.stopping === 'graceful') this.drain(slot);
  }

  private drain(slot: WorkerSlot): void {
    slot.state = 'draining';
    slot.child?.kill('SIGTERM');
    this.clearTimer(slot);
    slot.timer = setTimeout(() => {
      this.opts.log(`worker ${slot.id} (pid: ${slot.pid}) is taking too much time to die...NO MERCY !!!`);
      slot.child?.kill('SIGKILL');
    }, this.opts.workerReloadMercyMs);
  }

  private onExit(slot: WorkerSlot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    const wasBooting = slot.state === 'spawning';
    slot.state = 'dead';
    slot.child = null;
    this.clearTimer(slot);
    if (this.stopping !== 'no') {
      const seconds = Math.round((Date.now() - slot.spawnedAt) / 1000);
      this.opts.log(`worker ${slot.id} buried after ${seconds} seconds`);
      this.checkStopped();
      return;
    }
    const how = signal !== null ? `, killed by signal ${signalNumber(signal)}` : '';
    this.opts.log(`DAMN ! worker ${slot.id} (pid: ${slot.pid}) died${how} :( trying respawn ...`);
    if (wasBooting && code === EXIT_NO_APP && !this.everReady) {
      // The app cannot load at all: stop everything with uWSGI's need-app code.
      this.exitCode = EXIT_NO_APP;
      this.stopNow();
      return;
    }
    slot.respawns++;
    if (wasBooting) slot.bootFailures++;
    this.scheduleRespawn(slot);
  }

  /** Workers that die while booting, again and again, are respawned ever more slowly: never a busy loop. */
  private scheduleRespawn(slot: WorkerSlot): void {
    if (slot.bootFailures === 0) {
      this.spawn(slot);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (slot.bootFailures - 1));
    this.opts.log(`worker ${slot.id} failed to boot ${slot.bootFailures} time(s) in a row: respawning in ${delay} ms`);
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.stopping === 'no') this.spawn(slot);
    }, delay);
  }

  private clearTimer(slot: WorkerSlot): void {
    if (slot.timer !== null) {
      clearTimeout(slot.timer);
      slot.timer = null;
    }
  }

  private checkStopped(): void {
    if (this.live().length > 0) return;
    for (const slot of this.slots) this.clearTimer(slot);
    this.opts.log('goodbye to nuwsgi.');
    this.resolveStopped?.(this.exitCode);
    this.resolveStopped = undefined;
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

function signalNumber(signal: NodeJS.Signals): number | string {
  return SIGNALS[signal] ?? signal;
}
