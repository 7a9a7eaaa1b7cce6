/**
 * The scoreboard: one row of numbers per worker slot in shared memory. The
 * worker writes its row as it serves (a few stores per request, no system
 * call, no message); the master reads every row for harakiri, stats, SIGUSR1
 * and SIGUSR2 — even while the worker is stuck inside Python, which is when
 * the master most needs to know what it is doing.
 */

export const MAX_APPS = 8;
/** Cores per row (the --threads maximum). Untouched cores cost no memory: the memfd is sparse. */
export const MAX_CORES = 256;

/** Offsets in a row of float64s. */
const PID = 0;
/** Cores the worker runs (--threads). */
const CORES = 1;
const REQUESTS = 2;
const EXCEPTIONS = 3;
/** Body bytes sent. */
const TX = 4;
/** Mean response time, µs. */
const AVG_RT_US = 5;
/** Time spent in requests since spawn, summed over cores, µs: the master's load measure (cheaper mode). */
const BUSY_US = 6;
/** Requests per app, for the first MAX_APPS apps. */
const APP_REQUESTS = 7;
const CORE_AREA = APP_REQUESTS + MAX_APPS;
/** Per core: epoch ms when its running request started (0 = idle), its requests, the description's length, then the description. */
const CORE_START = 0;
const CORE_REQUESTS = 1;
const CORE_DESC_LENGTH = 2;
const CORE_DESC = 3;
/** Room for "127.0.0.1 - GET /uri", cut to fit. */
const DESC_BYTES = 248;
const CORE_FLOATS = CORE_DESC + DESC_BYTES / 8;
const ROW_FLOATS = CORE_AREA + MAX_CORES * CORE_FLOATS;
export const ROW_BYTES = ROW_FLOATS * 8;

/**
 * Rows are handed to processes, not to worker ids: while a worker is replaced
 * (reload, recycling) the old and the new one run side by side and each needs
 * its own row. Four per worker id leaves room for a reload during a reload.
 */
export function scoreboardRows(processes: number): number {
  return processes * 4;
}

export function scoreboardBytes(rows: number): number {
  return rows * ROW_BYTES;
}

export interface CoreRow {
  id: number;
  /** Epoch ms when its running request started; 0 = idle. */
  requestStartMs: number;
  requests: number;
  /** What the running request is: "ADDR - METHOD URI" ('' when idle). */
  current: string;
}

export interface WorkerRow {
  pid: number;
  /** The oldest running request's start (0 = every core idle), and what it is. */
  requestStartMs: number;
  current: string;
  requests: number;
  exceptions: number;
  tx: number;
  avgRtUs: number;
  busyUs: number;
  appRequests: number[];
  /** One per core the worker runs. */
  cores: CoreRow[];
}

/** A worker's own row: what it writes as it serves. */
export class ScoreboardWriter {
  private readonly row: Float64Array;

  constructor(memory: Float64Array, row: number, cores = 1) {
    this.row = memory.subarray(row * ROW_FLOATS, (row + 1) * ROW_FLOATS);
    this.row.fill(0);
    this.row[PID] = process.pid;
    this.row[CORES] = Math.min(Math.max(1, cores), MAX_CORES);
  }

  requestStarted(core: number, description: string, now: number): void {
    if (core >= MAX_CORES) return;
    const base = CORE_AREA + core * CORE_FLOATS;
    const bytes = new Uint8Array(this.row.buffer, this.row.byteOffset + (base + CORE_DESC) * 8, DESC_BYTES);
    const n = Math.min(description.length, DESC_BYTES);
    for (let i = 0; i < n; i++) bytes[i] = description.charCodeAt(i) & 0xff;
    this.row[base + CORE_DESC_LENGTH] = n;
    this.row[base + CORE_START] = now;
  }

  requestFinished(core: number, appId: number, bodyBytes: number, durationUs: number, failed: boolean): void {
    const row = this.row;
    if (core < MAX_CORES) {
      const base = CORE_AREA + core * CORE_FLOATS;
      row[base + CORE_START] = 0;
      row[base + CORE_DESC_LENGTH] = 0;
      row[base + CORE_REQUESTS] = (row[base + CORE_REQUESTS] as number) + 1;
    }
    const done = row[REQUESTS] as number;
    row[REQUESTS] = done + 1;
    if (failed) row[EXCEPTIONS] = (row[EXCEPTIONS] as number) + 1;
    row[TX] = (row[TX] as number) + bodyBytes;
    row[AVG_RT_US] = ((row[AVG_RT_US] as number) * done + durationUs) / (done + 1);
    row[BUSY_US] = (row[BUSY_US] as number) + durationUs;
    if (appId < MAX_APPS) row[APP_REQUESTS + appId] = (row[APP_REQUESTS + appId] as number) + 1;
  }
}

/** The master's view of every row. */
export class ScoreboardReader {
  private readonly memory: Float64Array;

  constructor(memory: Float64Array) {
    this.memory = memory;
  }

  read(row: number): WorkerRow {
    const base = row * ROW_FLOATS;
    const m = this.memory;
    const appRequests: number[] = [];
    for (let i = 0; i < MAX_APPS; i++) appRequests.push(m[base + APP_REQUESTS + i] as number);
    const coreCount = Math.min(Math.max(1, m[base + CORES] as number), MAX_CORES);
    const cores: CoreRow[] = [];
    let oldest: CoreRow | undefined;
    for (let id = 0; id < coreCount; id++) {
      const core = this.readCore(base + CORE_AREA + id * CORE_FLOATS, id);
      if (core.requestStartMs > 0 && (oldest === undefined || core.requestStartMs < oldest.requestStartMs)) oldest = core;
      cores.push(core);
    }
    return {
      pid: m[base + PID] as number,
      requestStartMs: oldest?.requestStartMs ?? 0,
      current: oldest?.current ?? '',
      requests: m[base + REQUESTS] as number,
      exceptions: m[base + EXCEPTIONS] as number,
      tx: m[base + TX] as number,
      avgRtUs: m[base + AVG_RT_US] as number,
      busyUs: m[base + BUSY_US] as number,
      appRequests,
      cores,
    };
  }

  private readCore(base: number, id: number): CoreRow {
    const m = this.memory;
    const descLength = Math.min(m[base + CORE_DESC_LENGTH] as number, DESC_BYTES);
    const bytes = new Uint8Array(m.buffer, m.byteOffset + (base + CORE_DESC) * 8, descLength);
    return {
      id,
      requestStartMs: m[base + CORE_START] as number,
      requests: m[base + CORE_REQUESTS] as number,
      current: Buffer.from(bytes).toString('latin1'),
    };
  }

  /** A freshly spawned worker starts from zero, like uWSGI's respawned workers. */
  clear(row: number): void {
    this.memory.fill(0, row * ROW_FLOATS, (row + 1) * ROW_FLOATS);
  }
}
