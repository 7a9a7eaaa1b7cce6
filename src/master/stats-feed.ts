/**
 * The master's stats: the per-slot ledger fed by worker events and reports,
 * the once-a-second listen queue check, and the servers that publish them
 * (--stats in uWSGI's JSON, --metrics in Prometheus text).
 *
 * Kept out of master.ts so supervision reads as supervision: the master only
 * tells this object what happened to which worker.
 */
import type { AppDescriptor } from '../stats/worker-book';
import { WorkerStatsBook } from '../stats/worker-book';
import { ListenQueueMonitor, type MonitoredSocket } from '../stats/listen-queue';
import { effectiveBacklog } from '../stats/procfs';
import { instanceSnapshot, type InstanceSnapshot } from '../stats/snapshot';
import { isWorkerStatsMessage } from '../stats/worker-counters';
import { startStatsServer, type StatsServer } from '../stats/server';
import { renderPrometheus, startMetricsServer, type MetricsServer } from '../stats/prometheus';
import { VERSION } from '../version';
import type { BoundSocket } from './sockets';

export interface StatsSettings {
  /** --stats ADDR (TCP or unix), undefined when off. */
  statsAddress: string | undefined;
  statsHttp: boolean;
  statsMinified: boolean;
  /** --metrics ADDR (ours), undefined when off. */
  metricsAddress: string | undefined;
  apps: AppDescriptor[];
  /** --listen, for each socket's max queue. */
  listen: number;
  socketTimeoutMs: number;
}

/** The worker events the master reports; every method is cheap and never throws. */
export interface WorkerEvents {
  spawned(id: number, pid: number): void;
  ready(id: number): void;
  draining(id: number): void;
  exited(id: number): void;
  harakiri(id: number): void;
  /** Returns true when the message was a stats report (and so consumed). */
  message(id: number, pid: number, msg: unknown): boolean;
  setCheaped(id: number, cheaped: boolean): void;
  setPaused(paused: boolean): void;
}

export class MasterStats implements WorkerEvents {
  readonly book: WorkerStatsBook;
  private readonly monitor: ListenQueueMonitor;
  private readonly settings: StatsSettings;
  private readonly servers: Array<StatsServer | MetricsServer> = [];

  constructor(settings: StatsSettings, sockets: readonly BoundSocket[], log: (line: string) => void) {
    this.settings = settings;
    // Reports come once a second; a worker stuck in Python is seen through the scoreboard instead.
    this.book = new WorkerStatsBook({ apps: settings.apps });
    this.monitor = new ListenQueueMonitor(sockets.map((s) => monitored(s, settings.listen)), log);
  }

  /** Workers report counters only when someone can read them. */
  static wanted(settings: Pick<StatsSettings, 'statsAddress' | 'metricsAddress'>): boolean {
    return settings.statsAddress !== undefined || settings.metricsAddress !== undefined;
  }

  async start(log: (line: string) => void): Promise<void> {
    const s = this.settings;
    if (s.statsAddress !== undefined) {
      const opts = { http: s.statsHttp, minified: s.statsMinified, socketTimeoutMs: s.socketTimeoutMs, log };
      this.servers.push(await startStatsServer(s.statsAddress, () => this.snapshot(), opts));
    }
    if (s.metricsAddress !== undefined) {
      this.servers.push(await startMetricsServer(s.metricsAddress, () => renderPrometheus(this.snapshot(), this.book.requestMetrics()), log));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
  }

  /** Once a second, from the master's timer. */
  tick(): void {
    this.monitor.check();
    this.book.refreshMemory();
  }

  snapshot(): InstanceSnapshot {
    return instanceSnapshot({
      version: VERSION,
      listenQueue: this.monitor.listenQueue,
      listenQueueErrors: this.monitor.listenQueueErrors,
      sockets: this.monitor.socketSnapshots(),
      workers: this.book.workers(),
    });
  }

  spawned(id: number, pid: number): void {
    this.book.spawned(id, pid);
  }

  ready(id: number): void {
    this.book.ready(id);
  }

  draining(id: number): void {
    this.book.draining(id);
  }

  exited(id: number): void {
    this.book.exited(id);
  }

  harakiri(id: number): void {
    this.book.harakiri(id);
  }

  message(id: number, pid: number, msg: unknown): boolean {
    if (!isWorkerStatsMessage(msg)) return false;
    this.book.report(id, pid, msg.report);
    return true;
  }

  setCheaped(id: number, cheaped: boolean): void {
    this.book.setCheaped(id, cheaped);
  }

  setPaused(paused: boolean): void {
    this.book.setPaused(paused);
  }
}

function monitored(s: BoundSocket, listen: number): MonitoredSocket {
  return { kind: s.kind, fd: s.fd, name: s.spec, proto: s.protocol === 'uwsgi' ? 'uwsgi' : 'http', maxQueue: effectiveBacklog(listen) };
}
