import { ScoreboardWriter } from '../contracts/scoreboard';
import { mapSharedMemory } from '../util/shm';
import { RequestMetrics } from '../stats/request-metrics';
import type { Exchange } from './exchange';
import type { RequestObserver, ResponseOutcome } from './runner';
import type { RecyclePolicy, WorkerConfig } from '../contracts/worker-config';
import { startStatsReporter, type StatsReporter, type WorkerStatsMessage } from '../stats/worker-report';

export type { RecyclePolicy } from '../contracts/worker-config';

/**
 * Watches a worker's requests: writes them into its scoreboard row — the one
 * place a worker counts (docs/stats.md) — keeps the latency histogram the
 * master gets once a second, and asks for a replacement when a recycling
 * limit is reached. The worker keeps serving until its replacement is ready
 * and the master tells it to drain, so recycling never refuses a connection;
 * except past reload-on-rss, where it stops taking new work at once
 * (`retire`), so a leak stops growing while the other workers serve.
 */
export class WorkerObserver implements RequestObserver {
  private readonly board: ScoreboardWriter;
  private readonly policy: RecyclePolicy;
  private readonly startedAt = Date.now();
  private readonly recycle: (reason: string, retire: boolean) => void;
  private asked = false;
  private readonly maxRequests: number;
  /** Per-status counts and latency histogram, only when the master serves stats or metrics. */
  private readonly metrics: RequestMetrics | undefined;
  private reporter: StatsReporter | undefined;
  /** WebSockets after their 101: the time their handshake took, what the latency histogram gets for them. */
  private readonly handshakeUs = new WeakMap<Exchange, number>();

  /** `cores`: what the worker runs at once: --threads, or an ASGI worker's --asgi-concurrency slots. */
  constructor(config: WorkerConfig, cores: number, recycle: (reason: string, retire: boolean) => void) {
    this.metrics = config.stats ? new RequestMetrics() : undefined;
    this.policy = config.recycle;
    this.recycle = recycle;
    const p = config.recycle;
    this.maxRequests = p.maxRequests > 0 ? p.maxRequests + config.id * p.maxRequestsDelta : 0;
    const sb = config.scoreboard;
    this.board = sb === undefined ? ScoreboardWriter.private(cores) : new ScoreboardWriter(mapSharedMemory(sb.fd, sb.bytes), sb.row, cores, sb.rowCores);
  }

  /** Send the histograms to the master every second (and a last time on flush), when stats are on. */
  startReporting(send: (msg: WorkerStatsMessage) => void): void {
    if (this.metrics !== undefined && this.reporter === undefined) this.reporter = startStatsReporter(this.metrics, send);
  }

  /** The last report, before a graceful exit, so the final requests count. */
  flushReport(): void {
    this.reporter?.flush();
  }

  /** Requests this worker finished, static files included (uWSGI's "req: a/N"). */
  get requests(): number {
    return this.board.requests;
  }

  appRequests(appId: number): number {
    return this.board.appRequests(appId);
  }

  started(ex: Exchange, nowMs?: number): void {
    this.board.requestStartedAs(ex.core, ex.appId, ex.remoteAddr, ' - ', ex.method, ' ', ex.uri, nowMs);
  }

  /** A WebSocket after its 101: its slot is no longer timed by harakiri (it may stay open for hours). */
  detached(ex: Exchange): void {
    this.board.requestDetached(ex.core);
    if (this.metrics !== undefined) this.handshakeUs.set(ex, Math.max(0, Math.round((Date.now() - ex.startedAtMs) * 1000)));
  }

  finished(ex: Exchange, o: ResponseOutcome): void {
    const writeError = (o.writeErrors ?? 0) > 0;
    const durationUs = this.board.requestFinished(ex.core, { appId: ex.appId, txBytes: o.wireBytes ?? o.headerBytes + o.bodyBytes, exception: o.exception === true, writeError });
    this.metrics?.observe(o.status, this.handshakeUs.get(ex) ?? durationUs);
    this.checkRequests();
    // As uWSGI, after every request: a leak is caught before the next one adds to it.
    if (this.policy.reloadOnRssBytes > 0) this.checkRss(Date.now());
  }

  /**
   * A static file was served (never through Python): counted as a request and
   * a static request, and for max-requests as uWSGI does; the core's running
   * request is left alone (a static response may end while Python is busy
   * with another request, and harakiri must keep timing that one).
   */
  staticFinished(ex: Exchange, o: ResponseOutcome): void {
    this.board.staticServed(o.headerBytes + o.bodyBytes, (o.writeErrors ?? 0) > 0);
    this.metrics?.observe(o.status, Math.max(0, Math.round((Date.now() - ex.startedAtMs) * 1000)));
    this.checkRequests();
  }

  private checkRequests(): void {
    const max = this.maxRequests;
    if (max > 0 && this.board.requests >= max) this.ask(`max requests reached (${max})`, Date.now());
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
