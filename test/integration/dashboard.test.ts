// Issue 14: --dashboard and --metrics on a real master and a real emperor:
// /ready through a graceful stop and a reload, /live, /stats, /metrics
// checked by Prometheus' promtool, token-guarded actions, and the emperor's
// metrics covering every vassal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { until } from '../helpers/load';
import { repoRoot, startNuwsgi, type ServerProcess } from '../helpers/server';
import { which } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');
const BASE = (): string[] => ['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master'];
const PROMTOOL_SKIP = which('promtool') === undefined ? 'promtool not installed (Debian package prometheus)' : undefined;

interface Reply {
  status: number;
  body: string;
}

/** One HTTP exchange with a "host:port" address or a unix socket path (node:http, so keep-alive and chunking are handled). */
function call(address: string, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const colon = address.lastIndexOf(':');
  const target = address.startsWith('/') ? { socketPath: address } : { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${address}${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `path` until its status is `status`; returns the reply. */
async function statusBecomes(address: string, path: string, status: number, deadlineMs: number): Promise<Reply> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const reply = await call(address, path);
    if (reply.status === status) return reply;
    assert.ok(Date.now() < deadline, `${path} stayed ${reply.status} (${reply.body.trim()}), expected ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function logged(server: ServerProcess, re: RegExp): string {
  const m = re.exec(server.logs());
  assert.ok(m !== null, `not in the log: ${re}`);
  return m[1] as string;
}

const dashboardOf = (s: ServerProcess): string => logged(s, /dashboard enabled on http:\/\/(\S+)\//);
const metricsOf = (s: ServerProcess): string => logged(s, /Prometheus metrics enabled on (\S+) /);

/** `promtool check metrics` on a document: its exit status and what it said. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('--dashboard and --metrics on a master', () => {
  test('/ready, /live and /stats; /ready is 503 through a reload and from the start of a graceful stop, while a slow request still runs', async () => {
    const dir = makeTempDir();
    const server = await startNuwsgi([...BASE(), '--processes', '2', '--dashboard', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    try {
      const dash = dashboardOf(server);
      const metrics = metricsOf(server);
      await statusBecomes(dash, '/ready', 200, 10_000);
      assert.equal((await call(metrics, '/ready')).status, 200, '--metrics serves the probes too');
      const live = await call(dash, '/live');
      assert.deepEqual([live.status, live.body], [200, 'live\n']);
      assert.equal((await call(metrics, '/live')).status, 200);
      for (let i = 0; i < 5; i++) assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
      const stats = JSON.parse((await call(dash, '/stats')).body) as { workers: Array<{ id: number; requests: number }> };
      assert.equal(stats.workers.length, 2);
      // Read-only by default: every action is refused.
      assert.equal((await call(dash, '/actions/reload', { method: 'POST', headers: { Authorization: 'Bearer x' } })).status, 403);
      assert.equal((await call(dash, '/actions/reload')).status, 405);
      const page = await call(dash, '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>nuwsgi dashboard<\/title>/);

      // A reload: 503 from the moment it begins, 200 once every worker is ready again.
      server.signal('SIGHUP');
      const reloading = await statusBecomes(dash, '/ready', 503, 5_000);
      assert.equal(reloading.body, 'not ready: reloading\n');
      await statusBecomes(dash, '/ready', 200, 30_000);
      await server.waitForLog(/gracefully replacing workers/);

      // A graceful stop with a slow request in flight: /ready goes 503 before the request (and the listener) ends.
      const marker = join(dir, 'in-app');
      let slowDone = false;
      const slow = request(server.httpPort as number, { path: `/slow?secs=4&marker=${marker}`, timeoutMs: 30_000 }).then((r) => {
        slowDone = true;
        return r;
      });
      await until(() => existsSync(marker), 10_000, 'the slow request inside the app');
      server.signal('SIGTERM');
      const stopping = await statusBecomes(dash, '/ready', 503, 3_000);
      assert.equal(stopping.body, 'not ready: stopping\n');
      assert.equal(slowDone, false, '/ready turned 503 while the request still ran');
      assert.equal((await call(dash, '/live')).status, 200, 'the master loop is alive while it stops');
      assert.equal((await slow).status, 200, 'the in-flight request finishes');
      const exit = await server.waitForExit(30_000);
      assert.equal(exit.code, 0);
    } finally {
      await server.stop();
    }
  });

  test('promtool check metrics passes on a running master\'s /metrics (latency buckets from 100 µs, process_* per worker)', { skip: PROMTOOL_SKIP }, async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '2', '--metrics', '127.0.0.1:0', '--mount', '/api=' + SINK()]);
    try {
      for (let i = 0; i < 10; i++) await request(server.httpPort as number, { path: i % 2 === 0 ? '/' : '/nope' });
      await new Promise((r) => setTimeout(r, 1200)); // workers report once a second
      const text = (await call(metricsOf(server), '/metrics')).body;
      const check = promtoolCheck(text);
      assert.equal(check.status, 0, `promtool: ${check.output}\n${text}`);
      for (const line of [
        'nuwsgi_http_request_duration_seconds_bucket{le="0.0001"}',
        'process_cpu_seconds_total{worker="master"}',
        'process_resident_memory_bytes{worker="1"}',
        'process_open_fds{worker="2"}',
        'process_start_time_seconds{worker="1"}',
        'nuwsgi_requests_in_flight ',
        'nuwsgi_worker_busy_cores{worker="1"}',
        'nuwsgi_app_requests_total{app="1",mountpoint="/api"}',
      ]) {
        assert.ok(text.includes(line), `missing ${line}`);
      }
    } finally {
      await server.stop();
    }
  });

  test('actions: refused without the token or with a wrong one; with it, add-worker brings a cheaped worker up', async () => {
    const dir = makeTempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 's3cret-token\n', { mode: 0o600 });
    const server = await startNuwsgi([
      ...BASE(), '--processes', '3', '--cheaper', '1', '--dashboard', '127.0.0.1:0', '--dashboard-actions', '--dashboard-token-file', tokenFile,
    ]);
    try {
      const dash = dashboardOf(server);
      assert.match(server.logs(), /actions enabled \(reload, chain-reload, add-worker, remove-worker; token required\)/);
      const statuses = async (): Promise<string[]> =>
        (JSON.parse((await call(dash, '/stats')).body) as { workers: Array<{ status: string }> }).workers.map((w) => w.status);
      assert.deepEqual(await statuses(), ['idle', 'cheap', 'cheap']);
      assert.equal((await call(dash, '/actions/add-worker', { method: 'POST' })).status, 401);
      assert.equal((await call(dash, '/actions/add-worker', { method: 'POST', headers: { Authorization: 'Bearer s3cret-tokeN' } })).status, 401);
      assert.equal((await call(dash, '/actions/nope', { method: 'POST', headers: { Authorization: 'Bearer s3cret-token' } })).status, 404);
      assert.deepEqual(await statuses(), ['idle', 'cheap', 'cheap'], 'nothing happened');
      const ok = await call(dash, '/actions/add-worker', { method: 'POST', headers: { Authorization: 'Bearer s3cret-token' } });
      assert.deepEqual([ok.status, ok.body], [202, 'add-worker: accepted\n']);
      await server.waitForLog(/spawned nuwsgi worker 2 /);
      assert.match(server.logs(), /dashboard: action "add-worker" from 127\.0\.0\.1 refused \(no valid token\)/);
      assert.match(server.logs(), /dashboard: action add-worker from 127\.0\.0\.1\n/);
    } finally {
      await server.stop();
    }
  });

  test('actions without a token refuse to start; ":PORT" binds loopback, an every-interface address is warned about, a unix socket works', async () => {
    const refused = await startNuwsgi([...BASE(), '--dashboard', ':0', '--dashboard-actions'], { waitReady: false });
    try {
      const exit = await refused.waitForExit(20_000);
      assert.notEqual(exit.code, 0);
      assert.match(refused.logs(), /dashboard-actions needs a token/);
    } finally {
      await refused.stop();
    }
    const local = await startNuwsgi([...BASE(), '--dashboard', ':0']);
    try {
      assert.match(dashboardOf(local), /^127\.0\.0\.1:\d+$/);
      assert.doesNotMatch(local.logs(), /WARNING: the dashboard listens on every interface/);
    } finally {
      await local.stop();
    }
    const open = await startNuwsgi([...BASE(), '--dashboard', '0.0.0.0:0']);
    try {
      assert.match(open.logs(), /WARNING: the dashboard listens on every interface \(0\.0\.0\.0:\d+\)/);
    } finally {
      await open.stop();
    }
    const sock = join(makeTempDir(), 'dash.sock');
    const unix = await startNuwsgi([...BASE(), '--dashboard', sock]);
    try {
      assert.match(unix.logs(), new RegExp(`dashboard enabled on unix:${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
      assert.equal((await statusBecomes(sock, '/ready', 200, 10_000)).body, 'ready: 1 worker(s) accepting\n');
      assert.match((await call(sock, '/metrics')).body, /^# HELP nuwsgi_info /);
    } finally {
      await unix.stop();
    }
  });
});

describe('--dashboard and --metrics on an emperor', () => {
  test('the emperor\'s /metrics covers every vassal (label vassal), passes promtool, and its page links to a vassal\'s dashboard', async () => {
    const root = makeTempDir('nuwsgi-emperor-');
    const vassals = join(root, 'vassals');
    mkdirSync(vassals);
    const common = `http-socket = 127.0.0.1:0\nwsgi-file = ${SINK()}\nmaster = true\n`;
    writeFileSync(join(vassals, 'with-dash.ini'), `[uwsgi]\n${common}processes = 2\ndashboard = 127.0.0.1:0\n`);
    writeFileSync(join(vassals, 'plain.ini'), `[uwsgi]\n${common}processes = 1\n`);
    const emperor = await startNuwsgi(['--emperor', vassals, '--metrics', '127.0.0.1:0', '--dashboard', ':0'], { waitReady: false });
    try {
      await emperor.waitForLog(/vassal with-dash\.ini is now loyal/, 30_000);
      await emperor.waitForLog(/vassal plain\.ini is now loyal/, 30_000);
      const dash = dashboardOf(emperor);
      await statusBecomes(dash, '/ready', 200, 10_000);
      assert.equal((await call(dash, '/live')).status, 200);
      const text = (await call(metricsOf(emperor), '/metrics')).body;
      for (const line of [
        'nuwsgi_vassal_up{vassal="with-dash.ini"} 1',
        'nuwsgi_vassal_up{vassal="plain.ini"} 1',
        'nuwsgi_vassal_scraped{vassal="with-dash.ini"} 1',
        'nuwsgi_vassal_scraped{vassal="plain.ini"} 0',
        'nuwsgi_worker_requests_total{vassal="with-dash.ini",worker="2"}',
        'process_cpu_seconds_total{vassal="with-dash.ini",worker="master"}',
        'process_cpu_seconds_total{vassal="plain.ini",worker="master"}',
        'process_cpu_seconds_total{worker="emperor"}',
      ]) {
        assert.ok(text.includes(line), `missing ${line}\n${text}`);
      }
      if (PROMTOOL_SKIP === undefined) {
        const check = promtoolCheck(text);
        assert.equal(check.status, 0, `promtool: ${check.output}`);
      }
      const stats = JSON.parse((await call(dash, '/stats')).body) as { vassals: Array<{ id: string }> };
      assert.deepEqual(stats.vassals.map((v) => v.id).sort(), ['plain.ini', 'with-dash.ini']);
      const frame = (await firstFrame(dash)) as { kind: string; vassals: Array<{ name: string; link: string | null; summary: { workers: number } | null }> };
      assert.equal(frame.kind, 'emperor');
      const withDash = frame.vassals.find((v) => v.name === 'with-dash.ini');
      assert.match(withDash?.link ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(withDash?.summary?.workers, 2);
      assert.equal(frame.vassals.find((v) => v.name === 'plain.ini')?.link, null);
      // The link really is the vassal's dashboard.
      const vassalReady = await call((withDash?.link as string).slice('http://'.length, -1), '/ready');
      assert.equal(vassalReady.status, 200);
    } finally {
      await emperor.stop('SIGTERM', 30_000);
    }
  });
});

/** Reads /events until the first `frame` event and returns its data. */
function firstFrame(address: string): Promise<unknown> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path: '/events', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        const m = /event: frame\ndata: (.*)\n\n/.exec(text);
        if (m !== null) {
          req.destroy();
          resolve(JSON.parse(m[1] as string));
        }
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no frame within 15 s')));
    req.on('error', reject);
  });
}
