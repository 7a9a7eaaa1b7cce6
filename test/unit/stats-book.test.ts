import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPrometheus } from '../../src/stats/prometheus';
import { emptyMetrics, LATENCY_BOUNDS_US, RequestMetrics } from '../../src/stats/request-metrics';
import { renderSigusr1 } from '../../src/stats/sigusr1';
import { instanceSnapshot, workerStatus } from '../../src/stats/snapshot';
import { isWorkerStatsMessage, startStatsReporter, WorkerCounters, type WorkerStatsMessage } from '../../src/stats/worker-counters';
import { WorkerStatsBook } from '../../src/stats/worker-book';

function clock(start = 1_795_474_732_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test("avg_rt is uWSGI's (avg + rt) / 2, tx counts headers and body, exceptions count per app", () => {
  const c = new WorkerCounters();
  c.begin(0);
  c.end({ status: 200, durationUs: 582, txBytes: 50 });
  assert.equal(c.report().avg, 291); // the figure uWSGI 2.0.21 showed for the same running_time
  c.begin(1);
  c.end({ status: 500, durationUs: 3_001_000, txBytes: 0, exception: true, appId: 1 });
  const r = c.report();
  assert.equal(r.avg, Math.floor((291 + 3_001_000) / 2));
  assert.equal(r.req, 2);
  assert.equal(r.rt, 3_001_582);
  assert.equal(r.tx, 50);
  assert.deepEqual(r.apps, [[1, 0], [1, 1]]);
  assert.equal(r.busy, 0);
  assert.deepEqual(r.vars, []);
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
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }], now: t.now });
  book.spawned(1, 100);
  book.ready(1);
  const life1 = new WorkerCounters();
  for (const durationUs of [400, 600]) {
    life1.begin(0);
    life1.end({ status: 200, durationUs, txBytes: 10 });
  }
  life1.begin(0);
  life1.end({ status: 500, durationUs: 100, txBytes: 0, exception: true });
  book.report(1, 100, life1.report());
  book.exited(1);
  t.advance(5000);
  book.spawned(1, 200);
  book.report(1, 100, life1.report()); // a late report from the dead pid: ignored
  book.ready(1);
  const life2 = new WorkerCounters();
  life2.begin(0);
  life2.end({ status: 200, durationUs: 1000, txBytes: 7 });
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

test('ledger: a live worker that stops reporting is shown busy (blocked in Python); a dead one is not', () => {
  const t = clock();
  const book = new WorkerStatsBook({ apps: [], now: t.now });
  book.spawned(1, 100);
  book.ready(1);
  book.report(1, 100, new WorkerCounters().report());
  t.advance(1000);
  assert.equal(book.workers()[0]?.status, 'idle');
  t.advance(2000);
  const w = book.workers()[0];
  assert.equal(w?.status, 'busy');
  assert.equal(w?.cores[0]?.inRequest, true);
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

test('reporter: one message per interval, a flush on demand; the type guard accepts only its messages', async () => {
  const sent: WorkerStatsMessage[] = [];
  const counters = new WorkerCounters();
  const reporter = startStatsReporter(counters, (m) => sent.push(m), 20);
  try {
    const deadline = Date.now() + 5000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(sent.length >= 2);
    counters.begin(0);
    counters.end({ status: 204, durationUs: 5, txBytes: 0 });
    reporter.flush();
    assert.equal(sent[sent.length - 1]?.report.req, 1);
    assert.ok(isWorkerStatsMessage(JSON.parse(JSON.stringify(sent[0]))));
    assert.equal(isWorkerStatsMessage({ type: 'ready' }), false);
    assert.equal(isWorkerStatsMessage(null), false);
  } finally {
    reporter.stop();
  }
});

test('SIGUSR1 output has uWSGI 2.0.21 exact layout', () => {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  book.spawned(1, 5961);
  book.spawned(2, 5962);
  const w1 = new WorkerCounters();
  w1.begin(0);
  w1.end({ status: 500, durationUs: 1, txBytes: 0, exception: true });
  book.report(1, 5961, w1.report());
  const w2 = new WorkerCounters();
  for (let i = 0; i < 2; i++) {
    w2.begin(0);
    w2.end({ status: 200, durationUs: 1, txBytes: 0 });
  }
  book.report(2, 5962, w2.report());
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
  book.spawned(1, 100);
  book.ready(1);
  const c = new WorkerCounters();
  c.begin(0);
  c.end({ status: 200, durationUs: 2_000, txBytes: 100 });
  c.begin(0);
  c.end({ status: 503, durationUs: 90_000_000, txBytes: 10 });
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
