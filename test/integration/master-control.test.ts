// Issue 5: what operators use on a running master: --stats / --metrics, the
// master FIFO, SIGTSTP pause, cheaper mode, --uid, --daemonize2, and a worker
// crash under load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { count, loadWhile, until } from '../helpers/load';
import { descendants, isAlive, readProc } from '../helpers/procs';
import { nuwsgiBin, repoRoot, runNuwsgi, startNuwsgi, startServer, type ServerProcess } from '../helpers/server';
import { uwsgiRequest } from '../helpers/uwsgi';
import { makeTempDir } from '../helpers/tmp';
import { which } from '../helpers/system';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');
const BASE = (): string[] => ['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master'];

interface StatsDoc {
  [key: string]: unknown;
  workers: Array<Record<string, unknown> & { id: number; pid: number; status: string; requests: number }>;
}

/** One stats document from a --stats socket (TCP "host:port" or a unix path): read until the server closes. */
function readStats(address: string): Promise<StatsDoc> {
  return new Promise((resolve, reject) => {
    const m = /^(.*):(\d+)$/.exec(address);
    const sock = m !== null ? net.connect(Number(m[2]), m[1] as string) : net.connect(address);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as StatsDoc);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function statsAddress(server: ServerProcess): string {
  const m = /\*\*\* Stats server enabled on (\S+) fd/.exec(server.logs());
  assert.ok(m !== null, 'the stats server address is logged');
  return m[1] as string;
}

function workerPids(server: ServerProcess): number[] {
  return [...server.logs().matchAll(/(?:spawned nuwsgi worker \d+ \(pid: |new pid: )(\d+)/g)].map((m) => Number(m[1]));
}

describe('operating a running master', () => {
  test('--stats on a unix socket: uWSGI\'s document, with the counters uwsgitop reads', async () => {
    const dir = makeTempDir();
    const sock = join(dir, 'stats.sock');
    const server = await startNuwsgi([...BASE(), '--processes', '2', '--stats', sock]);
    try {
      for (let i = 0; i < 6; i++) assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
      let doc: StatsDoc | undefined;
      const deadline = Date.now() + 10_000;
      for (;;) {
        doc = await readStats(sock);
        // Counters are live (the scoreboard): the second worker may still be booting when the first has served all six.
        if (doc.workers.reduce((n, w) => n + w.requests, 0) >= 6 && doc.workers.every((w) => w['accepting'] === 1)) break;
        assert.ok(Date.now() < deadline, 'the workers counted their requests and are both accepting');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const key of ['version', 'listen_queue', 'listen_queue_errors', 'signal_queue', 'load', 'pid', 'uid', 'gid', 'cwd', 'locks', 'sockets', 'workers']) {
        assert.ok(key in doc, `top-level key ${key}`);
      }
      assert.equal(doc['pid'], server.pid);
      assert.equal(doc.workers.length, 2);
      for (const w of doc.workers) {
        for (const key of ['id', 'pid', 'accepting', 'requests', 'delta_requests', 'exceptions', 'harakiri_count', 'status', 'rss', 'vsz', 'running_time', 'last_spawn', 'respawn_count', 'tx', 'avg_rt', 'apps', 'cores']) {
          assert.ok(key in w, `worker key ${key}`);
        }
        assert.equal(w['accepting'], 1);
        assert.ok((w['rss'] as number) > 0, 'rss read from /proc');
      }
      assert.deepEqual(doc.workers.map((w) => w.pid).sort(), workerPids(server).sort());
    } finally {
      await server.stop();
    }
  });

  test('--stats-http and --metrics (Prometheus text) on TCP', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '1', '--stats', '127.0.0.1:0', '--stats-http', '--metrics', '127.0.0.1:0']);
    try {
      await request(server.httpPort as number, { path: '/boom' });
      const statsPort = Number(/:(\d+)$/.exec(statsAddress(server))?.[1]);
      const stats = await request(statsPort, { path: '/' });
      assert.equal(stats.status, 200);
      assert.match(String(stats.headers['content-type']), /application\/json/);
      assert.equal((JSON.parse(stats.body.toString()) as StatsDoc).workers.length, 1);
      const metricsPort = Number(/Prometheus metrics enabled on [^:]+:(\d+)/.exec(server.logs())?.[1]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const text = (await request(metricsPort, { path: '/metrics' })).body.toString();
        if (/^nuwsgi_http_requests_total\{code="500"\} 1$/m.test(text)) break;
        assert.ok(Date.now() < deadline, `a 500 is counted in the metrics:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await server.stop();
    }
  });

  test('master FIFO: w reloads the workers, c chain-reloads, p pauses and resumes, q stops gracefully', async () => {
    const fifo = join(makeTempDir(), 'master.fifo');
    const server = await startNuwsgi([...BASE(), '--processes', '2', '--master-fifo', fifo]);
    const first = workerPids(server);
    writeFileSync(fifo, 'w');
    await server.waitForLog(/gracefully replacing workers/);
    await until(() => count(server, /buried after/) >= 2, 20_000, 'the old workers to drain');
    writeFileSync(fifo, 'c');
    await server.waitForLog(/chain reloading complete/, 30_000);
    // "complete" is logged when the last replacement is ready; its predecessor may still be draining.
    await until(() => descendants(server.pid).length === 2, 20_000, 'the chain-replaced workers to exit');
    const current = descendants(server.pid).filter((pid) => !first.includes(pid));
    assert.equal(current.length, 2, 'new workers serve');

    writeFileSync(fifo, 'p');
    await server.waitForLog(/\*\*\* PAUSE/);
    for (const pid of descendants(server.pid)) await until(() => readProc(pid)?.state === "T", 5000, `worker ${pid} stopped`);
    writeFileSync(fifo, 'p');
    await server.waitForLog(/resuming workers/);
    for (const pid of descendants(server.pid)) await until(() => readProc(pid)?.state !== "T", 5000, `worker ${pid} resumed`);
    assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);

    writeFileSync(fifo, 'q');
    const exit = await server.waitForExit(20_000);
    assert.equal(exit.code, 0);
  });

  test('SIGTSTP pauses the workers and a second one resumes them, in uWSGI words', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '1']);
    try {
      const [worker] = workerPids(server);
      server.signal('SIGTSTP');
      await server.waitForLog(/\*\*\* worker 1 suspended \*\*\*/);
      await until(() => readProc(worker as number)?.state === "T", 5000, 'the worker stopped');
      server.signal('SIGTSTP');
      await server.waitForLog(/\*\*\* worker 1 resumed \*\*\*/);
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('a paused master still stops gracefully on SIGTERM', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '1']);
    server.signal('SIGTSTP');
    await server.waitForLog(/suspended/);
    const result = await server.stop('SIGTERM');
    assert.equal(result.code, 0);
    assert.equal(result.killed, false);
  });

  test('cheaper mode: workers are added under load and cheaped when idle, with no failed request', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '3', '--cheaper', '1', '--cheaper-overload', '1']);
    try {
      assert.equal(count(server, /spawned nuwsgi worker \d/), 1, 'only --cheaper workers start');
      let stop: () => void = () => undefined;
      const loaded = new Promise<void>((resolve) => (stop = resolve));
      const load = loadWhile(server.httpPort as number, 8, loaded, '/slow?secs=0.02', { close: true });
      await server.waitForLog(/spawned nuwsgi worker 3/, 30_000);
      stop();
      const result = await load;
      assert.deepEqual(result.failures, []);
      await server.waitForLog(/nuwsgi worker \d cheaped\./, 30_000);
      await until(() => count(server, /cheaped\./) >= 2, 30_000, 'back down to one worker');
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('a worker killed with SIGKILL under load: only its own requests fail, and serving goes on', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '2']);
    try {
      const [victim] = workerPids(server);
      let stop: () => void = () => undefined;
      const loaded = new Promise<void>((resolve) => (stop = resolve));
      const load = loadWhile(server.httpPort as number, 4, loaded, '/');
      await until(() => count(server, /GET \//) > 200, 20_000, 'load to flow');
      process.kill(victim as number, 'SIGKILL');
      await server.waitForLog(/Respawned nuwsgi worker \d \(new pid: \d+\)/);
      const servedBefore = count(server, /GET \//);
      await until(() => count(server, /GET \//) > servedBefore + 200, 20_000, 'load to flow after the respawn');
      stop();
      const result = await load;
      // Each client holds one keep-alive connection: at most the connections the dead worker held fail.
      assert.ok(result.failures.length <= 4, `failures: ${result.failures.join('; ')}`);
      assert.ok(result.ok > 400);
    } finally {
      await server.stop();
    }
  });

  test('--py-autoreload: editing an imported module reloads the workers, and the new code is served', async () => {
    const dir = makeTempDir();
    const app = join(dir, 'app.py');
    const version = (v: string): string => `def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'${v}']\n`;
    writeFileSync(app, version('v1'));
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--processes', '2', '--py-autoreload', '1']);
    try {
      // Both workers must have imported v1 first: a late one would load an edited file and prove nothing.
      await until(() => count(server, /WSGI app 0 .* ready/) >= 2, 30_000, 'both workers to load the app');
      assert.equal((await request(server.httpPort as number, { path: '/' })).body.toString(), 'v1');
      // Each reloader remembers a file's mtime at its first scan: keep editing until a scan sees a change.
      const reloaded = /\[uwsgi-python-reloader\] module\/file .*app\.py has been modified/;
      const deadline = Date.now() + 30_000;
      let latest = 'v1';
      for (let n = 2; !reloaded.test(server.logs()); n++) {
        assert.ok(Date.now() < deadline, 'the edit was never picked up');
        latest = `v${n}`;
        writeFileSync(app, version(latest));
        await new Promise((r) => setTimeout(r, 300));
      }
      await server.waitForLog(/gracefully replacing workers/);
      // Once the old workers have drained, every answer is an edited version.
      const served = Date.now() + 30_000;
      for (let fresh = 0; fresh < 6; ) {
        assert.ok(Date.now() < served, 'the new code is served');
        fresh = (await request(server.httpPort as number, { path: '/' })).body.toString() === 'v1' ? 0 : fresh + 1;
      }
      assert.notEqual(latest, 'v1');
    } finally {
      await server.stop();
    }
  });

  test('--harakiri-verbose: the kernel wait channel and the stuck request\'s Python traceback are logged before the kill', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '1', '--harakiri', '2', '--harakiri-verbose']);
    try {
      const stuck = request(server.httpPort as number, { path: '/slow?secs=30', timeoutMs: 40_000 }).catch((err: Error) => err);
      await server.waitForLog(/\*\*\* HARAKIRI ON WORKER 1 \(pid: \d+, try: 1\) \*\*\*/, 20_000);
      await server.waitForLog(/HARAKIRI: -- wchan> \S+/);
      await server.waitForLog(/File ".*sink\.py", line \d+ in slow/);
      await server.waitForLog(/Respawned nuwsgi worker 1/);
      assert.ok((await stuck) instanceof Error);
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('--evil-reload-on-rss: the master kills a worker whose memory grows inside a request', async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '1', '--evil-reload-on-rss', '200']);
    try {
      const hog = request(server.httpPort as number, { path: '/hog?mb=400&secs=30', timeoutMs: 40_000 }).catch((err: Error) => err);
      await server.waitForLog(/\*\*\* EVIL RELOAD ON WORKER 1 RSS: \d+ \(pid: \d+\) \*\*\*/, 20_000);
      await server.waitForLog(/Respawned nuwsgi worker 1/);
      assert.ok((await hog) instanceof Error, 'the hog request died with its worker');
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('under wrk: max-requests recycling plus a SIGHUP reload, zero socket errors and zero non-2xx', { skip: which('wrk') === undefined ? 'wrk is not installed (apt-get install wrk)' : false }, async () => {
    const server = await startNuwsgi([...BASE(), '--processes', '2', '--max-requests', '300', '--min-worker-lifetime', '0', '--disable-logging']);
    try {
      const url = `http://127.0.0.1:${server.httpPort as number}/`;
      const wrk = new Promise<string>((resolve, reject) => {
        execFile('wrk', ['-t2', '-c16', '-d6s', url], { timeout: 60_000 }, (err, stdout) => (err !== null ? reject(err) : resolve(stdout)));
      });
      await server.waitForLog(/max requests reached/, 20_000);
      server.signal('SIGHUP');
      await server.waitForLog(/gracefully replacing workers/);
      const out = await wrk;
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      assert.ok(requests > 1000, out);
      assert.doesNotMatch(out, /Socket errors/, out);
      assert.doesNotMatch(out, /Non-2xx/, out);
      assert.ok(count(server, /The work of process \d+ is done/) >= 1, 'workers were recycled');
    } finally {
      await server.stop();
    }
  });

  test('systemd socket activation: sockets passed in LISTEN_FDS are enough, no --socket needed', async () => {
    const sock = join(makeTempDir(), 'activated.sock');
    // What systemd does: bind, put the socket at fd 3, set LISTEN_PID to the pid that will exec the server.
    const script = [
      'import os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.bind(sys.argv[1]); s.listen(16)',
      'os.dup2(s.fileno(), 3); os.set_inheritable(3, True)',
      'os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")',
      'os.execv(sys.argv[2], sys.argv[2:])',
    ].join('\n');
    const server = await startServer('nuwsgi', 'python3', ['-c', script, sock, process.execPath, nuwsgiBin(), '--wsgi-file', SINK(), '--master', '--processes', '1'], { waitReady: false });
    try {
      await server.waitForLog(/SystemD socket activation detected/, 20_000);
      await server.waitForLog(/WSGI app 0 .* ready/, 30_000);
      const res = await uwsgiRequest(sock, { path: '/activated' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello from GET /activated');
    } finally {
      await server.stop();
    }
  });

  test('--uid/--gid: bound as root, then master and workers run as nobody', { skip: process.getuid?.() !== 0 ? 'needs root (the test runs as an unprivileged user)' : false }, async () => {
    const dir = makeTempDir();
    const sock = join(dir, 'app.sock');
    // Debian's interpreter: pyenv's lives under /root, which nobody cannot read (nor could www-data).
    const args = ['--python', '/usr/bin/python3', '--processes', '1', '--uid', 'nobody', '--gid', 'nogroup', '--socket', sock, '--chown-socket', 'nobody:nogroup'];
    const server = await startNuwsgi([...BASE(), ...args]);
    try {
      await server.waitForLog(/setuid\(\) to 65534/);
      assert.match(server.logs(), /setgid\(\) to 65534/);
      for (const pid of [server.pid, ...descendants(server.pid)]) {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, `pid ${pid} runs as nobody`);
        assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
        assert.match(status, /^Groups:\s*65534\s*$/m, 'root\'s supplementary groups are gone');
      }
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('an unknown --uid fails before anything is bound', async () => {
    const result = await runNuwsgi([...BASE(), '--uid', 'no-such-user-nuwsgi']);
    assert.notEqual(result.code, 0);
    assert.match(result.logs, /uid: unknown user "no-such-user-nuwsgi"/);
    assert.doesNotMatch(result.logs, /bound to/);
  });

  test('a --chdir that cannot be entered fails before anything is bound, naming file, line and option (uWSGI: chdir(): ...)', async () => {
    const dir = makeTempDir();
    const ini = join(dir, 'app.ini');
    writeFileSync(ini, `[uwsgi]\nhttp-socket = 127.0.0.1:0\nmaster = true\nchdir = ${join(dir, 'missing')}\nwsgi-file = ${SINK()}\n`);
    const result = await runNuwsgi(['--ini', ini]);
    assert.equal(result.code, 1, result.logs);
    assert.match(result.logs, new RegExp(`app\\.ini:4: option 'chdir': chdir\\(\\) to ${join(dir, 'missing')}: No such file or directory`));
    assert.doesNotMatch(result.logs, /bound to|spawned|internal error/);
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const notDir = await runNuwsgi([...BASE(), '--chdir', file]);
    assert.equal(notDir.code, 1, notDir.logs);
    assert.match(notDir.logs, /chdir\(\) to .*plain-file: Not a directory/);
  });

  test('--chdir to a directory a hook-asap creates: the hooks run first, as in uWSGI', async () => {
    const dir = join(makeTempDir(), 'made-by-hook');
    const server = await startNuwsgi([...BASE(), '--hook-asap', `mkdir:${dir}`, '--chdir', dir]);
    try {
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('a reload whose --chdir is gone is refused, and the running workers go on serving', async () => {
    const dir = join(makeTempDir(), 'app-dir');
    const server = await startNuwsgi([...BASE(), '--hook-asap', `mkdir:${dir}`, '--chdir', dir]);
    try {
      rmSync(dir, { recursive: true });
      server.signal('SIGHUP');
      await until(() => /reload: .*option 'chdir': chdir\(\) to .*app-dir: No such file or directory/.test(server.logs()), 10_000, () => `the refused reload in:\n${server.logs()}`);
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('pythonpath entries go to the front in the order given: the last one wins a module name both hold, as in uWSGI', async () => {
    const dir = makeTempDir();
    for (const name of ['first', 'second']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'shadow.py'), `WHICH = ${JSON.stringify(name)}\n`);
    }
    const app = join(dir, 'app.py');
    writeFileSync(app, 'import shadow\n\ndef application(environ, start_response):\n    start_response("200 OK", [])\n    return [shadow.WHICH.encode()]\n');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--pythonpath', join(dir, 'first'), '--pythonpath', join(dir, 'second')]);
    try {
      assert.equal((await request(server.httpPort as number, { path: '/' })).text, 'second');
    } finally {
      await server.stop();
    }
  });

  test('SIGINT stops at once even with a worker stuck in a request: SIGKILL after a short grace, as uWSGI kills its workers', async () => {
    const dir = makeTempDir();
    const started = join(dir, 'started');
    const app = join(dir, 'app.py');
    writeFileSync(app, `import time\n\ndef application(environ, start_response):\n    if environ["PATH_INFO"] == "/stuck":\n        open(${JSON.stringify(started)}, "w").close()\n        time.sleep(600)\n    start_response("200 OK", [])\n    return [b"ok"]\n`);
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--master', '--processes', '2']);
    const stuck = request(server.httpPort as number, { path: '/stuck' }).catch(() => undefined);
    await until(() => existsSync(started), 10_000, 'the stuck request to start');
    const t0 = Date.now();
    const stopped = await server.stop('SIGINT', 15_000);
    assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
    assert.deepEqual(stopped.orphans, []);
    assert.match(server.logs(), /did not stop on SIGINT \(busy in a request\)\.\.\.killing it/);
    assert.match(server.logs(), /buried after [01] seconds/);
    await stuck;
  });

  test('a reload after the file changed its socket or processes says the master keeps them until a restart (uWSGI re-execs)', async () => {
    const dir = makeTempDir();
    const ini = join(dir, 'app.ini');
    const body = (processes: number, port: string): string => `[uwsgi]\nhttp-socket = 127.0.0.1:${port}\nmaster = true\nprocesses = ${processes}\nwsgi-file = ${SINK()}\n`;
    writeFileSync(ini, body(1, '0'));
    const server = await startNuwsgi(['--ini', ini]);
    try {
      await server.waitForLog(/WSGI app 0 .* ready/); // the socket is in the file: wait for the worker itself
      const port = Number(/bound to TCP address 127\.0\.0\.1:(\d+)/.exec(server.logs())?.[1]);
      writeFileSync(ini, body(2, '1'));
      server.signal('SIGHUP');
      await server.waitForLog(/reload: socket, processes changed in the configuration: the master keeps the old values until the instance is stopped and started again/);
      await server.waitForLog(/\.\.\.gracefully replacing workers/);
      assert.equal((await request(port, { path: '/' })).status, 200, 'still served on the socket it had');
    } finally {
      await server.stop();
    }
  });

  test('--daemonize2: the command returns once the app is ready; the daemon serves and stops via its pidfile', async () => {
    const dir = makeTempDir();
    const log = join(dir, 'daemon.log');
    const pidfile = join(dir, 'daemon.pid');
    const result = await runNuwsgi([...BASE(), '--processes', '1', '--daemonize2', log, '--pidfile', pidfile]);
    let pid = 0;
    try {
      assert.equal(result.code, 0, result.logs);
      pid = Number(readFileSync(pidfile, 'utf8').trim());
      assert.ok(isAlive(pid), 'the daemon runs');
      assert.notEqual(readProc(pid)?.ppid, process.pid);
      const port = Number(/bound to TCP address 127\.0\.0\.1:(\d+)/.exec(readFileSync(log, 'utf8'))?.[1]);
      assert.equal((await request(port, { path: '/' })).status, 200);
      assert.equal((await runNuwsgi(['--stop', pidfile])).code, 0);
      await until(() => !isAlive(pid), 20_000, 'the daemon to stop');
      assert.match(readFileSync(log, 'utf8'), /goodbye to nuwsgi/);
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      for (const p of pid > 0 ? descendants(pid) : []) process.kill(p, 'SIGKILL');
    }
    assert.equal(existsSync(log), true);
  });

  test('--daemonize2 with an app that cannot load: the command fails with its code', async () => {
    const dir = makeTempDir();
    const log = join(dir, 'daemon.log');
    const result = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--master', '--wsgi-file', join(dir, 'missing.py'), '--daemonize2', log]);
    assert.equal(result.code, 22, result.logs);
    assert.match(result.logs, /exited before it was ready/);
  });
});
