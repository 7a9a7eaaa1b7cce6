/**
 * The emperor's --metrics and --dashboard: what it knows of each vassal
 * itself (state, pid, respawns, heartbeats, /proc), plus each vassal's own
 * metrics, read from the address the vassal announced (announce.ts) and
 * relabelled with vassal="NAME". One /metrics then covers every vassal, and
 * the dashboard lists them with a link into each vassal's own dashboard.
 */
import { Exposition, parseExposition, type Family, type Sample } from '../stats/exposition';
import { InstanceHealth } from '../stats/health';
import { Ring } from '../stats/history';
import { dashboardToken, startDashboard, type DashboardSettings } from '../stats/dashboard-server';
import { EventHub, sseChunk, type HealthProbes, type HealthReport } from '../stats/http-endpoints';
import { processMetrics, startMetricsServer, type LabeledProcess } from '../stats/prometheus';
import { readProcessFigures } from '../stats/process-metrics';
import { HISTORY_SECONDS } from '../stats/history';
import { NUWSGI_VERSION } from '../config/magic';
import { AnnounceDir, type Announcement } from './announce';
import { scrapeMetrics } from './scrape';
import { renderEmperorStats, type EmperorStatsView } from './stats';
import type { Vassal, VassalState } from './vassal';

export interface ObservatorySettings {
  metricsAddress: string | undefined;
  dashboard: DashboardSettings;
}

export interface VassalSummary {
  workers: number;
  busy: number;
  requests: number;
  rps: number;
  rss: number;
  listenQueue: number;
  harakiri: number;
}

export interface VassalView {
  name: string;
  state: VassalState;
  pid: number;
  respawns: number;
  accepting: boolean;
  loyal: boolean;
  /** The vassal master's own RSS, from /proc (when no summary). */
  rss: number;
  /** http://ADDR/ of the vassal's dashboard when it announced one on TCP. */
  link: string | null;
  summary: VassalSummary | null;
}

interface EmperorSample {
  t: number;
  rps: number;
}

const STATES: readonly VassalState[] = ['on-demand', 'starting', 'ready', 'reloading', 'stopping', 'throttled', 'dead'];

export class EmperorObservatory {
  readonly health = new InstanceHealth();
  readonly announce = new AnnounceDir();
  private readonly hub = new EventHub(() => [sseChunk('history', this.history.all()), ...(this.lastFrame !== undefined ? [sseChunk('frame', this.lastFrame)] : [])]);
  private readonly history = new Ring<EmperorSample>(HISTORY_SECONDS);
  private readonly events = new Ring<{ t: number; kind: string; worker: number; text: string }>(50);
  private readonly lastRequests = new Map<string, { t: number; n: number }>();
  private readonly lastStates = new Map<string, VassalState>();
  private readonly servers: Array<{ close(): Promise<void> }> = [];
  private readonly bound: Announcement = {};
  private lastFrame: unknown;
  private busy = false;

  constructor(
    private readonly view: () => EmperorStatsView,
    private readonly log: (line: string) => void,
  ) {}

  static wanted(s: ObservatorySettings): boolean {
    return s.metricsAddress !== undefined || s.dashboard.address !== undefined;
  }

  async start(s: ObservatorySettings): Promise<void> {
    if (dashboardToken(s.dashboard) !== undefined) {
      this.log('[emperor] dashboard-actions ignored: an emperor dashboard is read-only (each vassal has its own)');
    }
    const probes: HealthProbes = { ready: () => this.ready(), live: () => this.health.live() };
    if (s.metricsAddress !== undefined) {
      const server = await startMetricsServer(s.metricsAddress, () => this.metrics(), this.log, probes);
      this.bound.metrics = server.address;
      this.servers.push(server);
    }
    if (s.dashboard.address !== undefined) {
      const endpoints = { metrics: () => this.metrics(), stats: () => renderEmperorStats(this.view()), health: probes, events: this.hub };
      const server = await startDashboard(s.dashboard.address, endpoints, this.log);
      this.bound.dashboard = server.address;
      this.servers.push(server);
    }
    this.health.start(() => {
      this.beat().catch((err: unknown) => this.log(`[emperor] dashboard frame failed: ${String(err)}`));
    });
  }

  addresses(): Announcement {
    return { ...this.bound };
  }

  /** The emperor was told to stop (ragnarok): /ready is 503 from now on. */
  stopping(): void {
    this.health.stopping();
  }

  async close(): Promise<void> {
    this.health.stop();
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    this.announce.remove();
  }

  /** Ready: not stopping, and at least one vassal has every worker ready. */
  private ready(): HealthReport {
    const accepting = this.view().vassals.filter((v) => v.accepting && v.state === 'ready').length;
    return this.health.ready(accepting, 'vassal(s) ready');
  }

  /** The emperor's own figures, then each vassal's document relabelled. */
  async metrics(): Promise<string> {
    const vassals = this.view().vassals;
    const scraped = await Promise.all(vassals.map((v) => this.scrape(v)));
    const out = new Exposition();
    const per = (pick: (v: Vassal) => number): Sample[] => vassals.map((v) => [{ vassal: v.name }, pick(v)] as const);
    out.metric('nuwsgi_emperor_vassals', 'gauge', 'Vassals by state.', STATES.map((st) => [{ state: st }, vassals.filter((v) => v.state === st).length] as const));
    out.metric('nuwsgi_vassal_up', 'gauge', '1 when the vassal runs with every worker ready.', per((v) => (v.accepting && v.state === 'ready' ? 1 : 0)));
    out.metric('nuwsgi_vassal_respawns_total', 'counter', 'Times the emperor started the vassal again.', per((v) => v.respawns));
    out.metric('nuwsgi_vassal_loyal', 'gauge', '1 once the vassal came up healthy (uWSGI loyal).', per((v) => (v.loyal ? 1 : 0)));
    out.metric('nuwsgi_vassal_last_heartbeat_timestamp_seconds', 'gauge', 'When the vassal last sent a heartbeat.', per((v) => Math.floor(v.lastHeartbeatMs / 1000)));
    out.metric('nuwsgi_vassal_scraped', 'gauge', '1 when the vassal\'s own metrics were read (it announced --dashboard or --metrics and answered).', per((v) => (scraped[vassals.indexOf(v)] !== undefined ? 1 : 0)));
    const processes: LabeledProcess[] = [];
    const self = readProcessFigures(process.pid);
    if (self !== undefined) processes.push({ labels: { worker: 'emperor' }, figures: self });
    // A vassal whose own document is missing is still covered: its master, from /proc.
    vassals.forEach((v, i) => {
      const pid = v.proc?.pid ?? -1;
      const figures = scraped[i] === undefined && pid > 0 ? readProcessFigures(pid) : undefined;
      if (figures !== undefined) processes.push({ labels: { vassal: v.name, worker: 'master' }, figures });
    });
    processMetrics(out, processes);
    vassals.forEach((v, i) => {
      const families = scraped[i];
      if (families !== undefined) out.merge(families, { vassal: v.name });
    });
    return out.text();
  }

  private async scrape(v: Vassal): Promise<Family[] | undefined> {
    const pid = v.proc?.pid ?? -1;
    if (pid <= 0) return undefined;
    const where = this.announce.read(pid);
    const address = where?.dashboard ?? where?.metrics;
    if (address === undefined) return undefined;
    const text = await scrapeMetrics(address);
    return text === undefined ? undefined : parseExposition(text);
  }

  /** Once a second: only while someone watches the page (scraping costs the vassals a render). */
  private async beat(): Promise<void> {
    this.noteStateChanges();
    if (this.hub.size === 0 || this.busy) return;
    this.busy = true;
    try {
      const frame = await this.frame();
      this.lastFrame = frame;
      this.hub.broadcast('frame', frame);
    } finally {
      this.busy = false;
    }
  }

  private noteStateChanges(): void {
    const vassals = this.view().vassals;
    this.forgetGone(vassals);
    for (const v of vassals) {
      const before = this.lastStates.get(v.name);
      if (before !== v.state) {
        this.lastStates.set(v.name, v.state);
        const kind = v.state === 'dead' || v.state === 'throttled' ? 'exit' : v.state === 'ready' ? 'spawn' : 'reload';
        this.events.push({ t: Date.now(), kind, worker: 0, text: `vassal ${v.name}: ${before ?? 'new'} \u2192 ${v.state}` });
      }
    }
  }

  /**
   * What is kept per vassal name and per pid must go with the vassal: under
   * vassal churn (deploy tools writing versioned vassal files, on-demand
   * instances coming and going) the maps and the announce directory would
   * otherwise grow for as long as the emperor runs. A vassal's removal is
   * the last event it leaves on the dashboard.
   */
  private forgetGone(vassals: readonly Vassal[]): void {
    const names = new Set(vassals.map((v) => v.name));
    for (const [name, state] of this.lastStates) {
      if (names.has(name)) continue;
      this.lastStates.delete(name);
      this.events.push({ t: Date.now(), kind: 'exit', worker: 0, text: `vassal ${name}: ${state} \u2192 removed` });
    }
    for (const name of this.lastRequests.keys()) if (!names.has(name)) this.lastRequests.delete(name);
    this.announce.prune(new Set(vassals.map((v) => v.proc?.pid ?? -1)));
  }

  /** Entries kept per vassal name (tests: they must not outlive the vassals). */
  get remembered(): { states: number; requests: number } {
    return { states: this.lastStates.size, requests: this.lastRequests.size };
  }

  private async frame(): Promise<unknown> {
    const now = Date.now();
    const vassals = this.view().vassals;
    const scraped = await Promise.all(vassals.map((v) => this.scrape(v)));
    const views: VassalView[] = vassals.map((v, i) => this.vassalView(v, scraped[i], now));
    const rps = views.reduce((n, v) => n + (v.summary?.rps ?? 0), 0);
    this.history.push({ t: now, rps: Math.round(rps * 100) / 100 });
    return {
      kind: 'emperor',
      t: now,
      version: NUWSGI_VERSION,
      pid: process.pid,
      ready: this.ready(),
      live: this.health.live(),
      vassals: views,
      sample: this.history.last(),
      events: this.events.all(),
      actions: [],
    };
  }

  private vassalView(v: Vassal, families: Family[] | undefined, now: number): VassalView {
    const pid = v.proc?.pid ?? -1;
    const where = pid > 0 ? this.announce.read(pid) : undefined;
    const summary = families === undefined ? null : this.summarize(v.name, families, now);
    return {
      name: v.name,
      state: v.state,
      pid,
      respawns: v.respawns,
      accepting: v.accepting,
      loyal: v.loyal,
      rss: pid > 0 ? (readProcessFigures(pid)?.residentBytes ?? 0) : 0,
      link: where?.dashboard !== undefined && !where.dashboard.startsWith('/') ? `http://${where.dashboard}/` : null,
      summary,
    };
  }

  private summarize(name: string, families: Family[], now: number): VassalSummary {
    const sum = (metric: string, where: (l: Readonly<Record<string, string>>) => boolean = () => true): number =>
      families.find((f) => f.name === metric)?.samples.filter((s) => where(s.labels)).reduce((n, s) => n + s.value, 0) ?? 0;
    const requests = sum('nuwsgi_worker_requests_total');
    const prev = this.lastRequests.get(name);
    this.lastRequests.set(name, { t: now, n: requests });
    const rps = prev !== undefined && now > prev.t ? Math.max(0, ((requests - prev.n) * 1000) / (now - prev.t)) : 0;
    return {
      workers: sum('nuwsgi_worker_status', (l) => l.status !== 'cheap'),
      busy: sum('nuwsgi_worker_status', (l) => l.status === 'busy'),
      requests,
      rps: Math.round(rps * 100) / 100,
      rss: sum('nuwsgi_worker_resident_memory_bytes'),
      listenQueue: sum('nuwsgi_listen_queue'),
      harakiri: sum('nuwsgi_worker_harakiri_total'),
    };
  }
}
