/**
 * The pure parts of issue 14's dashboard, metrics and health: the exposition
 * reader and merger, the health state machine, the percentiles, the /proc
 * parsers, the token check, the announcement validation, the address rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScoreboardReader, ScoreboardWriter, rowCores, scoreboardBytes } from '../../src/contracts/scoreboard';
import { validAnnouncement } from '../../src/emperor/announce';
import { masterFrame, type MasterFrameFacts } from '../../src/stats/dashboard-frame';
import { dashboardListenSpec, dashboardToken } from '../../src/stats/dashboard-server';
import { dashboardPage } from '../../src/stats/dashboard-page';
import { Exposition, parseExposition } from '../../src/stats/exposition';
import { InstanceHealth, LIVE_STALL_MS } from '../../src/stats/health';
import { quantile, StatsHistory } from '../../src/stats/history';
import { tokenMatches } from '../../src/stats/http-endpoints';
import { parseBootTime, parseMaxOpenFiles, parseProcStat } from '../../src/stats/process-metrics';
import { renderPrometheus } from '../../src/stats/prometheus';
import { emptyMetrics, LATENCY_BOUNDS_US, RequestMetrics } from '../../src/stats/request-metrics';
import { instanceSnapshot } from '../../src/stats/snapshot';
import { WorkerStatsBook } from '../../src/stats/worker-book';

test('exposition: a document read back and merged under vassal labels keeps one HELP/TYPE per family', () => {
  const text = [
    '# HELP a_total Things "counted".',
    '# TYPE a_total counter',
    'a_total{worker="1"} 3',
    'a_total{worker="2",path="x\\"y\\\\z"} 4',
    '# HELP h Latency.',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 0.5',
    'h_count 2',
    'garbage line {',
    '',
  ].join('\n');
  const families = parseExposition(text);
  assert.deepEqual(families.map((f) => [f.name, f.type, f.samples.length]), [['a_total', 'counter', 2], ['h', 'histogram', 4]]);
  assert.equal(families[0]?.samples[1]?.labels.path, 'x"y\\z');
  const out = new Exposition();
  out.merge(families, { vassal: 'one.ini' });
  out.merge(families, { vassal: 'two.ini' });
  const merged = out.text();
  assert.equal(merged.match(/# TYPE a_total/g)?.length, 1);
  assert.ok(merged.includes('a_total{vassal="two.ini",worker="2",path="x\\"y\\\\z"} 4'));
  assert.ok(merged.includes('h_bucket{vassal="one.ini",le="+Inf"} 2'));
  assert.deepEqual(parseExposition(merged).map((f) => f.samples.length), [4, 8]);
});

test('health: ready needs an accepting worker and no stop or reload; a reload ends when every worker is ready', () => {
  let now = 1_000_000;
  const h = new InstanceHealth(() => now);
  assert.equal(h.ready(0).ok, false);
  assert.equal(h.ready(2).ok, true);
  h.reloading();
  assert.deepEqual(h.ready(2), { ok: false, reason: 'not ready: reloading' });
  h.allReady();
  assert.equal(h.ready(2).ok, true);
  h.stopping();
  h.reloading();
  h.allReady();
  assert.deepEqual(h.ready(2), { ok: false, reason: 'not ready: stopping' });
  // live: a heartbeat that stops, or one that came very late, is 503.
  assert.equal(h.live().ok, true);
  now += LIVE_STALL_MS + 2000;
  assert.equal(h.live().ok, false);
  h.beat();
  assert.match(h.live().reason, /blocked for \d+ ms/);
  now += 1000;
  h.beat();
  assert.equal(h.live().ok, true);
});

test('quantile: interpolates inside the bucket like histogram_quantile(); none observed is null', () => {
  const counts = new Array<number>(LATENCY_BOUNDS_US.length + 1).fill(0);
  assert.equal(quantile(0.5, counts), null);
  counts[0] = 10; // 10 requests <= 100 µs
  assert.ok(Math.abs((quantile(0.5, counts) as number) - 0.00005) < 1e-12);
  counts[LATENCY_BOUNDS_US.length] = 90; // 90 above 60 s: the +Inf bucket answers its lower bound
  assert.equal(quantile(0.99, counts), 60);
});

test('history: one sample a second with requests/s and the percentiles of that second', () => {
  const book = new WorkerStatsBook({ apps: [] });
  book.spawned(1, 10);
  const m = new RequestMetrics();
  const snap = (req: number) => {
    const w = book.workers();
    (w[0] as { requests: number }).requests = req;
    return instanceSnapshot({ version: 'x', listenQueue: 0, listenQueueErrors: 0, sockets: [], workers: w });
  };
  const h = new StatsHistory();
  h.record(snap(0), m.serialize(), 1000);
  for (let i = 0; i < 20; i++) m.observe(200, 2_000);
  const s = h.record(snap(20), m.serialize(), 2000);
  assert.equal(s.rps, 20);
  assert.ok(s.p50 !== null && s.p50 > 0.001 && s.p50 <= 0.0025, String(s.p50));
  assert.equal(h.samples().length, 2);
});

test('/proc parsers: stat with a command name holding ") (", btime, Max open files', () => {
  const stat = '4242 (a) (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 12345 1000000 250 18446744073709551615';
  assert.deepEqual(parseProcStat(stat), { ppid: 1, cpuTicks: 200, startTicks: 12345, vsizeBytes: 1000000, rssPages: 250 });
  assert.equal(parseProcStat('garbage'), undefined);
  assert.equal(parseBootTime('cpu 1 2\nbtime 1700000000\nprocesses 5\n'), 1700000000);
  assert.equal(parseMaxOpenFiles('Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 524288               files\n'), 1024);
  assert.equal(parseMaxOpenFiles('Max open files            unlimited            unlimited            files\n'), undefined);
});

test('token: Bearer only, exact match, never with an empty token', () => {
  assert.equal(tokenMatches('Bearer s3cret', 's3cret'), true);
  assert.equal(tokenMatches('bearer  s3cret ', 's3cret'), true);
  assert.equal(tokenMatches('Bearer s3cre', 's3cret'), false);
  assert.equal(tokenMatches('s3cret', 's3cret'), false);
  assert.equal(tokenMatches(undefined, 's3cret'), false);
  assert.equal(tokenMatches('Bearer ', ''), false);
  assert.throws(() => dashboardToken({ address: ':0', actions: true, token: undefined, tokenFile: undefined }), /needs a token/);
  assert.equal(dashboardToken({ address: ':0', actions: false, token: 'x', tokenFile: undefined }), undefined);
});

test('dashboard address: ":PORT" is loopback; "*:PORT" and 0.0.0.0 are every interface (and flagged)', () => {
  assert.deepEqual(dashboardListenSpec(':9000'), { spec: '127.0.0.1:9000', everyInterface: false });
  assert.deepEqual(dashboardListenSpec('*:9000'), { spec: '0.0.0.0:9000', everyInterface: true });
  assert.equal(dashboardListenSpec('0.0.0.0:9000').everyInterface, true);
  assert.equal(dashboardListenSpec('[::]:9000').everyInterface, true);
  assert.equal(dashboardListenSpec('/run/dash.sock').everyInterface, false);
});

test('announcement: only host:port or an absolute path is followed', () => {
  assert.deepEqual(validAnnouncement({ dashboard: '127.0.0.1:8080', metrics: '/run/m.sock' }), { dashboard: '127.0.0.1:8080', metrics: '/run/m.sock' });
  assert.deepEqual(validAnnouncement({ dashboard: 'evil.example/x:80', metrics: '[::1]:9' }), { metrics: '[::1]:9' });
  assert.equal(validAnnouncement({ dashboard: 'javascript:alert(1)' }), undefined);
  assert.equal(validAnnouncement('x'), undefined);
});

test('the page: self-contained (no external URL), its CSP allows exactly its own script by hash', () => {
  const page = dashboardPage();
  assert.equal(/(?:src|href)="(?:https?:)?\/\//.test(page.html), false, 'no external resource');
  assert.match(page.csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.match(page.csp, /connect-src 'self'/);
  assert.equal(/innerHTML/.test(page.html), false, 'server data goes in as text only');
});

test('prometheus: in-flight and busy cores, per-app counters, process_* and 100 µs buckets', () => {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }, { mountpoint: '/api', chdir: '' }] });
  book.spawned(1, 10);
  book.ready(1);
  const snapshot = instanceSnapshot({ version: 'x', listenQueue: 0, listenQueueErrors: 0, sockets: [], workers: book.workers() });
  (snapshot.workers[0]?.cores[0] as { inRequest: boolean }).inRequest = true;
  const figures = { pid: 10, ppid: 1, cpuSeconds: 1.5, residentBytes: 4096, virtualBytes: 8192, startTimeSeconds: 1.7e9, openFds: 12, maxFds: undefined };
  const text = renderPrometheus(snapshot, emptyMetrics(), [{ labels: { worker: 'master' }, figures }]);
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  has('nuwsgi_requests_in_flight 1');
  has('nuwsgi_worker_busy_cores{worker="1"} 1');
  has('nuwsgi_websockets_open 0');
  has('nuwsgi_worker_websockets_open{worker="1"} 0');
  has('nuwsgi_app_requests_total{app="1",mountpoint="/api"} 0');
  has('process_cpu_seconds_total{worker="master"} 1.5');
  has('process_open_fds{worker="master"} 12');
  has('nuwsgi_http_request_duration_seconds_bucket{le="0.0001"} 0');
  assert.equal(text.includes('process_max_fds{'), false, 'an unknown limit is left out, not invented');
});

test('an ASGI worker: its slots are cores read from the scoreboard; an open WebSocket is open, not in flight (metrics, page frame)', () => {
  const room = rowCores(1, 300);
  const memory = new Float64Array(scoreboardBytes(1, room) / 8);
  const writer = new ScoreboardWriter(memory, 0, 300, room);
  writer.requestStarted(299, 0, '127.0.0.1 - GET /slow');
  writer.requestStarted(7, 0, '127.0.0.1 - GET /ws');
  writer.requestDetached(7);
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  book.spawned(1, 10, () => new ScoreboardReader(memory, room).read(0));
  book.ready(1);
  const snapshot = instanceSnapshot({ version: 'x', listenQueue: 0, listenQueueErrors: 0, sockets: [], workers: book.workers() });
  const text = renderPrometheus(snapshot, emptyMetrics(), []);
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  has('nuwsgi_requests_in_flight 1');
  has('nuwsgi_worker_cores{worker="1"} 300');
  has('nuwsgi_websockets_open 1');
  has('nuwsgi_worker_websockets_open{worker="1"} 1');
  assert.equal(snapshot.workers[0]?.status, 'busy');
  const health = { ok: true, reason: '' } as unknown as MasterFrameFacts['ready'];
  const frame = masterFrame({ snapshot, sample: undefined, ready: health, live: health, events: [], actions: [], nowMs: Date.now() });
  const cores = frame.workers[0]?.cores ?? [];
  assert.deepEqual(cores.filter((c) => c.busy).map((c) => [c.id, c.uri]), [[299, '/slow']]);
  assert.deepEqual(cores.filter((c) => c.open).map((c) => c.id), [7]);
});
