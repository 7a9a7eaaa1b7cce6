/**
 * Every key uwsgitop (xrmx/uwsgitop, the current curses version) reads from a
 * stats document, with the type it assumes (it does arithmetic and %d on the
 * numbers, .startswith on status), plus the keys the common exporters
 * (Telegraf's uwsgi input, Netdata, uwsgi_exporter) read. Checked on a
 * document nuwsgi renders from its own ledger, not a hand-written one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceSnapshot } from '../../src/stats/snapshot';
import { renderStatsJson } from '../../src/stats/uwsgi-json';
import { WorkerStatsBook } from '../../src/stats/worker-book';
import { TestBoard } from '../helpers/board';

type Kind = 'number' | 'string' | 'list' | 'object';

/** uwsgitop: dd['version'], dd['listen_queue'], cwd, uid, gid, pid, workers. */
const TOP_LEVEL: Record<string, Kind> = {
  version: 'string',
  listen_queue: 'number',
  listen_queue_errors: 'number',
  signal_queue: 'number',
  load: 'number',
  pid: 'number',
  uid: 'number',
  gid: 'number',
  cwd: 'string',
  locks: 'list',
  sockets: 'list',
  workers: 'list',
};

/** uwsgitop's worker row, plus Telegraf's uwsgi_workers fields. */
const WORKER: Record<string, Kind> = {
  id: 'number',
  pid: 'number',
  accepting: 'number',
  requests: 'number',
  delta_requests: 'number',
  exceptions: 'number',
  harakiri_count: 'number',
  signals: 'number',
  signal_queue: 'number',
  status: 'string',
  rss: 'number',
  vsz: 'number',
  running_time: 'number',
  last_spawn: 'number',
  respawn_count: 'number',
  tx: 'number',
  avg_rt: 'number',
  apps: 'list',
  cores: 'list',
};

/** uwsgitop's async mode (core['id'], ['requests'], ['in_request']) and Telegraf's uwsgi_cores. */
const CORE: Record<string, Kind> = {
  id: 'number',
  requests: 'number',
  static_requests: 'number',
  routed_requests: 'number',
  offloaded_requests: 'number',
  write_errors: 'number',
  read_errors: 'number',
  in_request: 'number',
  vars: 'list',
  req_info: 'object',
};

const APP: Record<string, Kind> = {
  id: 'number',
  modifier1: 'number',
  mountpoint: 'string',
  startup_time: 'number',
  requests: 'number',
  exceptions: 'number',
  chdir: 'string',
};

const SOCKET: Record<string, Kind> = { name: 'string', proto: 'string', queue: 'number', max_queue: 'number', shared: 'number', can_offload: 'number' };

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'null';
  return typeof v;
}

function assertShape(where: string, o: unknown, shape: Record<string, Kind>): void {
  assert.equal(kindOf(o), 'object', `${where} is an object`);
  const rec = o as Record<string, unknown>;
  for (const [key, kind] of Object.entries(shape)) {
    assert.equal(kindOf(rec[key]), kind, `${where}.${key} is a ${kind}`);
    if (kind === 'number') assert.ok(Number.isInteger(rec[key]) && (rec[key] as number) >= 0, `${where}.${key} is a non-negative integer`);
  }
}

function renderedDocument(): Record<string, unknown> {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  const board = new TestBoard();
  const [busy] = ([[1, 101], [2, 102], [3, 103]] as const).map(([id, pid]) => {
    const w = board.spawn(book, id, pid);
    book.ready(id);
    return w;
  });
  busy?.request({ status: 200, durationUs: 1500, txBytes: 50 });
  busy?.begin(0, '127.0.0.1 - GET /slow');
  book.setCheaped(3, true);
  const snapshot = instanceSnapshot({
    version: '0.1.0',
    listenQueue: 0,
    listenQueueErrors: 0,
    sockets: [{ name: '127.0.0.1:8000', proto: 'http', queue: 0, maxQueue: 100, shared: 0, canOffload: 0 }],
    workers: book.workers(),
  });
  return JSON.parse(renderStatsJson(snapshot)) as Record<string, unknown>;
}

test('every key uwsgitop and the exporters read is there, with the type they assume', () => {
  const doc = renderedDocument();
  assertShape('stats', doc, TOP_LEVEL);
  for (const sock of doc['sockets'] as unknown[]) assertShape('socket', sock, SOCKET);
  const workers = doc['workers'] as Array<Record<string, unknown>>;
  assert.equal(workers.length, 3);
  for (const worker of workers) {
    assertShape(`worker ${String(worker['id'])}`, worker, WORKER);
    for (const app of worker['apps'] as unknown[]) assertShape('app', app, APP);
    for (const core of worker['cores'] as unknown[]) assertShape('core', core, CORE);
  }
  // uwsgitop's colouring: status strings it compares against.
  assert.deepEqual(
    workers.map((w) => w['status']),
    ['busy', 'idle', 'cheap'],
  );
  // uwsgitop's async mode reads the running core's in_request.
  const core = (workers[0]?.['cores'] as Array<Record<string, unknown>>)[0];
  assert.equal(core?.['in_request'], 1);
  assert.deepEqual(core?.['vars'], ['REQUEST_METHOD=GET', 'REQUEST_URI=/slow', 'REMOTE_ADDR=127.0.0.1', '']);
  assert.equal(typeof (core?.['req_info'] as Record<string, unknown>)['request_start'], 'number');
});

test('uwsgitop arithmetic on our document: totals, percentages, ms conversions', () => {
  const doc = renderedDocument();
  const workers = doc['workers'] as Array<Record<string, number>>;
  const tot = workers.reduce((a, w) => a + (w['requests'] ?? 0), 0);
  const tx = workers.reduce((a, w) => a + (w['tx'] ?? 0), 0);
  assert.equal(tot, 1);
  assert.equal(tx, 50);
  assert.equal(Math.floor((workers[0]?.['avg_rt'] ?? 0) / 1000), 0);
  assert.equal((workers[0]?.['running_time'] ?? 0) / 1000, 1.5);
});
