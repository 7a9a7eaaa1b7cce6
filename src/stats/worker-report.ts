/**
 * The one thing a worker sends the master about its requests: its latency
 * histogram and per-status counts (RequestMetrics), once a second. Every
 * counter and state lives in the scoreboard (contracts/scoreboard.ts) — a
 * histogram does not fit a row of numbers worth reading lock-free, so it
 * travels as a message; a report lost or late only delays a chart.
 *
 * Why a push and not a request/reply: the master must never wait on a worker
 * (a worker inside a long Python call cannot answer).
 */
import { RequestMetrics, type SerializedRequestMetrics } from './request-metrics';

/** The IPC message a worker sends: `{ type: 'stats', report }`. */
export const STATS_MESSAGE_TYPE = 'stats';

/** How often a worker reports. */
export const DEFAULT_REPORT_INTERVAL_MS = 1000;

export interface WorkerStatsMessage {
  type: typeof STATS_MESSAGE_TYPE;
  report: WorkerReport;
}

/** This worker life's histograms; the master adds up the lives. */
export interface WorkerReport {
  m: SerializedRequestMetrics;
}

export interface StatsReporter {
  /** Send a report now (e.g. before a graceful exit, so the last requests count). */
  flush(): void;
  stop(): void;
}

/** Sends `metrics` every `intervalMs`. The timer is unref'd: it never keeps a worker alive. */
export function startStatsReporter(metrics: RequestMetrics, send: (msg: WorkerStatsMessage) => void, intervalMs = DEFAULT_REPORT_INTERVAL_MS): StatsReporter {
  let sentCount = -1;
  const tick = (): void => {
    if (metrics.count === sentCount) return; // nothing new: the master has it already
    try {
      send({ type: STATS_MESSAGE_TYPE, report: { m: metrics.serialize() } });
      sentCount = metrics.count;
    } catch {
      // The IPC channel is closing (master gone or we are exiting): stats are best effort.
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return { flush: tick, stop: () => clearInterval(timer) };
}

/** Type guard for the master's message handler. */
export function isWorkerStatsMessage(msg: unknown): msg is WorkerStatsMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { type?: unknown; report?: unknown };
  if (m.type !== STATS_MESSAGE_TYPE || typeof m.report !== 'object' || m.report === null) return false;
  return typeof (m.report as { m?: unknown }).m === 'object';
}
