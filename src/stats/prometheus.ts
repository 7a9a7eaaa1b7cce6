/**
 * --metrics ADDR (ours; uWSGI needs an external exporter for this): the stats
 * figures in Prometheus' text exposition format 0.0.4, plus per-status request
 * counts and a request latency histogram. Units follow Prometheus'
 * conventions: seconds and bytes; counters end in _total.
 */
import http from 'node:http';
import { listenOn } from './listen';
import { LATENCY_BOUNDS_US, type SerializedRequestMetrics } from './request-metrics';
import type { InstanceSnapshot, WorkerSnapshot } from './snapshot';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [Labels, number];
type MetricType = 'counter' | 'gauge' | 'histogram';

/** The statuses a worker can be in, exported as a state set (one series each, 1 for the current). */
const STATUSES = ['idle', 'busy', 'cheap', 'pause', 'sig'] as const;

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: MetricType, help: string, samples: readonly Sample[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.sample(name, labels, value);
  }

  sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export function renderPrometheus(s: InstanceSnapshot, requests: SerializedRequestMetrics): string {
  const out = new Exposition();
  instanceMetrics(out, s);
  workerMetrics(out, s.workers);
  requestMetrics(out, requests);
  return out.text();
}

function instanceMetrics(out: Exposition, s: InstanceSnapshot): void {
  out.metric('nuwsgi_info', 'gauge', 'Always 1; the version is in the label.', [[{ version: s.version }, 1]]);
  out.metric('nuwsgi_listen_queue', 'gauge', 'Connections waiting to be accepted, on the busiest socket (uWSGI listen_queue).', [[{}, s.listenQueue]]);
  out.metric('nuwsgi_listen_queue_errors_total', 'counter', 'Checks (one a second) that found a socket listen queue full.', [[{}, s.listenQueueErrors]]);
  const sock = (pick: (q: { queue: number; maxQueue: number }) => number): Sample[] =>
    s.sockets.map((k) => [{ socket: k.name, proto: k.proto }, pick(k)] as const);
  out.metric('nuwsgi_socket_listen_queue', 'gauge', 'Connections waiting in the accept queue of each socket.', sock((k) => k.queue));
  out.metric('nuwsgi_socket_listen_queue_max', 'gauge', 'Accept queue size of each socket (min of --listen and somaxconn).', sock((k) => k.maxQueue));
  out.metric('nuwsgi_workers', 'gauge', 'Worker slots.', [[{}, s.workers.length]]);
}

function workerMetrics(out: Exposition, workers: readonly WorkerSnapshot[]): void {
  const per = (pick: (w: WorkerSnapshot) => number): Sample[] => workers.map((w) => [{ worker: String(w.id) }, pick(w)] as const);
  out.metric('nuwsgi_worker_requests_total', 'counter', 'Requests finished by the worker slot, over every respawn.', per((w) => w.requests));
  out.metric('nuwsgi_worker_exceptions_total', 'counter', 'App exceptions in the worker slot, over every respawn.', per((w) => w.exceptions));
  out.metric('nuwsgi_worker_harakiri_total', 'counter', 'Times the worker was killed by harakiri.', per((w) => w.harakiriCount));
  out.metric('nuwsgi_worker_respawns_total', 'counter', 'Times the worker slot was spawned, the first one included (uWSGI respawn_count).', per((w) => w.respawnCount));
  out.metric('nuwsgi_worker_transmitted_bytes_total', 'counter', 'Bytes sent to clients, headers included.', per((w) => w.tx));
  out.metric('nuwsgi_worker_busy_seconds_total', 'counter', 'Time spent serving requests (uWSGI running_time).', per((w) => w.runningTimeUs / 1e6));
  out.metric('nuwsgi_worker_average_response_time_seconds', 'gauge', "uWSGI's running average of the response time (avg_rt).", per((w) => w.avgRtUs / 1e6));
  out.metric('nuwsgi_worker_resident_memory_bytes', 'gauge', 'Resident set size of the worker process.', per((w) => w.rss));
  out.metric('nuwsgi_worker_virtual_memory_bytes', 'gauge', 'Virtual memory size of the worker process.', per((w) => w.vsz));
  out.metric('nuwsgi_worker_accepting', 'gauge', '1 when the worker accepts connections.', per((w) => (w.accepting ? 1 : 0)));
  out.metric('nuwsgi_worker_last_spawn_timestamp_seconds', 'gauge', 'When the worker process was last spawned.', per((w) => w.lastSpawn));
  const status: Sample[] = workers.flatMap((w) =>
    STATUSES.map((st) => [{ worker: String(w.id), status: st }, statusGroup(w.status) === st ? 1 : 0] as const),
  );
  out.metric('nuwsgi_worker_status', 'gauge', 'The worker status as a state set: 1 for the current one (sig = handling a signal).', status);
}

function statusGroup(status: string): string {
  return status.startsWith('sig') ? 'sig' : status;
}

function requestMetrics(out: Exposition, m: SerializedRequestMetrics): void {
  const codes = Object.keys(m.c).sort((a, b) => Number(a) - Number(b));
  out.metric(
    'nuwsgi_http_requests_total',
    'counter',
    'Requests finished, by response status (code "0": the app returned an invalid status).',
    codes.map((code) => [{ code }, m.c[code] ?? 0] as const),
  );
  const name = 'nuwsgi_http_request_duration_seconds';
  out.metric(name, 'histogram', 'Time from the request being read to the response being handed to the socket.', []);
  let cumulative = 0;
  LATENCY_BOUNDS_US.forEach((bound, i) => {
    cumulative += m.b[i] ?? 0;
    out.sample(`${name}_bucket`, { le: formatValue(bound / 1e6) }, cumulative);
  });
  cumulative += m.b[LATENCY_BOUNDS_US.length] ?? 0;
  out.sample(`${name}_bucket`, { le: '+Inf' }, cumulative);
  out.sample(`${name}_sum`, {}, m.s / 1e6);
  out.sample(`${name}_count`, {}, cumulative);
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (node:http: this is off the request path). */
export async function startMetricsServer(address: string, getText: () => string, log: (line: string) => void): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let body: string;
    try {
      body = getText();
    } catch (err) {
      // Never let a rendering bug take the master down with it.
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const listening = await listenOn(server, address);
  log(`*** Prometheus metrics enabled on ${listening.address} (GET /metrics) fd: ${listening.fd} ***`);
  return { address: listening.address, close: listening.close };
}
