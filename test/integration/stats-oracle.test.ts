/**
 * The stats JSON against a live uWSGI 2.0 (skipped when uwsgi or its python3
 * plugin is missing): uWSGI serves an app, one request runs while we read its
 * stats; the document is read back and re-rendered with our writer, which
 * must reproduce it byte for byte (pretty and minified), and our own
 * document, rendered from our ledger, must have exactly uWSGI's keys, in
 * uWSGI's order, with the same types.
 *
 * Then each figure against the same load on both servers (issue 14): status
 * busy under load, avg_rt and running_time as time inside the app, tx with
 * headers, exceptions only for raised exceptions, per-core figures with
 * --threads 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { instanceSnapshot } from '../../src/stats/snapshot';
import { renderStatsJson } from '../../src/stats/uwsgi-json';
import { readStatsJson } from '../../src/stats/uwsgi-json-read';
import { WorkerStatsBook } from '../../src/stats/worker-book';
import { makeTempDir } from '../helpers/tmp';
import { startNuwsgi, startUwsgi, type ServerProcess } from '../helpers/server';
import { TestBoard } from '../helpers/board';

const PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';
const haveUwsgi = spawnSync('uwsgi', ['--version'], { encoding: 'utf8' }).status === 0 && existsSync(PYTHON_PLUGIN);
const skip = haveUwsgi ? false : 'uwsgi with the python3 plugin is not installed';

const APP = `import time
def application(env, start_response):
    if env['PATH_INFO'] == '/slow':
        time.sleep(2)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'hello']
`;

async function waitFor<T>(probe: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('deadline passed');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readAll(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ path });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function get(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/**
 * Key paths in document order: "workers[].cores[].req_info", with each value's
 * type. A running core's vars depend on the request (uWSGI sometimes has none
 * yet): only their being a list is compared.
 */
function shape(v: unknown, at = ''): string[] {
  if (Array.isArray(v)) return [`${at}:list`, ...(v.length > 0 && !at.endsWith('.vars') ? shape(v[0], `${at}[]`) : [])];
  if (typeof v === 'object' && v !== null) {
    return [`${at}:object`, ...Object.entries(v).flatMap(([k, x]) => shape(x, `${at}.${k}`))];
  }
  return [`${at}:${typeof v}`];
}

test('uWSGI oracle: re-rendering its numbers gives its exact bytes; our document has its exact shape', { skip }, async () => {
  const dir = makeTempDir('nuwsgi-stats-oracle-');
  writeFileSync(join(dir, 'app.py'), APP);
  const httpSock = join(dir, 'http.sock');
  const statsSock = join(dir, 'stats.sock');
  const child: ChildProcess = spawn(
    'uwsgi',
    ['--plugin', 'python3', '--master', '--die-on-term', '--http-socket', httpSock, '--stats', statsSock, '--wsgi-file', 'app.py', '--processes', '2'],
    { cwd: dir, stdio: 'ignore' },
  );
  try {
    await waitFor(async () => ((await get(httpSock, '/')) === 200 ? true : undefined));
    const slow = get(httpSock, '/slow');
    const busyText = await waitFor(async () => {
      const text = await readAll(statsSock);
      return text.includes('"in_request":1') ? text : undefined;
    });
    await slow;
    assert.equal(renderStatsJson(readStatsJson(busyText)), busyText);
    const idleText = await readAll(statsSock);
    assert.equal(renderStatsJson(readStatsJson(idleText), { minified: true }), JSON.stringify(JSON.parse(idleText)));

    // Ours, from the ledger, with a request running on worker 2, like uWSGI's above.
    const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
    const board = new TestBoard();
    for (const id of [1, 2]) {
      const w = board.spawn(book, id, 1000 + id);
      book.ready(id);
      if (id === 2) w.begin(0, '127.0.0.1 - GET /slow');
    }
    const theirs = JSON.parse(busyText) as { sockets: unknown[] };
    const ours = instanceSnapshot({
      version: '0.1.0',
      listenQueue: 0,
      listenQueueErrors: 0,
      sockets: [{ name: httpSock, proto: 'http', queue: 0, maxQueue: 100, shared: 0, canOffload: 0 }],
      workers: book.workers(),
    });
    assert.equal(theirs.sockets.length, 1);
    const busyWorkerFirst = (doc: unknown): unknown => {
      const d = doc as { workers: Array<{ status: string }> };
      return { ...d, workers: [...d.workers].sort((a, b) => (a.status === 'busy' ? -1 : b.status === 'busy' ? 1 : 0)) };
    };
    assert.deepEqual(shape(busyWorkerFirst(JSON.parse(renderStatsJson(ours)))), shape(busyWorkerFirst(theirs)));
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
});

// ------------------------------------------------------------ figures under load

const FIGURES_APP = `import time
def application(env, start_response):
    path = env['PATH_INFO']
    if path == '/slow':
        time.sleep(0.05)
    elif path == '/hang':
        time.sleep(30)
    elif path == '/raise':
        raise RuntimeError('raised on purpose')
    elif path == '/500':
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')])
        return [b'a 500 on purpose']
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Padding', 'p' * 100)])
    return [b'hello world']
`;

type Kind = 'uwsgi' | 'nuwsgi';
interface Core {
  requests: number;
  in_request: number;
}
interface Worker {
  status: string;
  requests: number;
  delta_requests: number;
  exceptions: number;
  tx: number;
  avg_rt: number;
  running_time: number;
  respawn_count: number;
  last_spawn: number;
  harakiri_count: number;
  rss: number;
  vsz: number;
  cores: Core[];
}
interface Stats {
  listen_queue: number;
  workers: Worker[];
}

interface Instance {
  server: ServerProcess;
  port: number;
  stats: () => Promise<Stats>;
}

async function startBoth(kind: Kind, extra: readonly string[] = []): Promise<Instance> {
  const dir = makeTempDir(`nuwsgi-figures-${kind}-`);
  writeFileSync(join(dir, 'app.py'), FIGURES_APP);
  const statsSock = join(dir, 'stats.sock');
  const args = ['--master', '--http-socket', '127.0.0.1:0', '--stats', statsSock, '--wsgi-file', 'app.py', '--processes', '1', ...extra];
  const server = await (kind === 'uwsgi' ? startUwsgi(args, { cwd: dir }) : startNuwsgi(args, { cwd: dir }));
  const port = server.httpPort as number;
  return { server, port, stats: async () => JSON.parse(await readAll(statsSock)) as Stats };
}

/** One request on its own connection; resolves to every byte the client received. */
function rawGet(port: number, path: string, method = 'GET'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(`${method} ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

const sum = (ws: Worker[], pick: (w: Worker) => number): number => ws.reduce((n, w) => n + pick(w), 0);

/**
 * The readiness probe's request and one of ours, both counted: a request is
 * counted just after its response is written (on both servers), so a stats
 * read can overtake the last one.
 */
async function settled(i: Instance): Promise<Stats> {
  await rawGet(i.port, '/');
  return statsWhen(i, (s) => s.workers.every((w) => w.requests >= 2 && w.status === 'idle'), 'the first two requests');
}

/** Polls the stats until `ok` holds (counters are updated as the response ends, maybe just after the client has it). */
async function statsWhen(i: Instance, ok: (s: Stats) => boolean, what: string): Promise<Stats> {
  const end = Date.now() + 10_000;
  for (;;) {
    const s = await i.stats();
    if (ok(s)) return s;
    assert.ok(Date.now() < end, `timed out waiting for ${what}: ${JSON.stringify(s.workers)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `clients` loops of one request per connection until `stopped` (uWSGI's
 * --http-socket closes after each response without saying so, which
 * loadWhile's keep-alive client would count as a failure).
 */
async function loadLoop(port: number, clients: number, stopped: Promise<void>, path: string): Promise<{ ok: number; failures: string[] }> {
  let done = false;
  void stopped.then(() => (done = true));
  const result = { ok: 0, failures: [] as string[] };
  const client = async (): Promise<void> => {
    while (!done) {
      const head = (await rawGet(port, path)).toString('latin1', 0, 12);
      if (/^HTTP\/1\.[01] 200/.test(head)) result.ok++;
      else result.failures.push(head);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return result;
}

/** 20 stats samples while 8 clients load /slow (50 ms in the app); the counters once the load is over. */
async function underLoad(i: Instance): Promise<{ samples: Stats[]; after: Stats; ok: number; before: Stats }> {
  const before = await settled(i);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const load = loadLoop(i.port, 8, stopped, '/slow');
  const samples: Stats[] = [];
  try {
    await statsWhen(i, (s) => sum(s.workers, (w) => w.requests) >= sum(before.workers, (w) => w.requests) + 8, 'the load to run');
    // Over more than a second: both masters refresh listen_queue once a second.
    for (let n = 0; n < 20; n++) {
      samples.push(await i.stats());
      await new Promise((r) => setTimeout(r, 60));
    }
  } finally {
    stop();
  }
  const result = await load;
  assert.deepEqual(result.failures, []);
  // listen_queue is refreshed once a second by both masters: wait for the empty queue too.
  const after = await statsWhen(i, (s) => s.listen_queue === 0 && s.workers.every((w) => w.status === 'idle'), 'the workers to be idle');
  return { samples, after, ok: result.ok, before };
}

for (const kind of ['uwsgi', 'nuwsgi'] as const) {
  test(`${kind}: busy under load, avg_rt and running_time are time in the app (µs), tx counts headers, only raised exceptions count`, { skip }, async (t) => {
    // --memory-report: uWSGI fills rss/vsz only with it (nuwsgi always does).
    const i = await startBoth(kind, ['--memory-report']);
    try {
      const { samples, after, ok, before } = await underLoad(i);
      const busy = samples.filter((s) => s.workers[0]?.status === 'busy').length;
      const queued = Math.max(...samples.map((s) => s.listen_queue));
      const w = after.workers[0] as Worker;
      const wBefore = before.workers[0] as Worker;
      const perRequestUs = (w.running_time - wBefore.running_time) / (w.requests - wBefore.requests);
      t.diagnostic(`${kind}: busy ${busy}/20, requests ${w.requests} (${ok} by the load), avg_rt ${w.avg_rt} µs, running_time/request ${Math.round(perRequestUs)} µs, listen_queue max ${queued}`);
      assert.ok(busy >= 15, `busy in ${busy} of 20 samples`);
      assert.ok(samples.some((s) => s.workers[0]?.cores[0]?.in_request === 1), 'in_request seen');
      assert.ok(w.avg_rt >= 50_000 && w.avg_rt < 100_000, `avg_rt ${w.avg_rt} µs is within 2x of the app's 50 ms`);
      assert.ok(perRequestUs >= 45_000 && perRequestUs < 100_000, `running_time per request ${perRequestUs} µs`);
      assert.equal(w.requests - wBefore.requests, ok, 'every request the load made is counted');
      assert.equal(w.delta_requests, w.requests, 'first life: delta_requests = requests');
      assert.equal(w.respawn_count, 1);
      assert.ok(Math.abs(w.last_spawn - Date.now() / 1000) < 120, 'last_spawn is this run');
      assert.equal(w.harakiri_count, 0);
      assert.ok(w.rss > 1_000_000 && w.vsz >= w.rss, `rss ${w.rss} vsz ${w.vsz}`);
      assert.ok(queued >= 1, `8 clients, 1 worker: connections wait in the listen queue (max seen ${queued})`);

      // tx: head and body, exactly what the client received.
      const txBefore = w.tx;
      let received = 0;
      for (let n = 0; n < 5; n++) received += (await rawGet(i.port, '/')).length;
      received += (await rawGet(i.port, '/', 'HEAD')).length; // nuwsgi sends no body to HEAD, uWSGI the app's
      const txAfter = await statsWhen(i, (s) => (s.workers[0]?.tx ?? 0) >= txBefore + received, `tx to grow by ${received}`);
      assert.equal((txAfter.workers[0] as Worker).tx - txBefore, received, 'tx = bytes the client received (head + body)');

      // exceptions: a 500 returned on purpose is not one; a raised exception is.
      const excBefore = (txAfter.workers[0] as Worker).exceptions;
      const reqBefore = (txAfter.workers[0] as Worker).requests;
      for (const path of ['/500', '/500', '/raise']) await rawGet(i.port, path);
      const excAfter = await statsWhen(i, (s) => (s.workers[0]?.requests ?? 0) >= reqBefore + 3, 'three more requests');
      assert.equal((excAfter.workers[0] as Worker).exceptions - excBefore, 1, 'one raised exception, two deliberate 500s');
    } finally {
      await i.server.stop();
    }
  });

  test(`${kind}: harakiri: harakiri_count, respawn_count, last_spawn, and counters carried over the respawn`, { skip }, async (t) => {
    const i = await startBoth(kind, ['--harakiri', '1']);
    try {
      for (let n = 0; n < 3; n++) await rawGet(i.port, '/');
      const first = await statsWhen(i, (s) => (s.workers[0]?.requests ?? 0) >= 3 && s.workers[0]?.status === 'idle', 'three requests');
      const w1 = first.workers[0] as Worker;
      const hung = rawGet(i.port, '/hang').catch(() => Buffer.alloc(0));
      const busy = await statsWhen(i, (s) => s.workers[0]?.status === 'busy', 'the hanging request');
      assert.equal(busy.workers[0]?.cores[0]?.in_request, 1);
      await hung; // the harakiri kill closes the connection
      const after = await statsWhen(i, (s) => (s.workers[0]?.respawn_count ?? 0) >= 2, 'the respawn');
      await rawGet(i.port, '/');
      // uWSGI bumps its counters one after the other after the response: wait for all of them.
      const counted = (s: Stats): boolean => (s.workers[0]?.delta_requests ?? 0) >= 1 && (s.workers[0]?.tx ?? 0) > w1.tx && s.workers[0]?.status === 'idle';
      const w = (await statsWhen(i, counted, 'a request on the new worker')).workers[0] as Worker;
      t.diagnostic(`${kind}: before ${JSON.stringify({ req: w1.requests, tx: w1.tx })} after ${JSON.stringify({ req: w.requests, delta: w.delta_requests, exc: w.exceptions, hk: w.harakiri_count, respawns: w.respawn_count, tx: w.tx })}`);
      assert.equal(after.workers[0]?.harakiri_count, 1);
      assert.equal(w.harakiri_count, 1);
      assert.equal(w.respawn_count, 2);
      assert.equal(w.delta_requests, 1, 'delta_requests starts again with the new process');
      assert.equal(w.requests, w1.requests + 1, 'requests carry over the respawn (the killed request is not counted)');
      assert.ok(w.tx > w1.tx, 'tx carries over');
      assert.ok(w.last_spawn >= Math.floor(Date.now() / 1000) - 30);
    } finally {
      await i.server.stop();
    }
  });

  test(`${kind}: --threads 4: per-core requests and in_request under load`, { skip }, async (t) => {
    const i = await startBoth(kind, ['--threads', '4']);
    try {
      const { samples, after, before } = await underLoad(i);
      const w = after.workers[0] as Worker;
      const busyCores = samples.map((s) => (s.workers[0]?.cores ?? []).filter((c) => c.in_request === 1).length);
      const busy = samples.filter((s) => s.workers[0]?.status === 'busy').length;
      t.diagnostic(`${kind}: busy cores per sample ${busyCores.join(',')}; status busy ${busy}/20; cores' requests ${w.cores.map((c) => c.requests).join(',')}; avg_rt ${w.avg_rt}`);
      assert.equal(w.cores.length, 4);
      assert.ok(busyCores.filter((n) => n >= 2).length >= 15, 'several cores in a request at once in most samples');
      assert.ok(busy >= 15, `busy in ${busy} of 20 samples`);
      assert.equal(sum([w], () => w.cores.reduce((n, c) => n + c.requests, 0)), w.requests, "the cores' requests add up to the worker's");
      assert.ok(w.cores.filter((c) => c.requests > 0).length >= 2, 'the load is spread over cores');
      const perRequestUs = (w.running_time - (before.workers[0] as Worker).running_time) / (w.requests - (before.workers[0] as Worker).requests);
      assert.ok(perRequestUs >= 45_000 && perRequestUs < 100_000, `running_time per request ${perRequestUs} µs (summed over cores)`);
      assert.ok(w.avg_rt >= 45_000 && w.avg_rt < 100_000, `avg_rt ${w.avg_rt} µs`);
    } finally {
      await i.server.stop();
    }
  });
}

// uWSGI is no oracle here: its graceful reload re-executes the master and starts every counter again.
test('nuwsgi: a graceful reload under load: every request the clients got is counted once, over both processes', async (t) => {
  const i = await startBoth('nuwsgi');
  try {
    const before = (await settled(i)).workers[0] as Worker;
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((r) => (stop = r));
    const load = loadLoop(i.port, 4, stopped, '/slow');
    try {
      await statsWhen(i, (s) => (s.workers[0]?.requests ?? 0) >= before.requests + 4, 'the load to run');
      process.kill(i.server.pid, 'SIGHUP');
      await statsWhen(i, (s) => s.workers[0]?.respawn_count === 2 && (s.workers[0]?.delta_requests ?? 0) >= 4, 'the replacement to serve');
    } finally {
      stop();
    }
    const result = await load;
    assert.deepEqual(result.failures, []);
    await i.server.waitForLog(/buried after/, 10_000);
    const w = (await statsWhen(i, (s) => s.workers[0]?.status === 'idle', 'idle')).workers[0] as Worker;
    t.diagnostic(`requests ${w.requests - before.requests} counted, ${result.ok} received; delta_requests ${w.delta_requests}`);
    assert.equal(w.requests - before.requests, result.ok);
    assert.ok(w.delta_requests < w.requests - before.requests);
  } finally {
    await i.server.stop();
  }
});
