/**
 * The master's stats: the per-slot ledger fed by worker events, scoreboard rows and histogram reports,
 * the once-a-second listen queue check, and the servers that publish them
 * (--stats in uWSGI's JSON, --metrics in Prometheus text, --dashboard: the
 * live page, both of those, and /ready + /live).
 *
 * Kept out of master.ts so supervision reads as supervision: the master only
 * tells this object what happened to which worker.
 */
import { WorkerStatsBook, type AppDescriptor, type RowSource } from '../stats/worker-book';
import { ListenQueueMonitor, type MonitoredSocket } from '../stats/listen-queue';
import { effectiveBacklog } from '../stats/procfs';
import { instanceSnapshot, type InstanceSnapshot } from '../stats/snapshot';
import { isWorkerStatsMessage } from '../stats/worker-report';
import { startStatsServer, type StatsServer } from '../stats/server';
import { renderPrometheus, startMetricsServer, type LabeledProcess, type MetricsServer } from '../stats/prometheus';
import { renderStatsJson } from '../stats/uwsgi-json';
import { InstanceHealth } from '../stats/health';
import { StatsHistory, Ring } from '../stats/history';
import { acceptingWorkers, masterFrame, type EventView } from '../stats/dashboard-frame';
import { dashboardToken, startDashboard, type DashboardSettings } from '../stats/dashboard-server';
import { EventHub, sseChunk, type HealthProbes } from '../stats/http-endpoints';
import { readProcessFigures } from '../stats/process-metrics';
import { VERSION } from '../version';
import type { BoundSocket } from './sockets';

export interface StatsSettings {
  /** --stats ADDR (TCP or unix), undefined when off. */
  statsAddress: string | undefined;
  statsHttp: boolean;
  statsMinified: boolean;
  /** --metrics ADDR (ours), undefined when off. */
  metricsAddress: string | undefined;
  /** --dashboard and its action options (ours). */
  dashboard: DashboardSettings;
  apps: AppDescriptor[];
  /** --listen, for each socket's max queue. */
  listen: number;
  socketTimeoutMs: number;
}

/** The worker events the master reports; every method is cheap and never throws. */
export interface WorkerEvents {
  /** A process took slot `id`; `row` reads its scoreboard row (the source of its counters and state). */
  spawned(id: number, pid: number, row?: RowSource): void;
  ready(id: number): void;
  draining(id: number): void;
  exited(id: number): void;
  /** A process that was replaced in slot `id` (it drained) has exited. */
  replacedExited?(id: number, pid: number): void;
  harakiri(id: number): void;
  /** Returns true when the message was a stats report (histograms; consumed). */
  message(id: number, pid: number, msg: unknown): boolean;
  setCheaped(id: number, cheaped: boolean): void;
  setPaused(paused: boolean): void;
  /** A graceful or brutal reload began (/ready is 503 until every worker is ready again). */
  reloading(): void;
  /** A graceful or immediate stop began (/ready is 503 from now on). */
  stopping(): void;
}

/** The dashboard's actions, by name (POST /actions/NAME); the master's own commands. */
export interface DashboardCommands {
  reload(): void;
  chainReload(): void;
  addWorker(): void;
  removeWorker(): void;
}

/** Recent events the dashboard lists. */
const EVENTS_KEPT = 50;

export class MasterStats implements WorkerEvents {
  readonly book: WorkerStatsBook;
  private readonly monitor: ListenQueueMonitor;
  private readonly settings: StatsSettings;
  private readonly servers: Array<StatsServer | MetricsServer> = [];
  readonly health = new InstanceHealth();
  private readonly history = new StatsHistory();
  private readonly events = new Ring<EventView>(EVENTS_KEPT);
  private readonly hub = new EventHub(() => [sseChunk('history', this.history.samples()), sseChunk('frame', this.frame())]);
  private readonly seen = new Set<number>();
  private readonly pids = new Map<number, number>();
  private commands: DashboardCommands | undefined;
  private readonly bound: { dashboard?: string; metrics?: string } = {};

  constructor(settings: StatsSettings, sockets: readonly BoundSocket[], log: (line: string) => void) {
    this.settings = settings;
    // Counters and state are read from the scoreboard when asked; reports bring only histograms.
    this.book = new WorkerStatsBook({ apps: settings.apps });
    this.monitor = new ListenQueueMonitor(sockets.map((s) => monitored(s, settings.listen)), log);
  }

  /** Workers report counters only when someone can read them. */
  static wanted(settings: Pick<StatsSettings, 'statsAddress' | 'metricsAddress'> & { dashboardAddress: string | undefined }): boolean {
    return settings.statsAddress !== undefined || settings.metricsAddress !== undefined || settings.dashboardAddress !== undefined;
  }

  /** The master's commands, for the dashboard's actions (used only with --dashboard-actions). */
  setCommands(commands: DashboardCommands): void {
    this.commands = commands;
  }

  async start(log: (line: string) => void): Promise<void> {
    const s = this.settings;
    // Validated before anything is bound: actions without a token refuse to start.
    const token = dashboardToken(s.dashboard);
    if (s.statsAddress !== undefined) {
      const opts = { http: s.statsHttp, minified: s.statsMinified, socketTimeoutMs: s.socketTimeoutMs, log };
      this.servers.push(await startStatsServer(s.statsAddress, () => this.snapshot(), opts));
    }
    const probes: HealthProbes = { ready: () => this.health.ready(acceptingWorkers(this.snapshot())), live: () => this.health.live() };
    if (s.metricsAddress !== undefined) {
      const server = await startMetricsServer(s.metricsAddress, () => this.prometheusText(), log, probes);
      this.bound.metrics = server.address;
      this.servers.push(server);
    }
    if (s.dashboard.address !== undefined) {
      const endpoints = {
        metrics: () => this.prometheusText(),
        stats: () => renderStatsJson(this.snapshot()),
        health: probes,
        events: this.hub,
        ...(token !== undefined ? { actions: { token, run: this.actions(), log } } : {}),
      };
      const server = await startDashboard(s.dashboard.address, endpoints, log);
      this.bound.dashboard = server.address;
      this.servers.push(server);
    }
    this.health.start(() => this.beat());
  }

  /** The HTTP addresses really bound (port 0 resolved), for the emperor's announcement. */
  addresses(): { dashboard?: string; metrics?: string } {
    return { ...this.bound };
  }

  async close(): Promise<void> {
    this.health.stop();
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
  }

  /** The Prometheus document: the snapshot, the summed histograms, and /proc for every process. */
  prometheusText(): string {
    return renderPrometheus(this.snapshot(), this.book.requestMetrics(), this.processes());
  }

  /** The master and its live workers; a pid whose parent is not this master is a slot's dead past. */
  private processes(): LabeledProcess[] {
    const out: LabeledProcess[] = [];
    const master = readProcessFigures(process.pid);
    if (master !== undefined) out.push({ labels: { worker: 'master' }, figures: master });
    for (const [id, pid] of [...this.pids.entries()].sort((a, b) => a[0] - b[0])) {
      const figures = readProcessFigures(pid);
      if (figures !== undefined && figures.ppid === process.pid) out.push({ labels: { worker: String(id) }, figures });
    }
    return out;
  }

  /** Once a second, on the health heartbeat (which keeps beating while the master stops). */
  private beat(): void {
    if (this.settings.dashboard.address === undefined) return;
    this.history.record(this.snapshot(), this.book.requestMetrics(), Date.now());
    if (this.hub.size > 0) this.hub.broadcast('frame', this.frame());
  }

  private frame(): unknown {
    const snapshot = this.snapshot();
    return masterFrame({
      snapshot,
      sample: this.history.last(),
      ready: this.health.ready(acceptingWorkers(snapshot)),
      live: this.health.live(),
      events: this.events.all(),
      actions: this.settings.dashboard.actions ? Object.keys(this.actions()) : [],
      nowMs: Date.now(),
    });
  }

  private actions(): Record<string, () => void> {
    const run = (pick: (c: DashboardCommands) => void) => (): void => {
      if (this.commands !== undefined) pick(this.commands);
    };
    return {
      reload: run((c) => c.reload()),
      'chain-reload': run((c) => c.chainReload()),
      'add-worker': run((c) => c.addWorker()),
      'remove-worker': run((c) => c.removeWorker()),
    };
  }

  private event(kind: EventView['kind'], worker: number, text: string): void {
    this.events.push({ t: Date.now(), kind, worker, text });
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

  spawned(id: number, pid: number, row?: RowSource): void {
    this.book.spawned(id, pid, row);
    this.pids.set(id, pid);
    const again = this.seen.has(id);
    this.seen.add(id);
    this.event(again ? 'respawn' : 'spawn', id, `worker ${id} ${again ? 'respawned' : 'spawned'} (pid ${pid})`);
  }

  ready(id: number): void {
    this.book.ready(id);
  }

  draining(id: number): void {
    this.book.draining(id);
  }

  exited(id: number): void {
    this.book.exited(id);
    this.event('exit', id, `worker ${id} (pid ${this.pids.get(id) ?? '?'}) exited`);
    this.pids.delete(id);
  }

  replacedExited(id: number, pid: number): void {
    this.book.replacedExited(id, pid);
  }

  harakiri(id: number): void {
    this.book.harakiri(id);
    this.event('harakiri', id, `HARAKIRI on worker ${id} (pid ${this.pids.get(id) ?? '?'})`);
  }

  message(id: number, pid: number, msg: unknown): boolean {
    if (!isWorkerStatsMessage(msg)) return false;
    this.book.report(id, pid, msg.report);
    return true;
  }

  setCheaped(id: number, cheaped: boolean): void {
    this.book.setCheaped(id, cheaped);
    if (cheaped && this.seen.has(id)) this.event('cheap', id, `worker ${id} cheaped`);
  }

  reloading(): void {
    this.health.reloading();
    this.event('reload', 0, 'reload started');
  }

  stopping(): void {
    this.health.stopping();
    this.event('stop', 0, 'stopping');
  }

  /** Every worker is ready and none is being replaced: a reload (if any) has finished. */
  allReady(): void {
    if (this.health.currentPhase === 'reloading') this.event('ready', 0, 'reload finished: every worker ready');
    this.health.allReady();
  }

  setPaused(paused: boolean): void {
    this.book.setPaused(paused);
  }
}

function monitored(s: BoundSocket, listen: number): MonitoredSocket {
  return { kind: s.kind, fd: s.fd, name: s.spec, proto: s.protocol === 'uwsgi' ? 'uwsgi' : 'http', maxQueue: effectiveBacklog(listen) };
}
