/**
 * The master's per-slot stats ledger. Every counter and state comes from the
 * slot's scoreboard row (read when asked, so a worker stuck in Python shows
 * busy); the ledger adds what only the master knows (pid, spawns, harakiri,
 * cheap/pause, memory) and the histograms workers report once a second.
 *
 * uWSGI keeps a slot's counters across respawns (requests, exceptions, tx,
 * running_time, avg_rt) and resets only delta_requests; a row counts one
 * life, so the ledger adds the dead lives ("base") to the current row. A
 * replaced process (reload, recycling) still finishes its requests while it
 * drains: its row keeps counting ("retiring") until it exits.
 */
import type { CoreRow, WorkerRow } from '../contracts/scoreboard';
import { readProcessMemory, type ProcessMemory } from './procfs';
import { RequestMetrics, type SerializedRequestMetrics } from './request-metrics';
import { idleCore, workerStatus, type AppSnapshot, type CoreSnapshot, type WorkerSnapshot } from './snapshot';
import type { WorkerReport } from './worker-report';

/** What the master knows of each app from the configuration. */
export interface AppDescriptor {
  mountpoint: string;
  chdir: string;
}

/** Reads the current life's scoreboard row (the master passes one per spawn). */
export type RowSource = () => WorkerRow;

interface CoreTotals {
  req: number;
  st: number;
  werr: number;
}

interface Totals {
  req: number;
  exc: number;
  tx: number;
  rt: number;
  werr: number;
  st: number;
  appReq: number[];
  appExc: number[];
  cores: CoreTotals[];
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
  row: RowSource | undefined;
  /** Rows of replaced processes still draining, by pid. */
  retiring: Map<number, RowSource>;
  lifeMetrics: SerializedRequestMetrics | undefined;
}

export interface WorkerStatsBookOptions {
  apps: AppDescriptor[];
  now?: () => number;
  /** How rss/vsz are read (default: /proc/PID/statm). */
  readMemory?: (pid: number) => ProcessMemory | undefined;
}

export class WorkerStatsBook {
  private readonly slots = new Map<number, Slot>();
  private readonly apps: AppDescriptor[];
  private readonly now: () => number;
  private readonly readMemory: (pid: number) => ProcessMemory | undefined;

  constructor(opts: WorkerStatsBookOptions) {
    this.apps = opts.apps;
    this.now = opts.now ?? Date.now;
    this.readMemory = opts.readMemory ?? readProcessMemory;
  }

  /** A worker process took slot `id` (first spawn, respawn or replacement); `row` reads its scoreboard row. */
  spawned(id: number, pid: number, row?: RowSource): void {
    const slot = this.slot(id);
    if (slot.alive && slot.row !== undefined) {
      // Replaced while alive: it drains, and its row keeps counting until it exits.
      slot.retiring.set(slot.pid, slot.row);
      slot.row = undefined;
    }
    this.foldLife(slot);
    slot.pid = pid;
    slot.row = row;
    slot.alive = true;
    slot.accepting = false;
    slot.respawnCount++;
    slot.lastSpawnS = Math.floor(this.now() / 1000);
    slot.memory = { rss: 0, vsz: 0 };
  }

  /** The worker said it is ready: it accepts connections from now on; its memory is read at once (then every second). */
  ready(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.alive) return;
    slot.accepting = true;
    if (slot.pid > 0) slot.memory = this.readMemory(slot.pid) ?? slot.memory;
  }

  /** The worker was told to stop (graceful reload, shutdown): it no longer accepts. */
  draining(id: number): void {
    const slot = this.slots.get(id);
    if (slot !== undefined) slot.accepting = false;
  }

  /** A worker's histograms; a report from an older pid of the slot is ignored. */
  report(id: number, pid: number, report: WorkerReport): void {
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.alive || slot.pid !== pid) return;
    slot.lifeMetrics = report.m;
  }

  /** The worker process is gone: its row (still intact: rows are cleared at the next spawn) joins the slot's past. */
  exited(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.foldLife(slot);
    slot.alive = false;
    slot.accepting = false;
    slot.memory = { rss: 0, vsz: 0 };
  }

  /** A replaced process (see spawned) has exited: its row joins the slot's past. */
  replacedExited(id: number, pid: number): void {
    const slot = this.slots.get(id);
    const row = slot?.retiring.get(pid);
    if (slot === undefined || row === undefined) return;
    slot.retiring.delete(pid);
    addRow(slot.base, row());
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
  refreshMemory(read: (pid: number) => ProcessMemory | undefined = this.readMemory): void {
    for (const slot of this.slots.values()) {
      if (slot.alive && slot.pid > 0) slot.memory = read(slot.pid) ?? { rss: 0, vsz: 0 };
    }
  }

  /** Requests finished by every worker, every life: SIGUSR1's "workers total requests". */
  totalRequests(): number {
    let total = 0;
    for (const slot of this.slots.values()) total += this.pastOf(slot).req + (slot.row?.().requests ?? 0);
    return total;
  }

  /** The request metrics of every worker and every life, summed. */
  requestMetrics(): SerializedRequestMetrics {
    const sum = new RequestMetrics();
    for (const slot of this.slots.values()) {
      sum.add(slot.baseMetrics.serialize());
      if (slot.lifeMetrics !== undefined) sum.add(slot.lifeMetrics);
    }
    return sum.serialize();
  }

  workers(): WorkerSnapshot[] {
    return [...this.slots.values()].sort((a, b) => a.id - b.id).map((slot) => this.snapshotOf(slot));
  }

  private snapshotOf(slot: Slot): WorkerSnapshot {
    const row = slot.alive ? slot.row?.() : undefined;
    const b = this.pastOf(slot);
    const cores = this.coresOf(b, row);
    const busy = cores.some((c) => c.inRequest);
    if (row !== undefined && row.requests > 0) slot.avgRtUs = row.avgRtUs;
    return {
      id: slot.id,
      pid: slot.pid,
      accepting: slot.accepting,
      requests: b.req + (row?.requests ?? 0),
      deltaRequests: row?.requests ?? 0,
      exceptions: b.exc + (row?.exceptions ?? 0),
      harakiriCount: slot.harakiriCount,
      signals: 0,
      signalQueue: 0,
      status: workerStatus({ cheaped: slot.cheaped, paused: slot.paused, signal: 0, busy }),
      rss: slot.memory.rss,
      vsz: slot.memory.vsz,
      runningTimeUs: Math.round(b.rt + (row?.busyUs ?? 0)),
      lastSpawn: slot.lastSpawnS,
      respawnCount: slot.respawnCount,
      tx: b.tx + (row?.tx ?? 0),
      avgRtUs: Math.round(slot.avgRtUs),
      apps: this.appsOf(b, row),
      cores,
    };
  }

  /** One entry per core of the current life (at least one); earlier lives' counts stay on their core. */
  private coresOf(past: Totals, row: WorkerRow | undefined): CoreSnapshot[] {
    const count = Math.max(1, row?.cores.length ?? 0, past.cores.length);
    return Array.from({ length: count }, (_, id) => coreSnapshot(id, past.cores[id], row?.cores[id]));
  }

  /** Dead lives plus the rows of replaced processes still draining. */
  private pastOf(slot: Slot): Totals {
    if (slot.retiring.size === 0) return slot.base;
    const b = slot.base;
    const past: Totals = { ...b, appReq: [...b.appReq], appExc: [...b.appExc], cores: b.cores.map((c) => ({ ...c })) };
    for (const row of slot.retiring.values()) addRow(past, row());
    return past;
  }

  private appsOf(past: Totals, row: WorkerRow | undefined): AppSnapshot[] {
    return this.apps.map((app, id) => ({
      id,
      modifier1: 0,
      mountpoint: app.mountpoint,
      startupTime: 0,
      requests: (past.appReq[id] ?? 0) + (row?.appRequests[id] ?? 0),
      exceptions: (past.appExc[id] ?? 0) + (row?.appExceptions[id] ?? 0),
      chdir: app.chdir,
    }));
  }

  private foldLife(slot: Slot): void {
    const row = slot.alive ? slot.row?.() : undefined;
    slot.row = undefined;
    if (slot.lifeMetrics !== undefined) slot.baseMetrics.add(slot.lifeMetrics);
    slot.lifeMetrics = undefined;
    if (row === undefined) return;
    if (row.requests > 0) slot.avgRtUs = row.avgRtUs;
    addRow(slot.base, row);
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

function addRow(b: Totals, row: WorkerRow): void {
  b.req += row.requests;
  b.exc += row.exceptions;
  b.tx += row.tx;
  b.rt += row.busyUs;
  b.werr += row.writeErrors;
  b.st += row.staticRequests;
  row.appRequests.forEach((n, i) => (b.appReq[i] = (b.appReq[i] ?? 0) + n));
  row.appExceptions.forEach((n, i) => (b.appExc[i] = (b.appExc[i] ?? 0) + n));
  row.cores.forEach((c, i) => {
    const t = b.cores[i] ?? { req: 0, st: 0, werr: 0 };
    t.req += c.requests;
    t.st += c.staticRequests;
    t.werr += c.writeErrors;
    b.cores[i] = t;
  });
}

/** A core's figures: earlier lives' totals plus the live row; busy and its request only from the live row. */
function coreSnapshot(id: number, past: CoreTotals | undefined, live: CoreRow | undefined): CoreSnapshot {
  const core = idleCore(id);
  core.requests = (past?.req ?? 0) + (live?.requests ?? 0);
  core.staticRequests = (past?.st ?? 0) + (live?.staticRequests ?? 0);
  core.writeErrors = (past?.werr ?? 0) + (live?.writeErrors ?? 0);
  if (live !== undefined && live.requestStartMs > 0) {
    core.inRequest = true;
    core.requestStart = Math.floor(live.requestStartMs / 1000);
    core.vars = describedVars(live.current);
  }
  if (live !== undefined && live.openSinceMs > 0) core.openConnection = true;
  return core;
}

/**
 * The running request's vars, from the row's "ADDR - METHOD URI": the ones
 * uWSGI's uwsgitop and our dashboard show (a row has no room for all of them).
 */
export function describedVars(description: string): string[] {
  const dash = description.indexOf(' - ');
  if (dash < 0) return [];
  const request = description.slice(dash + 3);
  const space = request.indexOf(' ');
  if (space < 0) return [];
  return [`REQUEST_METHOD=${request.slice(0, space)}`, `REQUEST_URI=${request.slice(space + 1)}`, `REMOTE_ADDR=${description.slice(0, dash)}`];
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
    base: { req: 0, exc: 0, tx: 0, rt: 0, werr: 0, st: 0, appReq: [], appExc: [], cores: [] },
    baseMetrics: new RequestMetrics(),
    row: undefined,
    retiring: new Map(),
    lifeMetrics: undefined,
  };
}
