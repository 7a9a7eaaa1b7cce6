/**
 * The scoreboard: one row of numbers per worker slot in shared memory. The
 * worker writes its row as it serves (a few stores per request, no system
 * call, no message); the master reads every row for harakiri, stats, SIGUSR1
 * and SIGUSR2 — even while the worker is stuck inside Python, which is when
 * the master most needs to know what it is doing.
 */

export const MAX_APPS = 8;

/** Offsets in a row of float64s. */
const PID = 0;
/** Epoch ms when the running request started; 0 = idle. */
const REQUEST_START = 1;
const REQUESTS = 2;
const EXCEPTIONS = 3;
/** Body bytes sent. */
const TX = 4;
/** Mean response time, µs. */
const AVG_RT_US = 5;
/** Time spent in requests since spawn, µs: the master's load measure (cheaper mode). */
const BUSY_US = 6;
/** Requests per app, for the first MAX_APPS apps. */
const APP_REQUESTS = 7;
/** Length of the request description stored as bytes after the numbers. */
const DESC_LENGTH = APP_REQUESTS + MAX_APPS;
const DESC_START = DESC_LENGTH + 1;
/** Room for "127.0.0.1 - GET /uri", cut to fit. */
const DESC_BYTES = 248;
const ROW_FLOATS = DESC_START + DESC_BYTES / 8;
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

export interface WorkerRow {
  pid: number;
  requestStartMs: number;
  requests: number;
  exceptions: number;
  tx: number;
  avgRtUs: number;
  busyUs: number;
  appRequests: number[];
  /** What the running request is: "ADDR - METHOD URI" ('' when idle). */
  current: string;
}

/** A worker's own row: what it writes as it serves. */
export class ScoreboardWriter {
  private readonly row: Float64Array;
  private readonly bytes: Uint8Array;

  constructor(memory: Float64Array, row: number) {
    this.row = memory.subarray(row * ROW_FLOATS, (row + 1) * ROW_FLOATS);
    this.bytes = new Uint8Array(this.row.buffer, this.row.byteOffset + DESC_START * 8, DESC_BYTES);
    this.row.fill(0);
    this.row[PID] = process.pid;
  }

  requestStarted(description: string, now: number): void {
    const n = Math.min(description.length, DESC_BYTES);
    for (let i = 0; i < n; i++) this.bytes[i] = description.charCodeAt(i) & 0xff;
    this.row[DESC_LENGTH] = n;
    this.row[REQUEST_START] = now;
  }

  requestFinished(appId: number, bodyBytes: number, durationUs: number, failed: boolean): void {
    const row = this.row;
    row[REQUEST_START] = 0;
    row[DESC_LENGTH] = 0;
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
    const descLength = Math.min(m[base + DESC_LENGTH] as number, DESC_BYTES);
    const bytes = new Uint8Array(m.buffer, m.byteOffset + (base + DESC_START) * 8, descLength);
    const appRequests: number[] = [];
    for (let i = 0; i < MAX_APPS; i++) appRequests.push(m[base + APP_REQUESTS + i] as number);
    return {
      pid: m[base + PID] as number,
      requestStartMs: m[base + REQUEST_START] as number,
      requests: m[base + REQUESTS] as number,
      exceptions: m[base + EXCEPTIONS] as number,
      tx: m[base + TX] as number,
      avgRtUs: m[base + AVG_RT_US] as number,
      busyUs: m[base + BUSY_US] as number,
      appRequests,
      current: Buffer.from(bytes).toString('latin1'),
    };
  }

  /** A freshly spawned worker starts from zero, like uWSGI's respawned workers. */
  clear(row: number): void {
    this.memory.fill(0, row * ROW_FLOATS, (row + 1) * ROW_FLOATS);
  }
}
