/**
 * cheap, idle N and die-on-idle (src/master/idle.ts): the workers run only
 * while there is traffic, and the connection that wakes the instance is served.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/http';
import { startNuwsgi, type ServerProcess } from '../helpers/server';
import { until } from '../helpers/load';
import { descendants } from '../helpers/procs';

const APP = 'examples/hello.py';

function args(extra: string[]): string[] {
  return ['--http-socket', '127.0.0.1:0', '--wsgi-file', APP, '--master', '--processes', '2', ...extra];
}

/** Started without the helper's readiness request: that request would wake a cheap instance. */
async function startCheap(extra: string[]): Promise<ServerProcess> {
  const server = await startNuwsgi(args(extra), { waitReady: false });
  await server.waitForLog(/cheap mode enabled: waiting for socket connection\.\.\./, 30_000);
  return server;
}

const workers = (server: ServerProcess): number => descendants(server.pid).length;

describe('cheap', () => {
  test('no worker until the first connection; that request is served', async () => {
    const server = await startCheap(['--cheap']);
    try {
      assert.doesNotMatch(server.logs(), /spawned nuwsgi worker/);
      assert.equal(workers(server), 0);
      const res = await request(server.httpPort as number, { path: '/', timeoutMs: 30_000 });
      assert.equal(res.status, 200);
      await server.waitForLog(/spawned nuwsgi worker 2/);
      // The waiting connection gets worker 1's boot alone: worker 2 is spawned once worker 1 is ready.
      const log = server.logs();
      const worker1 = /spawned nuwsgi worker 1 \(pid: (\d+)/.exec(log)?.[1] ?? 'none';
      const ready1 = log.search(new RegExp(`ready in \\d+ seconds on interpreter pid: ${worker1}`));
      assert.ok(log.search(/spawned nuwsgi worker 1 /) < ready1 && ready1 < log.search(/spawned nuwsgi worker 2 /), log);
    } finally {
      await server.stop();
    }
  });
});

describe('idle', () => {
  test('workers stop after N idle seconds with uWSGI\'s lines; the next request gets 200 and they come back', async () => {
    const server = await startNuwsgi(args(['--idle', '2']));
    try {
      await server.waitForLog(/workers have been inactive for more than 2 seconds \(\d+-\d+\)/, 20_000);
      await server.waitForLog(/cheap mode enabled: waiting for socket connection\.\.\./);
      await until(() => workers(server) === 0, 20_000, 'every worker stopped');
      const res = await request(server.httpPort as number, { path: '/', timeoutMs: 30_000 });
      assert.equal(res.status, 200);
      // A wake spawns worker 1 first (a connection waits), worker 2 once it is ready.
      // Either slot may come first (the request can arrive while the old workers still drain): one
      // spawn line, then its app's "ready in", then the other spawn. (Counting processes is not enough:
      // an old worker still draining would count.)
      const wakeLog = (): string => server.logs().split('cheap mode enabled: waiting for socket connection...')[1] ?? '';
      const spawnsIn = (text: string): number[] => [...text.matchAll(/[Ss]pawned nuwsgi worker \d /g)].map((m) => m.index);
      await until(() => spawnsIn(wakeLog()).length >= 2 && workers(server) === 2, 20_000, 'both workers back');
      const wake = wakeLog();
      const spawns = spawnsIn(wake);
      const firstReady = wake.search(/ready in \d+ seconds/);
      assert.equal(spawns.length, 2, wake);
      assert.ok((spawns[0] as number) < firstReady && firstReady < (spawns[1] as number), `the second worker is spawned once the first is ready:\n${wake}`);
      // And again: idle once more after the wake-up.
      await until(() => (server.logs().match(/workers have been inactive/g) ?? []).length === 2, 20_000, 'a second idle period');
    } finally {
      await server.stop();
    }
  });

  test('a busy worker is never idle: a request longer than N seconds is not cut', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', 'test/fixtures/apps/sink.py', '--master', '--processes', '1', '--idle', '1']);
    try {
      const res = await request(server.httpPort as number, { path: '/slow?secs=3', timeoutMs: 30_000 });
      assert.equal(res.status, 200);
      assert.doesNotMatch(server.logs(), /workers have been inactive/);
    } finally {
      await server.stop();
    }
  });

  test('die-on-idle: the instance exits 0 when idle', async () => {
    const server = await startNuwsgi(args(['--idle', '1', '--die-on-idle']));
    try {
      const exit = await server.waitForExit(20_000);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.match(server.logs(), /workers have been inactive for more than 1 seconds/);
      assert.doesNotMatch(server.logs(), /cheap mode enabled/);
    } finally {
      await server.stop();
    }
  });
});
