// Issue 15, memory: what a master, an emperor and a worker load and how their node is started.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { repoRoot, startNuwsgi } from '../helpers/server';

const HELLO = (): string => join(repoRoot(), 'examples', 'hello.py');

/** Our modules (dist/src/...) a fresh node holds after requiring `entries`. */
function modulesAfter(entries: string[]): string[] {
  const dist = join(repoRoot(), 'dist', 'src');
  const script = `${entries.map((e) => `require(${JSON.stringify(join(dist, e))});`).join('')}
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
  return loaded.filter((m) => m.startsWith(dist)).map((m) => m.slice(dist.length + 1));
}

describe('memory: only what supervision needs', () => {
  test('the CLI and the master setup load no stats server, dashboard, Prometheus, emperor or other config format', () => {
    const mods = modulesAfter(['cli/main.js', 'cli/master-setup.js']);
    for (const unwanted of ['master/stats-feed.js', 'stats/prometheus.js', 'stats/dashboard-server.js', 'stats/server.js',
      'config/formats/yaml.js', 'config/formats/xml.js', 'config/formats/json.js', 'emperor/emperor.js']) {
      assert.ok(!mods.includes(unwanted), `${unwanted} is loaded by the master`);
    }
    assert.ok(mods.includes('config/formats/ini.js'));
  });

  test('the emperor loads no master setup and no observatory; a worker no static server, threads or ASGI runner', () => {
    const emperor = modulesAfter(['cli/main.js', 'emperor/index.js']);
    for (const unwanted of ['cli/master-setup.js', 'master/master.js', 'emperor/observatory.js', 'stats/prometheus.js']) {
      assert.ok(!emperor.includes(unwanted), `${unwanted} is loaded by the emperor`);
    }
    const worker = modulesAfter(['worker/worker.js']);
    for (const unwanted of ['worker/static/server.js', 'worker/threaded-runner.js', 'worker/asgi/asgi-runner.js']) {
      assert.ok(!worker.includes(unwanted), `${unwanted} is loaded by a plain worker`);
    }
  });

  test('a worker runs with the small-process node flags and one V8 helper thread, and serves', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', HELLO(), '--master', '--processes', '1']);
    try {
      const line = await server.waitForLog(/WSGI app 0 .* ready .* pid: \d+/, 30_000);
      const pid = Number(/pid: (\d+)/.exec(line)?.[1]);
      const res = await request(server.httpPort as number, { path: '/' });
      assert.equal(res.status, 200);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      for (const flag of ['--max-semi-space-size=1', '--v8-pool-size=1', '--expose-gc']) assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
      // Node's default: the main thread, 4 V8 helpers, the delayed-task and signal threads (7); with one helper, 4.
      const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]);
      assert.ok(threads <= 5, `worker has ${threads} threads`);
    } finally {
      await server.stop();
    }
  });
});
