// Issue 5: harakiri, recycling, reloads without a lost request, signals, pidfiles.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { runNuwsgi, startNuwsgi, repoRoot } from '../helpers/server';
import { count, loadWhile, until } from '../helpers/load';
import { makeTempDir } from '../helpers/tmp';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

describe('the master', () => {
  test('harakiri kills a worker stuck in a request, in uWSGI words, and a new one serves', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '1', '--harakiri', '2']);
    try {
      const port = server.httpPort as number;
      const stuck = await request(port, { path: '/slow?secs=30', timeoutMs: 20_000 }).catch((e: Error) => e);
      assert.ok(stuck instanceof Error, 'the stuck request gets no answer (its worker was killed)');
      await server.waitForLog(/\*\*\* HARAKIRI ON WORKER 1 \(pid: \d+, try: 1\) \*\*\*/);
      await server.waitForLog(/HARAKIRI \[core 0\] 127\.0\.0\.1 - GET \/slow\?secs=30 since \d+/);
      await server.waitForLog(/DAMN ! worker 1 \(pid: \d+\) died, killed by signal 9/);
      await server.waitForLog(/Respawned nuwsgi worker 1/);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await request(port, { path: '/after' }).catch(() => undefined);
        if (res?.status === 200) break;
        assert.ok(Date.now() < deadline, 'no worker serves after the harakiri');
      }
    } finally {
      await server.stop();
    }
  });

  test('max-requests recycles workers under load with no failed request', async () => {
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2',
      '--max-requests', '300', '--min-worker-lifetime', '0', '--disable-logging',
    ]);
    try {
      const recycled = until(() => count(server, /Seeya!/) >= 4, 60_000, 'four recycles');
      const load = await loadWhile(server.httpPort as number, 8, recycled);
      await recycled;
      assert.deepEqual(load.failures, []);
      assert.ok(load.ok > 1200, `${load.ok} requests served`);
      assert.match(server.logs(), /\.\.\.The work of process \d+ is done \(max requests reached \(\d+\)\)\. Seeya!/);
    } finally {
      await server.stop();
    }
  });

  test('SIGHUP reloads gracefully under load: no failed request, and the new code is served', async () => {
    const dir = makeTempDir();
    const app = join(dir, 'app.py');
    const write = (version: string): void =>
      writeFileSync(app, `def application(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"${version}"]\n`);
    write('v1');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--master', '--processes', '2', '--disable-logging']);
    try {
      const port = server.httpPort as number;
      const reloaded = (async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, 300)); // let the load start first
        write('v2');
        server.signal('SIGHUP');
        await until(() => count(server, /buried after/) >= 2, 30_000, 'the old workers to drain');
        for (let i = 0; i < 20; i++) await request(port, { path: '/' }); // a little more load on the new ones
      })();
      const load = await loadWhile(port, 8, reloaded);
      await reloaded;
      assert.deepEqual(load.failures, []);
      assert.ok(load.bodies.has('v1') && load.bodies.has('v2'), `served ${[...load.bodies].join(',')}`);
      assert.equal((await request(port, { path: '/' })).body.toString(), 'v2');
    } finally {
      await server.stop();
    }
  });

  test('touch-chain-reload replaces one worker at a time, with no failed request', async () => {
    const dir = makeTempDir();
    const trigger = join(dir, 'chain.touch');
    writeFileSync(trigger, '');
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2', '--touch-chain-reload', trigger, '--disable-logging',
    ]);
    try {
      const done = (async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, 300));
        const later = new Date(Date.now() + 5000);
        utimesSync(trigger, later, later);
        await until(() => /chain reloading complete/.test(server.logs()), 30_000, 'the chain reload');
      })();
      const load = await loadWhile(server.httpPort as number, 6, done);
      await done;
      assert.deepEqual(load.failures, []);
      const log = server.logs();
      assert.match(log, /has been touched\.\.\. chain reload !!!/);
      assert.ok(log.indexOf('chain next victim is worker 1') < log.indexOf('chain next victim is worker 2'));
    } finally {
      await server.stop();
    }
  });

  test('SIGUSR1 logs request counters, SIGUSR2 what each worker is doing', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2']);
    try {
      for (let i = 0; i < 5; i++) await request(server.httpPort as number, { path: '/' });
      server.signal('SIGUSR1');
      await server.waitForLog(/workers total requests: \d+/);
      await server.waitForLog(/\tworker 1 app 0 \[\] requests: \d+ exceptions: 0/);
      server.signal('SIGUSR2');
      await server.waitForLog(/SIGUSR2: --- nuwsgi worker 1 \(pid: \d+\) is idle ---/);
    } finally {
      await server.stop();
    }
  });

  test('pidfile, --reload PIDFILE and --stop PIDFILE; vacuum removes the pidfile', async () => {
    const dir = makeTempDir();
    const pidfile = join(dir, 'nuwsgi.pid');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '1', '--pidfile', pidfile, '--vacuum']);
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(server.pid));
    const reload = await runNuwsgi(['--reload', pidfile]);
    assert.equal(reload.code, 0);
    await server.waitForLog(/gracefully replacing workers/);
    const stop = await runNuwsgi(['--stop', pidfile]);
    assert.equal(stop.code, 0);
    const exit = await server.waitForExit(20_000);
    assert.equal(exit.code, 0);
    assert.equal(existsSync(pidfile), false, 'vacuum removed the pidfile');
  });

  test('without vacuum the unix socket file is still removed at exit, and the pidfile stays (docs/differences.md)', async () => {
    const dir = makeTempDir();
    const sock = join(dir, 'app.sock');
    const pidfile = join(dir, 'nuwsgi.pid');
    const server = await startNuwsgi(['--socket', sock, '--wsgi-file', SINK(), '--master', '--processes', '1', '--pidfile', pidfile]);
    assert.equal(existsSync(sock), true);
    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0);
    assert.equal(existsSync(sock), false, 'the socket file is gone');
    assert.equal(existsSync(pidfile), true, 'only vacuum removes the pidfile');
  });

  test('a broken configuration on SIGHUP is refused and the workers keep serving', async () => {
    const dir = makeTempDir();
    const ini = join(dir, 'app.ini');
    copyFileSync(SINK(), join(dir, 'sink.py'));
    writeFileSync(ini, `[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = ${join(dir, 'sink.py')}\nmaster = true\nprocesses = 1\n`);
    const server = await startNuwsgi(['--ini', ini]);
    try {
      await server.waitForLog(/WSGI app 0 .* ready/); // the socket kind is in the file: wait for the worker itself
      writeFileSync(ini, `[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = ${join(dir, 'sink.py')}\nmaster = true\nprocesses = -1\n`);
      server.signal('SIGHUP');
      await server.waitForLog(/graceful reload refused/);
      assert.equal((await request(server.ports[0] as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });
});
