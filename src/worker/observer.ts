import { ScoreboardWriter } from '../contracts/scoreboard';
import { mapSharedMemory } from '../util/shm';
import type { Exchange } from './exchange';
import type { RequestObserver } from './runner';
import type { RecyclePolicy, WorkerConfig } from '../contracts/worker-config';
import { startStatsReporter, WorkerCounters, type StatsReporter, type WorkerStatsMessage } from '../stats/worker-counters';

export type { RecyclePolicy } from '../contracts/worker-config';

/**
 * Watches a worker's requests: fills its scoreboard row (harakiri, stats,
 * SIGUSR1/2 read it) and asks for a replacement when a recycling limit is
 * reached. The worker keeps serving until its replacement is ready and the
 * master tells it to drain, so recycling never refuses a connection; except
 * past reload-on-rss, where it stops taking new work at once (`retire`), so
 * a leak stops growing while the other workers serve.
 */
export class WorkerObserver implements RequestObserver {
  private readonly board: ScoreboardWriter | undefined;
  private readonly policy: RecyclePolicy;
  private readonly startedAt = Date.now();
  private readonly recycle: (reason: string, retire: boolean) => void;
  private requests = 0;
  private asked = false;
  private readonly maxRequests: number;
  /** Per-status counters and latency histograms, only when the master serves stats or metrics. */
  private readonly counters: WorkerCounters | undefined;
  private reporter: StatsReporter | undefined;

  constructor(config: WorkerConfig, recycle: (reason: string, retire: boolean) => void) {
    this.counters = config.stats ? new WorkerCounters(config.threads) : undefined;
    this.policy = config.recycle;
    this.recycle = recycle;
    const p = config.recycle;
    this.maxRequests = p.maxRequests > 0 ? p.maxRequests + config.id * p.maxRequestsDelta : 0;
    const sb = config.scoreboard;
    this.board = sb === undefined ? undefined : new ScoreboardWriter(mapSharedMemory(sb.fd, sb.bytes), sb.row, config.threads);
  }

  /** Send a stats report to the master every second (and a last one on flush), when stats are on. */
  startReporting(send: (msg: WorkerStatsMessage) => void): void {
    if (this.counters !== undefined && this.reporter === undefined) this.reporter = startStatsReporter(this.counters, send);
  }

  /** The last report, before a graceful exit, so the final requests count. */
  flushReport(): void {
    this.reporter?.flush();
  }

  started(ex: Exchange): void {
    const now = Date.now();
    this.board?.requestStarted(ex.core, `${ex.remoteAddr} - ${ex.method} ${ex.uri}`, now);
    this.counters?.begin(ex.appId, ex.vars, now, ex.core);
  }

  finished(ex: Exchange, bodyBytes: number, status: number): void {
    const durationUs = (Date.now() - ex.startedAtMs) * 1000;
    this.board?.requestFinished(ex.core, ex.appId, bodyBytes, durationUs, status >= 500);
    this.counters?.end({ appId: ex.appId, status, durationUs, txBytes: bodyBytes, exception: status >= 500 }, ex.core);
    this.requests++;
    const max = this.maxRequests;
    if (max > 0 && this.requests >= max) this.ask(`max requests reached (${max})`, Date.now());
    // As uWSGI, after every request: a leak is caught before the next one adds to it.
    if (this.policy.reloadOnRssBytes > 0) this.checkRss(Date.now());
  }

  /**
   * A static file was served (never through Python): the stats count it
   * (static_requests), max-requests counts it as uWSGI does, but the
   * scoreboard row is left alone: a static response may end while Python is
   * busy with another request, and harakiri must keep timing that one.
   */
  staticFinished(ex: Exchange, bodyBytes: number, status: number, writeError: boolean): void {
    this.counters?.staticServed({ status, durationUs: (Date.now() - ex.startedAtMs) * 1000, txBytes: bodyBytes, writeError });
    this.requests++;
    const max = this.maxRequests;
    if (max > 0 && this.requests >= max) this.ask(`max requests reached (${max})`, Date.now());
  }

  /** Once a second: the limits that are not counted in requests. */
  checkLimits(now: number): void {
    const p = this.policy;
    if (p.maxLifetimeMs > 0 && now - this.startedAt >= p.maxLifetimeMs) this.ask('max worker lifetime reached', now);
    if (p.reloadOnRssBytes > 0) this.checkRss(now);
  }

  private checkRss(now: number): void {
    if (this.asked) return;
    const rss = process.memoryUsage.rss();
    if (rss > this.policy.reloadOnRssBytes) this.ask(`rss ${Math.round(rss / 1048576)} MB above reload-on-rss`, now, true);
  }

  private ask(reason: string, now: number, retire = false): void {
    if (this.asked) return;
    // uWSGI's guard: a worker younger than min-worker-lifetime keeps serving
    // (checked again on the next request or second).
    if (now - this.startedAt < this.policy.minLifetimeMs) return;
    this.asked = true;
    this.recycle(reason, retire);
  }
}
