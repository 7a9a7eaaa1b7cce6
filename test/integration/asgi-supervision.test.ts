// ASGI requests in supervision and stats (docs/asgi.md, "Supervision and
// stats"): every --asgi-concurrency slot is a core of the scoreboard, so
// harakiri, the stats server, Prometheus and the request log see each
// request in flight, not only the first --threads of them; --max-requests
// counts ASGI requests; an open WebSocket is not a request in flight.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { request, type HttpResponse } from '../helpers/http';
import { eventually, until } from '../helpers/load';
import { repoRoot, startNuwsgi, type ServerProcess } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const PYTHON = '/usr/bin/python3';
const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');
const wsSkip = skipReason({ debPackages: ['python3-websockets'], python: { interpreter: PYTHON, modules: ['websockets'] } });

interface StatsCore {
  id: number;
  in_request: number;
  vars: string[];
}
interface StatsWorker {
  id: number;
  pid: number;
  status: string;
  requests: number;
  harakiri_count: number;
  cores: StatsCore[];
}

function readStats(path: string): Promise<{ workers: StatsWorker[] }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { workers: StatsWorker[] }));
  });
}

/** The master's /metrics, as text (the address from its "Prometheus metrics enabled on" line). */
async function readMetrics(server: ServerProcess): Promise<string> {
  const address = /Prometheus metrics enabled on (\S+) /.exec(server.logs())?.[1];
  assert.ok(address !== undefined, 'the metrics line');
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return (await request({ host, port }, { path: '/metrics' })).body.toString();
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function withServer(extra: string[], fn: (server: ServerProcess, port: number, stats: string) => Promise<void>, app = 'hang_asgi:app'): Promise<void> {
  const dir = makeTempDir('nuwsgi-asgi-supervision-');
  const stats = join(dir, 'stats.sock');
  const args = ['--http-socket', '127.0.0.1:0', '--python', PYTHON, '--chdir', fixtures(), '--asgi', app, '--master', '--processes', '1', '--stats', stats, ...extra];
  const server = await startNuwsgi(args, { readyPath: '/ready' });
  try {
    await fn(server, server.httpPort as number, stats);
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}

/** A request that may never be answered (its worker is killed): resolves to its response or its error. */
function hang(port: number, path: string): Promise<HttpResponse | Error> {
  return request(port, { path, timeoutMs: 60_000 }).catch((err: Error) => err);
}

const busyCores = (w: StatsWorker | undefined): StatsCore[] => w?.cores.filter((c) => c.in_request === 1) ?? [];

describe('ASGI requests in supervision and stats', () => {
  test('--asgi-concurrency 16 --threads 1: ten requests in flight show as ten busy cores (stats JSON, Prometheus), each with its request', async () => {
    await withServer(['--asgi-concurrency', '16', '--threads', '1', '--metrics', '127.0.0.1:0'], async (server, port, stats) => {
      const pending = Array.from({ length: 10 }, (_, i) => hang(port, `/sleep/3?n=${i}`));
      const worker = await eventually(async () => {
        const w = (await readStats(stats)).workers[0];
        return busyCores(w).length === 10 ? w : undefined;
      }, 'ten requests in flight in the stats', 20_000, server);
      assert.equal(worker?.cores.length, 16, 'one core per --asgi-concurrency slot');
      assert.match(server.logs(), /spawned nuwsgi worker 1 \(pid: \d+, cores: 16\)/, 'as uWSGI counts --async cores');
      assert.equal(worker?.status, 'busy');
      for (const core of busyCores(worker)) assert.ok(core.vars.some((v) => v.startsWith('REQUEST_URI=/sleep/3?n=')), JSON.stringify(core.vars));
      assert.ok(busyCores(worker).some((c) => c.id >= 1), 'slots beyond --threads are seen');
      const text = await readMetrics(server);
      assert.equal(metric(text, 'nuwsgi_requests_in_flight'), 10, text);
      assert.equal(metric(text, 'nuwsgi_worker_busy_cores{worker="1"}'), 10);
      assert.equal(metric(text, 'nuwsgi_worker_cores{worker="1"}'), 16);
      assert.equal(metric(text, 'nuwsgi_websockets_open'), 0);
      const responses = await Promise.all(pending);
      assert.deepEqual(responses.map((r) => (r instanceof Error ? r.message : r.status)), Array(10).fill(200));
      // Each line names its own slot as its core, the size the app sent and the time it took.
      await until(() => (server.logs().match(/GET \/sleep\/3\?n=\d => /g) ?? []).length === 10, 10_000, 'ten request log lines');
      const lines = server.logs().split('\n').filter((l) => l.includes('GET /sleep/3?n='));
      const cores = new Set(lines.map((l) => /\(1 switches on core (\d+)\)$/.exec(l)?.[1]));
      assert.equal(cores.size, 10, lines.join('\n'));
      for (const l of lines) assert.match(l, /=> generated 14 bytes in (\d{4,}) msecs \(HTTP\/1\.1 200\) 1 headers in \d+ bytes/);
      const idle = (await readStats(stats)).workers[0];
      assert.equal(busyCores(idle).length, 0);
      assert.equal(idle?.requests, 10 + 1, 'the ten and the readiness probe');
    });
  });

  test('--harakiri 2: requests stuck in asyncio.sleep in slots beyond --threads kill the worker; each is named in the log', async () => {
    await withServer(['--asgi-concurrency', '16', '--threads', '1', '--harakiri', '2'], async (server, port, stats) => {
      // Slot 0 (the only one a --threads 1 scoreboard used to show) gets a request that ends in time.
      const quick = request(port, { path: '/sleep/1.2', timeoutMs: 20_000 });
      await eventually(async () => (busyCores((await readStats(stats)).workers[0]).some((c) => c.id === 0) ? true : undefined), 'the quick request in slot 0', 10_000, server);
      const stuck = Array.from({ length: 9 }, (_, i) => hang(port, `/sleep/60?stuck=${i}`));
      assert.equal((await quick).status, 200);
      await server.waitForLog(/HARAKIRI !!! end of worker 1 status !!!/, 20_000);
      const logs = server.logs();
      assert.match(logs, /\*\*\* HARAKIRI ON WORKER 1 \(pid: \d+, try: 1\) \*\*\*/);
      const named = [...logs.matchAll(/HARAKIRI \[core (\d+)\] 127\.0\.0\.1 - GET \/sleep\/60\?stuck=\d since \d+/g)].map((m) => Number(m[1]));
      assert.ok(named.length >= 1 && named.every((core) => core >= 1), `stuck slots named by core: ${named.join(', ')}\n${logs}`);
      // The worker dies with every request it held; each is named once it is gone.
      await server.waitForLog(/Respawned nuwsgi worker 1/, 20_000);
      await until(() => (server.logs().match(/worker 1 core \d+ was running: 127\.0\.0\.1 - GET \/sleep\/60\?stuck=\d/g) ?? []).length === 9, 10_000, 'nine requests named after the kill');
      const lost = await Promise.all(stuck);
      assert.ok(lost.every((r) => r instanceof Error || r.status >= 500), 'the stuck requests got no answer from the app');
      await eventually(async () => ((await request(port, { path: '/after' })).status === 200 ? true : undefined), 'the respawned worker serving', 20_000, server);
      const w = (await readStats(stats)).workers[0];
      assert.equal(w?.harakiri_count, 1);
    });
  });

  test('--max-requests 5: five ASGI requests in flight together, then the worker is replaced; the log counts them 1/1 to 5/5', async () => {
    await withServer(['--asgi-concurrency', '16', '--max-requests', '5', '--min-worker-lifetime', '0'], async (server, port) => {
      const first = /spawned nuwsgi worker 1 \(pid: (\d+)/.exec(server.logs())?.[1];
      // The readiness probe was the first request: four more together reach five.
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => request(port, { path: `/sleep/0.3?n=${i}` })));
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200]);
      await server.waitForLog(/\.\.\.The work of process \d+ is done \(max requests reached \(5\)\)\. Seeya!/, 20_000);
      await server.waitForLog(/Respawned nuwsgi worker 1 \(new pid: \d+\)/, 20_000);
      const counts = [...server.logs().matchAll(new RegExp(`\\[pid: ${first}\\|app: 0\\|req: \\d+/(\\d+)\\]`, 'g'))].map((m) => Number(m[1]));
      assert.deepEqual(counts.slice(0, 5), [1, 2, 3, 4, 5]);
      const fresh = /Respawned nuwsgi worker 1 \(new pid: (\d+)\)/.exec(server.logs())?.[1];
      // The old worker serves until its replacement is ready (recycling never refuses a connection), and may
      // take a queued connection while it drains: ask until the new one answers, its count from 1.
      let k = 0;
      await eventually(async () => {
        await request(port, { path: `/next?k=${k++}` });
        return new RegExp(`\\[pid: ${fresh}\\|app: 0\\|req: 1/1\\] .* GET /next\\?k=\\d+ => `).test(server.logs()) ? true : undefined;
      }, 'a request served by the new worker', 20_000, server);
    });
  });

  test('the request log: a streamed ASGI response counts the times its task was woken as switches, and its whole size', async () => {
    await withServer([], async (server, port) => {
      const res = await request(port, { path: '/stream/4' });
      assert.equal(res.body.toString(), 'piece 0\npiece 1\npiece 2\npiece 3\n');
      const line = await server.waitForLog(/GET \/stream\/4 => .*/);
      const m = /generated (\d+) bytes in \d+ msecs \(HTTP\/1\.1 200\) \d+ headers in \d+ bytes \((\d+) switches on core 0\)/.exec(line);
      assert.ok(m !== null, line);
      assert.equal(Number(m[1]), 32);
      assert.ok(Number(m[2]) > 1, `a streamed response is more than one switch: ${line}`);
      const plain = await server.waitForLog(/GET \/ready => .*/);
      assert.match(plain, /\(1 switches on core 0\)/);
    });
  });

  test('a WebSocket open longer than --harakiri is not killed; it shows as open, not as a request in flight', { skip: wsSkip ?? false }, async () => {
    await withServer(['--harakiri', '1', '--ws-ping-interval', '1', '--metrics', '127.0.0.1:0'], async (server, port, stats) => {
      const client = new Promise<string>((resolve, reject) => {
        execFile(PYTHON, [join(fixtures(), 'ws_client.py'), 'idle', `ws://127.0.0.1:${port}/echo`, '3.5'], { timeout: 60_000 }, (err, stdout, stderr) =>
          err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
        );
      });
      let settled = false;
      void client.finally(() => (settled = true)).catch(() => undefined);
      const seen = await eventually(async () => {
        const text = await readMetrics(server);
        return metric(text, 'nuwsgi_websockets_open') === 1 ? text : undefined;
      }, 'the WebSocket open in the metrics', 20_000, server);
      assert.equal(metric(seen, 'nuwsgi_requests_in_flight'), 0);
      assert.equal(metric(seen, 'nuwsgi_worker_websockets_open{worker="1"}'), 1);
      assert.equal(busyCores((await readStats(stats)).workers[0]).length, 0, 'not in_request in the stats JSON');
      assert.equal(settled, false);
      const out = await client;
      assert.match(out, /"text": "still here"/);
      assert.doesNotMatch(server.logs(), /HARAKIRI/);
      await server.waitForLog(/GET \/echo => generated \d+ bytes in \d{4,} msecs \(HTTP\/1\.1 101\)/);
    }, 'ws_apps:app');
  });
});
