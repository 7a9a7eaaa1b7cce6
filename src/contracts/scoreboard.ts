/**
 * The scoreboard: one row of numbers per worker process in shared memory, and
 * the single source of every stats counter and state (docs/stats.md, "Where
 * each figure comes from"). The worker writes its row as it serves (a few
 * stores per request, no system call, no message); the master reads every
 * row for harakiri, stats, SIGUSR1 and SIGUSR2 — even while the worker is
 * stuck inside Python, which is when the master most needs to know what it
 * is doing. Only the latency histograms travel as messages (reports).
 */

// The global `performance` is a lazy getter on globalThis, called on every use: the module's object is not.
import { performance } from 'node:perf_hooks';

export const MAX_APPS = 8;
/**
 * Cores per row unless the master asks for more: the --threads maximum. An
 * ASGI worker's cores are its --asgi-concurrency slots (uWSGI's async cores),
 * so the master sizes rows for the larger of the two (rowCores). Untouched
 * cores cost no memory: the memfd is sparse, and only the cores a worker runs
 * are ever written or cleared.
 */
export const MAX_CORES = 256;

/** Offsets in a row of float64s. */
const PID = 0;
/** Cores the worker runs (--threads). */
const CORES = 1;
/** Requests finished, static files included (uWSGI's worker "requests"). */
const REQUESTS = 2;
/** Exceptions the app raised (or a stream broken mid-way, or a write error uWSGI counts). */
const EXCEPTIONS = 3;
/** Bytes sent: response head + body, as uWSGI counts. */
const TX = 4;
/** uWSGI's running average, µs: avg = (avg + rt) / 2 after each app request. */
const AVG_RT_US = 5;
/** Time inside the app, summed over requests and cores, µs: running_time, and the master's load measure (cheaper). */
const BUSY_US = 6;
const STATIC_REQUESTS = 7;
const WRITE_ERRORS = 8;
/** Requests per app (counted when they start) and exceptions per app, for the first MAX_APPS apps. */
const APP_REQUESTS = 9;
const APP_EXCEPTIONS = APP_REQUESTS + MAX_APPS;
const CORE_AREA = APP_EXCEPTIONS + MAX_APPS;
/**
 * Per core: epoch ms (fractional: µs precision) when its running request
 * entered the app (0 = idle; negative: a long-lived connection, a WebSocket
 * after its 101, open since minus that), its requests, static requests, write errors,
 * the description's length, then the description.
 */
const CORE_START = 0;
const CORE_REQUESTS = 1;
const CORE_STATIC = 2;
const CORE_WRITE_ERRORS = 3;
const CORE_DESC_LENGTH = 4;
const CORE_DESC = 5;
/** Room for "127.0.0.1 - GET /uri", cut to fit. */
const DESC_BYTES = 240;
const CORE_FLOATS = CORE_DESC + DESC_BYTES / 8;

/** Floats in a row holding `rowCores` cores. */
function rowFloats(rowCores: number): number {
  return CORE_AREA + rowCores * CORE_FLOATS;
}

/** A row of the default size (MAX_CORES cores): tests and single-process workers. */
export const ROW_BYTES = rowFloats(MAX_CORES) * 8;

/**
 * Cores per row for an instance: enough for --threads and, when an ASGI app
 * may run, --asgi-concurrency (each slot is a core, as uWSGI's async cores
 * are), never fewer than MAX_CORES (a reload may raise --threads up to it).
 */
export function rowCores(threads: number, asgiConcurrency = 0): number {
  const finite = (n: number): number => (Number.isFinite(n) ? n : 0); // a partial template (tests of the master) has neither
  return Math.max(MAX_CORES, finite(threads), finite(asgiConcurrency));
}

/**
 * Rows are handed to processes, not to worker ids: while a worker is replaced
 * (reload, recycling) the old and the new one run side by side and each needs
 * its own row. Four per worker id leaves room for a reload during a reload.
 */
export function scoreboardRows(processes: number): number {
  return processes * 4;
}

export function scoreboardBytes(rows: number, cores = MAX_CORES): number {
  return rows * rowFloats(cores) * 8;
}

/** Epoch milliseconds with the fraction performance.now() gives: durations in µs, not whole ms. */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface CoreRow {
  id: number;
  /** Epoch ms (fractional) when its running request entered the app; 0 = idle. */
  requestStartMs: number;
  /** Epoch ms since when it holds a long-lived connection (a WebSocket after its 101); 0 = none. Not "in a request". */
  openSinceMs: number;
  requests: number;
  staticRequests: number;
  writeErrors: number;
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
  /** Time inside the app, µs (running_time). */
  busyUs: number;
  staticRequests: number;
  writeErrors: number;
  appRequests: number[];
  appExceptions: number[];
  /** One per core the worker runs (an ASGI worker: one per --asgi-concurrency slot). */
  cores: CoreRow[];
  /** Cores running a request inside the app now (requestStartMs > 0). */
  inRequest: number;
  /** Long-lived connections open now (WebSockets after their 101). */
  openConnections: number;
}

/** How an app request ended, for its row. */
export interface FinishedRequest {
  appId: number;
  /** Head + body bytes written. */
  txBytes: number;
  /** The app raised (or its iterable failed, or a write error uWSGI counts as one). */
  exception: boolean;
  writeError: boolean;
}

/** `s` (latin-1, one byte per char) into a core's description at `at`, cut at DESC_BYTES; returns the new length. */
function putDesc(bytes: Uint8Array, at: number, s: string): number {
  const n = Math.min(s.length, DESC_BYTES - at);
  for (let i = 0; i < n; i++) bytes[at + i] = s.charCodeAt(i) & 0xff;
  return at + n;
}

/** A worker's own row: what it writes as it serves. */
export class ScoreboardWriter {
  private readonly row: Float64Array;
  /** Cores written: the worker's cores, at most the row's room. */
  private readonly cores: number;
  /** Each core's description bytes, made once: a typed array per request was a measurable part of it. */
  private readonly descViews: Array<Uint8Array | undefined> = [];

  /** `rowCores`: the room of every row (the master's rowCores); the worker runs `cores` of them. */
  constructor(memory: Float64Array, row: number, cores = 1, rowCores = MAX_CORES) {
    const floats = rowFloats(rowCores);
    this.cores = Math.min(Math.max(1, cores), rowCores);
    // Only the part this worker uses is touched: a row sized for 65535 ASGI slots stays sparse for a 1-thread worker.
    this.row = memory.subarray(row * floats, row * floats + rowFloats(this.cores));
    this.row.fill(0);
    this.row[PID] = process.pid;
    this.row[CORES] = this.cores;
  }

  /** A worker without a master (no shared scoreboard) counts in a private row: the same code, read by nobody else. */
  static private(cores = 1): ScoreboardWriter {
    const room = Math.max(1, cores);
    return new ScoreboardWriter(new Float64Array(rowFloats(room)), 0, room, room);
  }

  /** The request enters the app on `core` now: the core is busy until requestFinished. */
  requestStarted(core: number, appId: number, description: string, nowMs = preciseNowMs()): void {
    this.requestStartedAs(core, appId, description, '', '', '', '', nowMs);
  }

  /**
   * requestStarted with the description given in pieces, written one after
   * the other ("ADDR - METHOD URI" without joining them: a joined string
   * per request, flattened to be read, was most of what this cost).
   */
  requestStartedAs(core: number, appId: number, a: string, b: string, c: string, d: string, e: string, nowMs = preciseNowMs()): void {
    if (appId >= 0 && appId < MAX_APPS) this.add(APP_REQUESTS + appId, 1);
    if (core >= this.cores) return;
    const base = CORE_AREA + core * CORE_FLOATS;
    const bytes = (this.descViews[core] ??= new Uint8Array(this.row.buffer, this.row.byteOffset + (base + CORE_DESC) * 8, DESC_BYTES));
    let n = putDesc(bytes, 0, a);
    n = putDesc(bytes, n, b);
    n = putDesc(bytes, n, c);
    n = putDesc(bytes, n, d);
    n = putDesc(bytes, n, e);
    this.row[base + CORE_DESC_LENGTH] = n;
    this.row[base + CORE_START] = nowMs;
  }

  /**
   * The request on `core` became a long-lived connection (a WebSocket after
   * its 101): no longer "in a request" for harakiri, the busy figures and the
   * busy time, but shown open (a negative start); requestFinished still
   * counts it when it ends.
   */
  requestDetached(core: number, nowMs = preciseNowMs()): void {
    if (core >= this.cores) return;
    this.row[CORE_AREA + core * CORE_FLOATS + CORE_START] = -nowMs;
  }

  /** The response on `core` is over; returns its time inside the app in µs. */
  requestFinished(core: number, f: FinishedRequest, nowMs = preciseNowMs()): number {
    let durationUs = 0;
    let longLived = false;
    if (core < this.cores) {
      const base = CORE_AREA + core * CORE_FLOATS;
      const start = this.row[base + CORE_START] as number;
      if (start > 0) durationUs = Math.max(0, Math.round((nowMs - start) * 1000));
      longLived = start < 0;
      this.row[base + CORE_START] = 0;
      this.row[base + CORE_DESC_LENGTH] = 0;
      this.add(base + CORE_REQUESTS, 1);
      if (f.writeError) this.add(base + CORE_WRITE_ERRORS, 1);
    }
    this.add(REQUESTS, 1);
    if (f.exception) {
      this.add(EXCEPTIONS, 1);
      if (f.appId >= 0 && f.appId < MAX_APPS) this.add(APP_EXCEPTIONS + f.appId, 1);
    }
    if (f.writeError) this.add(WRITE_ERRORS, 1);
    this.add(TX, Math.max(0, f.txBytes));
    // A WebSocket's hours would swamp the average of the requests (as uWSGI's do_not_account_avg_rt).
    if (longLived) return 0;
    // uWSGI's own formula (core/utils.c): a running average that halves the past each time.
    this.row[AVG_RT_US] = Math.floor(((this.row[AVG_RT_US] as number) + durationUs) / 2);
    this.add(BUSY_US, durationUs);
    return durationUs;
  }

  /**
   * A static file was served by Node (never through Python): a request for
   * the totals and core 0's static_requests, but, as uWSGI
   * (do_not_account_avg_rt), no part of the average or the time in the app,
   * and no core start is touched: harakiri keeps timing the app's request.
   */
  staticServed(txBytes: number, writeError: boolean): void {
    this.add(REQUESTS, 1);
    this.add(STATIC_REQUESTS, 1);
    this.add(TX, Math.max(0, txBytes));
    this.add(CORE_AREA + CORE_STATIC, 1);
    this.add(CORE_AREA + CORE_REQUESTS, 1);
    if (writeError) {
      this.add(WRITE_ERRORS, 1);
      this.add(CORE_AREA + CORE_WRITE_ERRORS, 1);
    }
  }

  /** Requests finished by this worker (the request log's "req: a/N", max-requests). */
  get requests(): number {
    return this.row[REQUESTS] as number;
  }

  /** Requests started on app `appId` (the request log's "req: N/b"). */
  appRequests(appId: number): number {
    return appId >= 0 && appId < MAX_APPS ? (this.row[APP_REQUESTS + appId] as number) : 0;
  }

  private add(at: number, n: number): void {
    this.row[at] = (this.row[at] as number) + n;
  }
}

/** The master's view of every row. */
export class ScoreboardReader {
  private readonly memory: Float64Array;
  private readonly rowCores: number;
  private readonly floats: number;

  constructor(memory: Float64Array, rowCores = MAX_CORES) {
    this.memory = memory;
    this.rowCores = rowCores;
    this.floats = rowFloats(rowCores);
  }

  read(row: number): WorkerRow {
    const base = row * this.floats;
    const m = this.memory;
    const perApp = (at: number): number[] => Array.from({ length: MAX_APPS }, (_, i) => m[base + at + i] as number);
    const coreCount = this.coresIn(base);
    const cores: CoreRow[] = [];
    let oldest: CoreRow | undefined;
    let inRequest = 0;
    let openConnections = 0;
    for (let id = 0; id < coreCount; id++) {
      const core = this.readCore(base + CORE_AREA + id * CORE_FLOATS, id);
      if (core.requestStartMs > 0) {
        inRequest++;
        if (oldest === undefined || core.requestStartMs < oldest.requestStartMs) oldest = core;
      }
      if (core.openSinceMs > 0) openConnections++;
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
      staticRequests: m[base + STATIC_REQUESTS] as number,
      writeErrors: m[base + WRITE_ERRORS] as number,
      appRequests: perApp(APP_REQUESTS),
      appExceptions: perApp(APP_EXCEPTIONS),
      cores,
      inRequest,
      openConnections,
    };
  }

  /**
   * The cores whose request entered the app at or before `startedBy` (epoch
   * ms): harakiri's once-a-second check, which reads only each core's start
   * (an ASGI worker may have thousands of slots).
   */
  overdue(row: number, startedBy: number): CoreRow[] {
    const base = row * this.floats;
    const m = this.memory;
    const found: CoreRow[] = [];
    for (let id = 0, n = this.coresIn(base); id < n; id++) {
      const at = base + CORE_AREA + id * CORE_FLOATS;
      const start = m[at + CORE_START] as number;
      if (start > 0 && start <= startedBy) found.push(this.readCore(at, id));
    }
    return found;
  }

  private coresIn(base: number): number {
    return Math.min(Math.max(1, this.memory[base + CORES] as number), this.rowCores);
  }

  private readCore(base: number, id: number): CoreRow {
    const m = this.memory;
    const descLength = Math.min(m[base + CORE_DESC_LENGTH] as number, DESC_BYTES);
    const start = m[base + CORE_START] as number;
    return {
      id,
      requestStartMs: Math.max(0, start),
      openSinceMs: start < 0 ? -start : 0,
      requests: m[base + CORE_REQUESTS] as number,
      staticRequests: m[base + CORE_STATIC] as number,
      writeErrors: m[base + CORE_WRITE_ERRORS] as number,
      // Idle cores (most of an ASGI worker's slots) cost no allocation: the master reads every row each second.
      current: descLength > 0 ? Buffer.from(m.buffer, m.byteOffset + (base + CORE_DESC) * 8, descLength).toString('latin1') : '',
    };
  }

  /** A freshly spawned worker starts from zero, like uWSGI's respawned workers. */
  clear(row: number): void {
    // Only the cores its last worker ran (the rest were never written): the memfd stays sparse.
    const base = row * this.floats;
    this.memory.fill(0, base, base + rowFloats(this.coresIn(base)));
  }
}
