/**
 * --metrics ADDR (ours; uWSGI needs an external exporter for this): the stats
 * figures in Prometheus' text exposition format 0.0.4, plus per-status request
 * counts and a request latency histogram. Units follow Prometheus'
 * conventions: seconds and bytes; counters end in _total.
 */
import { Exposition, formatValue, type Labels, type Sample } from './exposition';
import { serveHttp, type HttpEndpoints } from './http-endpoints';
import { listenOn } from './listen';
import type { ProcessFigures } from './process-metrics';
import { LATENCY_BOUNDS_US, type SerializedRequestMetrics } from './request-metrics';
import type { InstanceSnapshot, WorkerSnapshot } from './snapshot';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The statuses a worker can be in, exported as a state set (one series each, 1 for the current). */
const STATUSES = ['idle', 'busy', 'cheap', 'pause', 'sig'] as const;

/** A process to export `process_*` metrics for, and the labels that name it (e.g. worker="1"). */
export interface LabeledProcess {
  labels: Labels;
  figures: ProcessFigures;
}

export function renderPrometheus(s: InstanceSnapshot, requests: SerializedRequestMetrics, processes: readonly LabeledProcess[] = []): string {
  const out = new Exposition();
  instanceMetrics(out, s);
  workerMetrics(out, s.workers);
  appMetrics(out, s.workers);
  requestMetrics(out, requests);
  processMetrics(out, processes);
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
  const inRequest = s.workers.reduce((n, w) => n + w.cores.filter((c) => c.inRequest).length, 0);
  out.metric('nuwsgi_requests_in_flight', 'gauge', 'Requests being run by the app now (one per busy core; an ASGI worker: per busy slot).', [[{}, inRequest]]);
  const open = s.workers.reduce((n, w) => n + openConnections(w), 0);
  out.metric('nuwsgi_websockets_open', 'gauge', 'WebSockets open now (after their 101; not in requests_in_flight).', [[{}, open]]);
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
  out.metric('nuwsgi_worker_cores', 'gauge', 'Cores of the worker: threads, or an ASGI worker\'s --asgi-concurrency slots.', per((w) => w.cores.length));
  out.metric('nuwsgi_worker_busy_cores', 'gauge', 'Cores of the worker running a request now.', per((w) => w.cores.filter((c) => c.inRequest).length));
  out.metric('nuwsgi_worker_websockets_open', 'gauge', 'WebSockets the worker holds open now (each holds an ASGI slot).', per(openConnections));
}

function openConnections(w: WorkerSnapshot): number {
  return w.cores.filter((c) => c.openConnection === true).length;
}

/** Per app (summed over the workers): uWSGI's apps[] figures. */
function appMetrics(out: Exposition, workers: readonly WorkerSnapshot[]): void {
  const byApp = new Map<number, { mountpoint: string; requests: number; exceptions: number }>();
  for (const w of workers) {
    for (const a of w.apps) {
      const sum = byApp.get(a.id) ?? { mountpoint: a.mountpoint, requests: 0, exceptions: 0 };
      sum.requests += a.requests;
      sum.exceptions += a.exceptions;
      byApp.set(a.id, sum);
    }
  }
  const per = (pick: (a: { requests: number; exceptions: number }) => number): Sample[] =>
    [...byApp.entries()].map(([id, a]) => [{ app: String(id), mountpoint: a.mountpoint }, pick(a)] as const);
  out.metric('nuwsgi_app_requests_total', 'counter', 'Requests routed to each app (app 0 is the default one), every worker and respawn.', per((a) => a.requests));
  out.metric('nuwsgi_app_exceptions_total', 'counter', 'Exceptions raised by each app, every worker and respawn.', per((a) => a.exceptions));
}

/** The standard names every Prometheus client library uses, one series per process. */
export function processMetrics(out: Exposition, processes: readonly LabeledProcess[]): void {
  const per = (pick: (f: ProcessFigures) => number | undefined): Sample[] =>
    processes.flatMap((p) => {
      const v = pick(p.figures);
      return v === undefined ? [] : [[p.labels, v] as const];
    });
  out.metric('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', per((f) => f.cpuSeconds));
  out.metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', per((f) => f.residentBytes));
  out.metric('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', per((f) => f.virtualBytes));
  out.metric('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', per((f) => f.startTimeSeconds));
  out.metric('process_open_fds', 'gauge', 'Number of open file descriptors.', per((f) => f.openFds));
  out.metric('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', per((f) => f.maxFds));
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
    out.sample(name, `${name}_bucket`, { le: formatValue(bound / 1e6) }, cumulative);
  });
  cumulative += m.b[LATENCY_BOUNDS_US.length] ?? 0;
  out.sample(name, `${name}_bucket`, { le: '+Inf' }, cumulative);
  out.sample(name, `${name}_sum`, {}, m.s / 1e6);
  out.sample(name, `${name}_count`, {}, cumulative);
}

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics, and the health endpoints /ready and /live when given
 * (node:http: this is off the request path).
 */
export async function startMetricsServer(
  address: string,
  getText: () => string | Promise<string>,
  log: (line: string) => void,
  health?: HttpEndpoints['health'],
): Promise<MetricsServer> {
  const endpoints: HttpEndpoints = { metrics: getText, ...(health !== undefined ? { health } : {}) };
  const server = serveHttp(endpoints);
  const listening = await listenOn(server, address);
  log(`*** Prometheus metrics enabled on ${listening.address} (GET /metrics${health !== undefined ? ', /ready, /live' : ''}) fd: ${listening.fd} ***`);
  return { address: listening.address, close: listening.close };
}
