import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPrometheus } from '../../src/stats/prometheus';
import { emptyMetrics, LATENCY_BOUNDS_US, RequestMetrics } from '../../src/stats/request-metrics';
import { renderSigusr1 } from '../../src/stats/sigusr1';
import { instanceSnapshot, workerStatus } from '../../src/stats/snapshot';
import { isWorkerStatsMessage, startStatsReporter, type WorkerStatsMessage } from '../../src/stats/worker-report';
import { TestBoard } from '../helpers/board';
import { WorkerStatsBook } from '../../src/stats/worker-book';

function clock(start = 1_795_474_732_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test("avg_rt is uWSGI's (avg + rt) / 2, tx counts what the observer passes (head + body), exceptions count per app", () => {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }, { mountpoint: '/b', chdir: '' }] });
  const w = new TestBoard().spawn(book, 1, 100);
  w.request({ durationUs: 582, txBytes: 50 });
  assert.equal(book.workers()[0]?.avgRtUs, 291); // the figure uWSGI 2.0.21 showed for the same running_time
  w.request({ durationUs: 3_001_000, status: 500, exception: true, appId: 1 });
  w.request({ durationUs: 10, status: 500, appId: 1 }); // a 500 on purpose: no exception
  const s = book.workers()[0];
  assert.equal(s?.avgRtUs, Math.floor((Math.floor((291 + 3_001_000) / 2) + 10) / 2));
  assert.equal(s?.requests, 3);
  assert.equal(s?.runningTimeUs, 3_001_592);
  assert.equal(s?.tx, 50);
  assert.equal(s?.exceptions, 1);
  assert.deepEqual(s?.apps.map((a) => [a.requests, a.exceptions]), [[1, 0], [2, 1]]);
  assert.equal(s?.status, 'idle');
  assert.deepEqual(s?.cores[0]?.vars, []);
});

test('RequestMetrics: buckets by latency, counts by status, survives serialization and adds up', () => {
  const m = new RequestMetrics();
  m.observe(200, 900); // <= 1 ms
  m.observe(200, 1_000); // the bound itself is in the bucket (le)
  m.observe(404, 70_000_000); // above the last bound: +Inf
  m.observe(999, 10); // invalid status code
  const s = m.serialize();
  assert.equal(s.b.length, LATENCY_BOUNDS_US.length + 1);
  assert.equal(LATENCY_BOUNDS_US[0], 100, 'the scale starts at 100 µs');
  assert.equal(s.b[0], 1); // 10 µs
  assert.equal(s.b[LATENCY_BOUNDS_US.indexOf(1_000)], 2); // 900 µs and 1 ms
  assert.equal(s.b[LATENCY_BOUNDS_US.length], 1);
  assert.deepEqual(s.c, { '0': 1, '200': 2, '404': 1 });
  assert.equal(s.s, 70_001_910);
  const sum = RequestMetrics.from(JSON.parse(JSON.stringify(s)) as typeof s);
  sum.add(s);
  sum.add({ b: [Number.NaN, -4], s: -1, c: { '200': Number.POSITIVE_INFINITY, x: 3 } }); // junk counts as 0
  assert.equal(sum.count, 8);
  assert.deepEqual(sum.serialize().c, { '0': 2, '200': 4, '404': 2 });
});

test('ledger: counters survive respawns, delta_requests and pid follow the current life', () => {
  const t = clock();
  const board = new TestBoard();
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }], now: t.now });
  const life1 = board.spawn(book, 1, 100);
  book.ready(1);
  for (const durationUs of [400, 600]) life1.request({ durationUs, txBytes: 10 });
  life1.request({ status: 500, durationUs: 100, exception: true });
  book.report(1, 100, life1.report());
  book.exited(1);
  t.advance(5000);
  const life2 = board.spawn(book, 1, 200);
  book.report(1, 100, life1.report()); // a late report from the dead pid: ignored
  book.ready(1);
  life2.request({ durationUs: 1000, txBytes: 7 });
  book.report(1, 200, life2.report());
  const [w] = book.workers();
  assert.ok(w !== undefined);
  assert.equal(w.pid, 200);
  assert.equal(w.requests, 4);
  assert.equal(w.deltaRequests, 1);
  assert.equal(w.exceptions, 1);
  assert.equal(w.respawnCount, 2);
  assert.equal(w.lastSpawn, Math.floor(t.now() / 1000));
  assert.equal(w.tx, 27);
  assert.equal(w.runningTimeUs, 2100);
  assert.equal(w.apps[0]?.requests, 4);
  assert.equal(w.apps[0]?.exceptions, 1);
  assert.equal(w.cores[0]?.requests, 4);
  assert.equal(w.status, 'idle');
  assert.equal(book.totalRequests(), 4);
  assert.deepEqual(book.requestMetrics().c, { '200': 3, '500': 1 });
});

test('ledger: a worker in the app is busy from its row alone (no report needed), per core; a dead one is not', () => {
  const book = new WorkerStatsBook({ apps: [] });
  const w = new TestBoard().spawn(book, 1, 100, 4);
  book.ready(1);
  assert.equal(book.workers()[0]?.status, 'idle');
  w.begin(2, '10.0.0.1 - POST /upload?x=1', 0, 1_795_474_732_500);
  const s = book.workers()[0];
  assert.equal(s?.status, 'busy');
  assert.deepEqual(s?.cores.map((c) => c.inRequest), [false, false, true, false]);
  assert.equal(s?.cores[2]?.requestStart, 1_795_474_732);
  assert.deepEqual(s?.cores[2]?.vars, ['REQUEST_METHOD=POST', 'REQUEST_URI=/upload?x=1', 'REMOTE_ADDR=10.0.0.1']);
  book.exited(1);
  assert.equal(book.workers()[0]?.status, 'idle');
  assert.equal(book.workers()[0]?.accepting, false);
});

test('ledger: pause, cheap and harakiri; memory is read for live workers only', () => {
  const book = new WorkerStatsBook({ apps: [] });
  book.spawned(1, 100);
  book.spawned(2, 200);
  book.exited(2);
  book.setPaused(true);
  book.harakiri(1);
  book.refreshMemory((pid) => ({ rss: pid * 10, vsz: pid * 20 }));
  const [w1, w2] = book.workers();
  assert.equal(w1?.status, 'pause');
  assert.equal(w1?.harakiriCount, 1);
  assert.equal(w1?.rss, 1000);
  assert.equal(w1?.vsz, 2000);
  assert.equal(w2?.rss, 0);
  book.setCheaped(1, true);
  assert.equal(book.workers()[0]?.status, 'cheap');
  assert.equal(workerStatus({ cheaped: false, paused: true, signal: 0, busy: true }), 'busy');
  assert.equal(workerStatus({ cheaped: false, paused: false, signal: 9, busy: true }), 'sig9');
});

test('reporter: one message per interval while there is news, a flush on demand; the type guard accepts only its messages', async () => {
  const sent: WorkerStatsMessage[] = [];
  const metrics = new RequestMetrics();
  metrics.observe(200, 5);
  const reporter = startStatsReporter(metrics, (m) => sent.push(m), 20);
  try {
    const deadline = Date.now() + 5000;
    while (sent.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(sent.length, 1);
    metrics.observe(204, 5);
    reporter.flush();
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1]?.report.m.c, { '200': 1, '204': 1 });
    reporter.flush();
    assert.equal(sent.length, 2, 'nothing new: nothing sent');
    assert.ok(isWorkerStatsMessage(JSON.parse(JSON.stringify(sent[0]))));
    assert.equal(isWorkerStatsMessage({ type: 'ready' }), false);
    assert.equal(isWorkerStatsMessage({ type: 'stats', report: { req: 1 } }), false);
    assert.equal(isWorkerStatsMessage(null), false);
  } finally {
    reporter.stop();
  }
});

test('SIGUSR1 output has uWSGI 2.0.21 exact layout', () => {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  const board = new TestBoard();
  board.spawn(book, 1, 5961).request({ status: 500, durationUs: 1, exception: true });
  const w2 = board.spawn(book, 2, 5962);
  for (let i = 0; i < 2; i++) w2.request({ durationUs: 1 });
  const config = ';uWSGI instance configuration\n[uwsgi]\nmaster = true\n;end of configuration\n';
  assert.equal(
    renderSigusr1(config, book.workers(), book.totalRequests()),
    '\n;uWSGI instance configuration\n[uwsgi]\nmaster = true\n;end of configuration\n\n' +
      '\tworkers total requests: 3\n-----------------\n' +
      '\tworker 1 app 0 [] requests: 1 exceptions: 1\n-----------------\n' +
      '\tworker 2 app 0 [] requests: 2 exceptions: 0\n-----------------\n\n',
  );
});

test('Prometheus exposition: names, labels, histogram buckets cumulative, label values escaped', () => {
  const book = new WorkerStatsBook({ apps: [] });
  const c = new TestBoard().spawn(book, 1, 100);
  book.ready(1);
  c.request({ status: 200, durationUs: 2_000, txBytes: 100 });
  c.request({ status: 503, durationUs: 90_000_000, txBytes: 10 });
  book.report(1, 100, c.report());
  book.refreshMemory(() => ({ rss: 4096, vsz: 8192 }));
  const snapshot = instanceSnapshot({
    version: '0.1.0',
    listenQueue: 3,
    listenQueueErrors: 1,
    sockets: [{ name: '/run/"a".sock', proto: 'uwsgi', queue: 3, maxQueue: 100, shared: 0, canOffload: 0 }],
    workers: book.workers(),
  });
  const text = renderPrometheus(snapshot, book.requestMetrics());
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
  has('# TYPE nuwsgi_worker_requests_total counter');
  has('nuwsgi_worker_requests_total{worker="1"} 2');
  has('nuwsgi_worker_respawns_total{worker="1"} 1');
  has('nuwsgi_worker_transmitted_bytes_total{worker="1"} 110');
  has('nuwsgi_worker_resident_memory_bytes{worker="1"} 4096');
  has('nuwsgi_worker_status{worker="1",status="idle"} 1');
  has('nuwsgi_worker_status{worker="1",status="busy"} 0');
  has('nuwsgi_listen_queue 3');
  has('nuwsgi_listen_queue_errors_total 1');
  has('nuwsgi_socket_listen_queue{socket="/run/\\"a\\".sock",proto="uwsgi"} 3');
  has('nuwsgi_http_requests_total{code="200"} 1');
  has('nuwsgi_http_requests_total{code="503"} 1');
  has('# TYPE nuwsgi_http_request_duration_seconds histogram');
  has('nuwsgi_http_request_duration_seconds_bucket{le="0.001"} 0');
  has('nuwsgi_http_request_duration_seconds_bucket{le="0.0025"} 1');
  has('nuwsgi_http_request_duration_seconds_bucket{le="60"} 1');
  has('nuwsgi_http_request_duration_seconds_bucket{le="+Inf"} 2');
  has('nuwsgi_http_request_duration_seconds_sum 90.002');
  has('nuwsgi_http_request_duration_seconds_count 2');
  assert.ok(text.endsWith('\n'));
  // Every sample line is "name{labels} value" with a parsable value.
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+(\{.*\})? (\+Inf|-?[0-9.e+-]+)$/, line);
  }
  assert.equal(renderPrometheus({ ...snapshot, workers: [] }, emptyMetrics()).includes('nuwsgi_workers 0'), true);
});

test('ledger: a replaced worker keeps counting while it drains, and once it exits its requests stay', () => {
  const board = new TestBoard();
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  const old = board.spawn(book, 1, 100);
  book.ready(1);
  old.request({ txBytes: 10 });
  old.begin(0, '127.0.0.1 - GET /slow', 0, 1); // in flight when the reload comes
  const fresh = board.spawn(book, 1, 200); // the replacement takes over; 100 drains
  book.ready(1);
  fresh.request({ txBytes: 5 });
  old.writer.requestFinished(0, { appId: 0, txBytes: 7, exception: false, writeError: false });
  let w = book.workers()[0];
  assert.equal(w?.requests, 3, "the draining process's last request counts");
  assert.equal(w?.deltaRequests, 1);
  assert.equal(w?.tx, 22);
  assert.equal(w?.status, 'idle', 'busy and delta_requests are the current process only');
  book.replacedExited(1, 100);
  book.replacedExited(1, 999); // unknown: ignored
  w = book.workers()[0];
  assert.equal(w?.requests, 3);
  assert.equal(w?.apps[0]?.requests, 3);
  assert.equal(w?.cores[0]?.requests, 3);
  assert.equal(book.totalRequests(), 3);
});
