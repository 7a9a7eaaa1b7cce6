// Master and workers: respawn after a crash, graceful SIGTERM, immediate SIGINT.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { descendants, isAlive } from '../helpers/procs';
import { startNuwsgi, repoRoot } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

function workerPids(log: string): number[] {
  return [...log.matchAll(/spawned nuwsgi worker \d+ \(pid: (\d+)/g)].map((m) => Number(m[1]));
}

describe('master and workers', () => {
  test('a worker killed with SIGKILL is respawned, in uWSGI words, and serving goes on', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2']);
    try {
      const [victim] = workerPids(server.logs());
      assert.ok(victim !== undefined);
      process.kill(victim, 'SIGKILL');
      await server.waitForLog(new RegExp(`DAMN ! worker \\d \\(pid: ${victim}\\) died, killed by signal 9 :\\( trying respawn \\.\\.\\.`));
      await server.waitForLog(/Respawned nuwsgi worker \d \(new pid: \d+\)/);
      for (let i = 0; i < 10; i++) assert.equal((await request(server.httpPort as number, { path: `/r${i}` })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('SIGTERM lets in-flight requests finish, then exits 0 with no process left', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2']);
    const workers = descendants(server.pid);
    const marker = join(makeTempDir(), 'inside');
    const slow = request(server.httpPort as number, { path: `/slow?secs=1&marker=${marker}`, timeoutMs: 20_000 }).catch((e: Error) => e);
    // Signal only once the request is inside the app.
    const deadline = Date.now() + 10_000;
    while (!existsSync(marker)) {
      assert.ok(Date.now() < deadline, 'the slow request never reached the app');
      await new Promise((r) => setTimeout(r, 10));
    }
    const stopped = await server.stop('SIGTERM');
    const res = await slow;
    assert.ok(!(res instanceof Error), `the in-flight request failed: ${String(res)}`);
    assert.equal(res.status, 200);
    assert.equal(stopped.code, 0);
    assert.deepEqual(stopped.orphans, []);
    for (const pid of workers) assert.equal(isAlive(pid), false, `worker ${pid} still alive`);
    assert.match(server.logs(), /goodbye to nuwsgi\./);
  });

  test('SIGINT stops at once', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2']);
    const stopped = await server.stop('SIGINT', 10_000);
    assert.equal(stopped.killed, false);
    assert.deepEqual(stopped.orphans, []);
  });

  test('single-process mode (no --master) serves and stops on SIGTERM', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK()]);
    assert.match(server.logs(), /spawned nuwsgi worker 1 \(and the only\)/);
    assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0);
  });
});
