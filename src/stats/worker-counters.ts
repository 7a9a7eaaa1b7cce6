/**
 * The worker's side of the stats: counters bumped on the request path and a
 * compact report sent to the master over the IPC channel.
 *
 * Why a periodic push and not shared memory or a request/reply: the master
 * must never wait on a worker (a worker inside a long Python call cannot
 * answer), and one small JSON message a second per worker costs nothing. The
 * master renders from the last report; a worker that stops reporting while
 * alive is stuck in Python, which WorkerStatsBook shows as 'busy'.
 */
import { RequestMetrics, type SerializedRequestMetrics } from './request-metrics';

/** The IPC message a worker sends: `{ type: 'stats', report }`. */
export const STATS_MESSAGE_TYPE = 'stats';

/** How often a worker reports; the master's staleness threshold is derived from it. */
export const DEFAULT_REPORT_INTERVAL_MS = 1000;

export interface WorkerStatsMessage {
  type: typeof STATS_MESSAGE_TYPE;
  report: WorkerReport;
}

/** Everything counts this worker life only; the master adds up the lives. */
export interface WorkerReport {
  /** Requests finished. */
  req: number;
  /** App exceptions (the app raised, or its iterable failed mid-stream). */
  exc: number;
  /** Bytes written to clients (head + body). */
  tx: number;
  /** Sum of request durations, µs. */
  rt: number;
  /** uWSGI's running average, µs. */
  avg: number;
  rerr: number;
  werr: number;
  /** 1 while a request is in flight when the report is made. */
  busy: 0 | 1;
  /** Epoch seconds the running request started; 0 when idle. */
  since: number;
  /** The running request's vars as "KEY=VALUE"; empty when idle. */
  vars: string[];
  /** Per app id: [requests started, exceptions]. */
  apps: Array<[number, number]>;
  /** Requests answered from static files (uWSGI's static_requests; absent in older reports). */
  st?: number;
  m: SerializedRequestMetrics;
  /** Per core, only when the worker runs more than one (--threads); else core 0 is the worker. */
  cores?: CoreReport[];
}

/** One core's part of a report (stats `cores[]`). */
export interface CoreReport {
  req: number;
  rerr: number;
  werr: number;
  busy: 0 | 1;
  since: number;
  vars: string[];
}

/** A core's counters, with its running request's vars kept by reference until reported. */
class CoreCounters {
  req = 0;
  rerr = 0;
  werr = 0;
  since = 0;
  vars: Vars | null = null;

  report(): CoreReport {
    const vars = this.vars;
    return {
      req: this.req,
      rerr: this.rerr,
      werr: this.werr,
      busy: vars !== null ? 1 : 0,
      since: vars !== null ? this.since : 0,
      vars: vars !== null ? vars.map(([k, v]) => `${k}=${v}`) : [],
    };
  }
}

export interface RequestOutcome {
  appId?: number;
  status: number;
  durationUs: number;
  txBytes: number;
  /** The app raised (500 sent, or the stream cut). */
  exception?: boolean;
  /** Writing to the client failed. */
  writeError?: boolean;
  /** Reading the request failed. */
  readError?: boolean;
}

type Vars = ReadonlyArray<readonly [string, string]>;

export class WorkerCounters {
  private requests = 0;
  private exceptions = 0;
  private tx = 0;
  private runningTimeUs = 0;
  private avgRtUs = 0;
  private readErrors = 0;
  private writeErrors = 0;
  private inFlight = 0;
  private staticRequests = 0;
  private since = 0;
  /** A reference to the running request's vars: turned into strings only when reported. */
  private currentVars: Vars = [];
  private readonly apps: Array<[number, number]> = [];
  private readonly metrics = new RequestMetrics();
  /** Per core, when there is more than one. */
  private readonly cores: CoreCounters[] | undefined;

  constructor(cores = 1) {
    this.cores = cores > 1 ? Array.from({ length: cores }, () => new CoreCounters()) : undefined;
  }

  /** A request was handed to the app on `core`. */
  begin(appId = 0, vars: Vars = [], nowMs = Date.now(), core = 0): void {
    this.app(appId)[0]++;
    const c = this.cores?.[core];
    if (c !== undefined) {
      c.since = Math.floor(nowMs / 1000);
      c.vars = vars;
    }
    if (this.inFlight++ === 0) {
      this.since = Math.floor(nowMs / 1000);
      this.currentVars = vars;
    }
  }

  /** The response is complete (or abandoned); call exactly once per begin(). */
  end(o: RequestOutcome, core = 0): void {
    const c = this.cores?.[core];
    if (c !== undefined) {
      c.req++;
      c.vars = null;
      if (o.writeError === true) c.werr++;
      if (o.readError === true) c.rerr++;
    }
    const us = o.durationUs > 0 ? Math.round(o.durationUs) : 0;
    this.requests++;
    this.runningTimeUs += us;
    // uWSGI's own formula (core/utils.c): a running average that halves the past each time.
    this.avgRtUs = Math.floor((this.avgRtUs + us) / 2);
    this.tx += o.txBytes > 0 ? o.txBytes : 0;
    if (o.exception === true) {
      this.exceptions++;
      this.app(o.appId ?? 0)[1]++;
    }
    if (o.writeError === true) this.writeErrors++;
    if (o.readError === true) this.readErrors++;
    this.metrics.observe(o.status, us);
    if (this.inFlight > 0 && --this.inFlight === 0) {
      this.since = 0;
      this.currentVars = [];
    }
  }

  /**
   * A request answered by the static file server: a request like any other
   * for the totals, but never "in flight" (it does not hold the worker) and,
   * as uWSGI (do_not_account_avg_rt), not part of the running average.
   */
  staticServed(o: RequestOutcome): void {
    const us = o.durationUs > 0 ? Math.round(o.durationUs) : 0;
    this.requests++;
    this.staticRequests++;
    this.runningTimeUs += us;
    this.tx += o.txBytes > 0 ? o.txBytes : 0;
    if (o.writeError === true) this.writeErrors++;
    this.metrics.observe(o.status, us);
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  report(): WorkerReport {
    const report: WorkerReport = {
      req: this.requests,
      exc: this.exceptions,
      tx: this.tx,
      rt: this.runningTimeUs,
      avg: this.avgRtUs,
      rerr: this.readErrors,
      werr: this.writeErrors,
      busy: this.inFlight > 0 ? 1 : 0,
      since: this.since,
      vars: this.inFlight > 0 ? this.currentVars.map(([k, v]) => `${k}=${v}`) : [],
      apps: this.apps.map(([r, e]) => [r, e]),
      st: this.staticRequests,
      m: this.metrics.serialize(),
    };
    if (this.cores !== undefined) report.cores = this.cores.map((c) => c.report());
    return report;
  }

  private app(id: number): [number, number] {
    while (this.apps.length <= id) this.apps.push([0, 0]);
    return this.apps[id]!;
  }
}

export interface StatsReporter {
  /** Send a report now (e.g. before a graceful exit, so the last requests count). */
  flush(): void;
  stop(): void;
}

/**
 * Sends a report every `intervalMs`, changed or not: the reports double as a
 * heartbeat, and a worker whose reports stop while it lives is blocked in
 * Python (WorkerStatsBook shows it busy). The timer is unref'd: it never keeps
 * a worker alive.
 */
export function startStatsReporter(counters: WorkerCounters, send: (msg: WorkerStatsMessage) => void, intervalMs = DEFAULT_REPORT_INTERVAL_MS): StatsReporter {
  const tick = (): void => {
    try {
      send({ type: STATS_MESSAGE_TYPE, report: counters.report() });
    } catch {
      // The IPC channel is closing (master gone or we are exiting): stats are best effort.
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    flush: tick,
    stop: () => clearInterval(timer),
  };
}

/** Type guard for the master's message handler. */
export function isWorkerStatsMessage(msg: unknown): msg is WorkerStatsMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { type?: unknown; report?: unknown };
  return m.type === STATS_MESSAGE_TYPE && typeof m.report === 'object' && m.report !== null;
}
