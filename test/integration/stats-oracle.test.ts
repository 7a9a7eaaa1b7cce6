/**
 * The stats JSON against a live uWSGI 2.0 (skipped when uwsgi or its python3
 * plugin is missing): uWSGI serves an app, one request runs while we read its
 * stats; the document is read back and re-rendered with our writer, which
 * must reproduce it byte for byte (pretty and minified), and our own
 * document, rendered from our ledger, must have exactly uWSGI's keys, in
 * uWSGI's order, with the same types.
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
