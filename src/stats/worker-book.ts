/**
 * The master's per-slot stats ledger: the master calls it on each worker event
 * (spawn, ready, report, exit, harakiri) and asks it for WorkerSnapshots.
 *
 * uWSGI keeps a slot's counters across respawns (requests, exceptions, tx,
 * running_time, avg_rt) and resets only delta_requests; the worker's own
 * reports count one life, so the ledger adds the dead lives ("base") to the
 * current life's last report.
 */
import { readProcessMemory, type ProcessMemory } from './procfs';
import { RequestMetrics, type SerializedRequestMetrics } from './request-metrics';
import { idleCore, workerStatus, type AppSnapshot, type CoreSnapshot, type WorkerSnapshot } from './snapshot';
import { DEFAULT_REPORT_INTERVAL_MS, type CoreReport, type WorkerReport } from './worker-counters';

/** What the master knows of each app from the configuration. */
export interface AppDescriptor {
  mountpoint: string;
  chdir: string;
}

interface Totals {
  req: number;
  exc: number;
  tx: number;
  rt: number;
  rerr: number;
  werr: number;
  st: number;
  apps: Array<[number, number]>;
}

interface Slot {
  id: number;
  pid: number;
  alive: boolean;
  accepting: boolean;
  respawnCount: number;
  lastSpawnS: number;
  harakiriCount: number;
  cheaped: boolean;
  paused: boolean;
  /** Carried across lives, as uWSGI never resets avg_response_time. */
  avgRtUs: number;
  memory: ProcessMemory;
  base: Totals;
  baseMetrics: RequestMetrics;
  life: WorkerReport | undefined;
  lastReportMs: number;
}

export interface WorkerStatsBookOptions {
  apps: AppDescriptor[];
  /** A live, accepting worker silent for this long is shown 'busy' (blocked in Python). */
  staleAfterMs?: number;
  now?: () => number;
}

export class WorkerStatsBook {
  private readonly slots = new Map<number, Slot>();
  private readonly apps: AppDescriptor[];
  private readonly staleAfterMs: number;
  private readonly now: () => number;

  constructor(opts: WorkerStatsBookOptions) {
    this.apps = opts.apps;
    this.staleAfterMs = opts.staleAfterMs ?? DEFAULT_REPORT_INTERVAL_MS * 2.5;
    this.now = opts.now ?? Date.now;
  }

  /** A worker process was forked for slot `id` (first spawn or respawn). */
  spawned(id: number, pid: number): void {
    const slot = this.slot(id);
    this.foldLife(slot);
    const now = this.now();
    slot.pid = pid;
    slot.alive = true;
    slot.accepting = false;
    slot.respawnCount++;
    slot.lastSpawnS = Math.floor(now / 1000);
    slot.lastReportMs = now;
    slot.memory = { rss: 0, vsz: 0 };
  }

  /** The worker said it is ready: it accepts connections from now on. */
  ready(id: number): void {
    const slot = this.slots.get(id);
    if (slot !== undefined && slot.alive) slot.accepting = true;
  }

  /** The worker was told to stop (graceful reload, shutdown): it no longer accepts. */
  draining(id: number): void {
    const slot = this.slots.get(id);
    if (slot !== undefined) slot.accepting = false;
  }

  /** A report from the worker; one from an older pid of the slot is ignored. */
  report(id: number, pid: number, report: WorkerReport): void {
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.alive || slot.pid !== pid) return;
    slot.life = report;
    slot.lastReportMs = this.now();
    if (report.req > 0) slot.avgRtUs = report.avg;
  }

  /** The worker process is gone: what it last reported now belongs to the slot's past. */
  exited(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.foldLife(slot);
    slot.alive = false;
    slot.accepting = false;
    slot.memory = { rss: 0, vsz: 0 };
  }

  harakiri(id: number): void {
    this.slot(id).harakiriCount++;
  }

  setCheaped(id: number, cheaped: boolean): void {
    this.slot(id).cheaped = cheaped;
  }

  /** FIFO `p` / SIGTSTP pause every worker; resume clears it. */
  setPaused(paused: boolean): void {
    for (const slot of this.slots.values()) slot.paused = paused;
  }

  /** Re-reads rss/vsz of every live worker (/proc/PID/statm); call it once a second. */
  refreshMemory(read: (pid: number) => ProcessMemory | undefined = readProcessMemory): void {
    for (const slot of this.slots.values()) {
      if (slot.alive && slot.pid > 0) slot.memory = read(slot.pid) ?? { rss: 0, vsz: 0 };
    }
  }

  /** Requests finished by every worker, every life: SIGUSR1's "workers total requests". */
  totalRequests(): number {
    let total = 0;
    for (const slot of this.slots.values()) total += slot.base.req + (slot.life?.req ?? 0);
    return total;
  }

  /** The request metrics of every worker and every life, summed. */
  requestMetrics(): SerializedRequestMetrics {
    const sum = new RequestMetrics();
    for (const slot of this.slots.values()) {
      sum.add(slot.baseMetrics.serialize());
      if (slot.life !== undefined) sum.add(slot.life.m);
    }
    return sum.serialize();
  }

  workers(): WorkerSnapshot[] {
    return [...this.slots.values()].sort((a, b) => a.id - b.id).map((slot) => this.snapshotOf(slot));
  }

  private snapshotOf(slot: Slot): WorkerSnapshot {
    const life = slot.life;
    const stale = slot.alive && slot.accepting && this.now() - slot.lastReportMs > this.staleAfterMs;
    const busy = slot.alive && (life?.busy === 1 || stale);
    const requests = slot.base.req + (life?.req ?? 0);
    const cores = life?.cores;
    const core = idleCore(0);
    core.requests = requests;
    core.readErrors = slot.base.rerr + (life?.rerr ?? 0);
    core.writeErrors = slot.base.werr + (life?.werr ?? 0);
    core.staticRequests = slot.base.st + (life?.st ?? 0);
    core.inRequest = busy;
    if (busy && life !== undefined && life.busy === 1) {
      core.vars = life.vars;
      core.requestStart = life.since;
    } else if (busy) {
      // Silent worker: its request started after its last report.
      core.requestStart = Math.floor(slot.lastReportMs / 1000);
    }
    return {
      id: slot.id,
      pid: slot.pid,
      accepting: slot.accepting,
      requests,
      deltaRequests: life?.req ?? 0,
      exceptions: slot.base.exc + (life?.exc ?? 0),
      harakiriCount: slot.harakiriCount,
      signals: 0,
      signalQueue: 0,
      status: workerStatus({ cheaped: slot.cheaped, paused: slot.paused, signal: 0, busy }),
      rss: slot.memory.rss,
      vsz: slot.memory.vsz,
      runningTimeUs: slot.base.rt + (life?.rt ?? 0),
      lastSpawn: slot.lastSpawnS,
      respawnCount: slot.respawnCount,
      tx: slot.base.tx + (life?.tx ?? 0),
      avgRtUs: slot.avgRtUs,
      apps: this.appsOf(slot),
      cores: cores !== undefined && cores.length > 1 ? this.coresOf(slot, cores, stale) : [core],
    };
  }

  /**
   * --threads: one entry per core from the worker's last report. Requests of
   * the slot's earlier lives count on core 0, as its totals carry them.
   */
  private coresOf(slot: Slot, cores: CoreReport[], stale: boolean): CoreSnapshot[] {
    return cores.map((c, id) => {
      const core = idleCore(id);
      core.requests = c.req + (id === 0 ? slot.base.req : 0);
      core.readErrors = c.rerr + (id === 0 ? slot.base.rerr : 0);
      core.writeErrors = c.werr + (id === 0 ? slot.base.werr : 0);
      core.inRequest = slot.alive && (c.busy === 1 || stale);
      if (c.busy === 1) {
        core.vars = c.vars;
        core.requestStart = c.since;
      }
      return core;
    });
  }

  private appsOf(slot: Slot): AppSnapshot[] {
    const counts = addApps(slot.base.apps, slot.life?.apps ?? []);
    return this.apps.map((app, id) => ({
      id,
      modifier1: 0,
      mountpoint: app.mountpoint,
      startupTime: 0,
      requests: counts[id]?.[0] ?? 0,
      exceptions: counts[id]?.[1] ?? 0,
      chdir: app.chdir,
    }));
  }

  private foldLife(slot: Slot): void {
    const life = slot.life;
    if (life === undefined) return;
    const b = slot.base;
    b.req += life.req;
    b.exc += life.exc;
    b.tx += life.tx;
    b.rt += life.rt;
    b.rerr += life.rerr;
    b.werr += life.werr;
    b.st += life.st ?? 0;
    b.apps = addApps(b.apps, life.apps);
    slot.baseMetrics.add(life.m);
    slot.life = undefined;
  }

  private slot(id: number): Slot {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = newSlot(id);
      this.slots.set(id, slot);
    }
    return slot;
  }
}

function newSlot(id: number): Slot {
  return {
    id,
    pid: 0,
    alive: false,
    accepting: false,
    respawnCount: 0,
    lastSpawnS: 0,
    harakiriCount: 0,
    cheaped: false,
    paused: false,
    avgRtUs: 0,
    memory: { rss: 0, vsz: 0 },
    base: { req: 0, exc: 0, tx: 0, rt: 0, rerr: 0, werr: 0, st: 0, apps: [] },
    baseMetrics: new RequestMetrics(),
    life: undefined,
    lastReportMs: 0,
  };
}

function addApps(a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    out.push([(a[i]?.[0] ?? 0) + (b[i]?.[0] ?? 0), (a[i]?.[1] ?? 0) + (b[i]?.[1] ?? 0)]);
  }
  return out;
}
