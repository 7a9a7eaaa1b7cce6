// Configuration semantics that real uWSGI deployments rely on, checked on
// nuwsgi and, where Debian's uWSGI is installed, on uWSGI itself as the oracle:
// --module is a dotted module name (mysite.wsgi), --wsgi-file loads any file as
// Python source (app.wsgi), --protocol=http makes `socket` entries speak HTTP,
// `socket = name.sock` is a UNIX socket relative to --chdir, and --uid/--gid
// leave a UNIX socket usable by that user (nginx as www-data).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { request } from '../helpers/http';
import { ServerProcess, runNuwsgi, runServer, startNuwsgi, startUwsgi } from '../helpers/server';
import { uwsgiSkipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';
import { uwsgiRequest } from '../helpers/uwsgi';

/** With Content-Length: uWSGI's http11 sockets neither chunk nor close a body without one. */
const APP = (body: string): string =>
  `def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '${body.length}')])\n    return [b'${body}']\n`;

const noUwsgi = uwsgiSkipReason();
type Server = 'nuwsgi' | 'uwsgi';
const SERVERS: Server[] = noUwsgi === undefined ? ['nuwsgi', 'uwsgi'] : ['nuwsgi'];

let dir = '';
before(() => {
  dir = makeTempDir('nuwsgi-compat-');
  chmodSync(dir, 0o755); // the uid test's uWSGI loads the app as www-data
  mkdirSync(join(dir, 'mysite'));
  writeFileSync(join(dir, 'mysite', '__init__.py'), '');
  writeFileSync(join(dir, 'mysite', 'wsgi.py'), APP('mysite.wsgi module'));
  writeFileSync(join(dir, 'app.wsgi'), APP('app.wsgi file'));
  writeFileSync(join(dir, 'app.py'), APP('app.py'));
  writeFileSync(join(dir, 'wsgi.py'), APP('tutorial'));
});

const running: ServerProcess[] = [];
after(async () => {
  for (const s of running) await s.stop();
});

function start(server: Server, args: readonly string[], opts: Parameters<typeof startNuwsgi>[1] = {}): Promise<ServerProcess> {
  const run = server === 'nuwsgi' ? startNuwsgi : startUwsgi;
  return run(args, { cwd: dir, ...opts }).then((s) => {
    running.push(s);
    return s;
  });
}

async function stop(s: ServerProcess): Promise<void> {
  running.splice(running.indexOf(s), 1);
  const r = await s.stop();
  assert.deepEqual(r.orphans, [], `${s.name}: nothing left behind`);
}

/** Runs a server that is expected to fail to load its app and exit by itself. */
function runFailing(server: Server, args: readonly string[]): ReturnType<typeof runNuwsgi> {
  if (server === 'nuwsgi') return runNuwsgi(args, { cwd: dir, deadlineMs: 20_000 });
  return runServer('uwsgi', 'uwsgi', ['--plugin', 'python3', '--die-on-term', '--need-app', ...args], { cwd: dir, deadlineMs: 20_000 });
}

describe('--module is a dotted module name, --wsgi-file any Python file (as uWSGI)', () => {
  for (const server of SERVERS) {
    test(`${server}: module = mysite.wsgi imports the package's module`, async () => {
      const s = await start(server, ['--http-socket', '127.0.0.1:0', '--module', 'mysite.wsgi']);
      assert.equal((await request(s.httpPort as number)).body.toString(), 'mysite.wsgi module');
      await stop(s);
    });

    test(`${server}: wsgi-file = app.wsgi loads the file whatever its extension`, async () => {
      const s = await start(server, ['--http-socket', '127.0.0.1:0', '--wsgi-file', 'app.wsgi']);
      assert.equal((await request(s.httpPort as number)).body.toString(), 'app.wsgi file');
      await stop(s);
    });

    test(`${server}: --module app.py is not a module: the app does not load (exit 22)`, async () => {
      const r = await runFailing(server, ['--http-socket', '127.0.0.1:0', '--module', 'app.py']);
      assert.equal(r.code, 22, r.logs);
      assert.match(r.logs, /No module named 'app\.py'/);
      if (server === 'nuwsgi') assert.match(r.logs, /use --wsgi-file app\.py/);
    });

    test(`${server}: --module with a '/' is not a module either`, async () => {
      const r = await runFailing(server, ['--http-socket', '127.0.0.1:0', '--module', './app.py']);
      assert.equal(r.code, 22, r.logs);
      if (server === 'nuwsgi') assert.match(r.logs, /not a file path.*--wsgi-file \.\/app\.py/);
    });
  }
});

/** Retries `ask` until it succeeds (the worker may still be loading the app), with a deadline. */
async function retry<T>(s: ServerProcess, ask: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await ask();
    } catch (err) {
      if (Date.now() > deadline || s.exit !== undefined) throw new Error(`${s.name}: no answer: ${String(err)}\n${s.logs()}`);
      await s.waitForActivity(100);
    }
  }
}

/** Waits for the "socket 0 bound" line, then asks over HTTP until it answers. */
async function startHttpOnSocket(server: Server, args: readonly string[]): Promise<{ s: ServerProcess; port: number }> {
  const s = await start(server, args, { waitReady: false });
  await s.waitForLog(/socket 0 bound to TCP address/, 20_000);
  const port = s.sockets[0]?.port as number;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await request(port, { timeoutMs: 2_000 });
      return { s, port };
    } catch (err) {
      if (Date.now() > deadline || s.exit !== undefined) throw new Error(`${server}: no HTTP answer: ${String(err)}\n${s.logs()}`);
      await s.waitForActivity(100);
    }
  }
}

describe('protocol / socket-protocol set the protocol of socket entries', () => {
  for (const server of SERVERS) {
    test(`${server}: the DigitalOcean tutorial's command serves HTTP (uwsgi --socket ... --protocol=http -w wsgi)`, async () => {
      const { s, port } = await startHttpOnSocket(server, ['--socket', '127.0.0.1:0', '--protocol=http', '-w', 'wsgi']);
      const r = await request(port);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'tutorial');
      await stop(s);
    });

    test(`${server}: socket-protocol = http11 in an ini file`, async () => {
      const ini = join(dir, `proto-${server}.ini`);
      writeFileSync(ini, '[uwsgi]\nsocket = 127.0.0.1:0\nsocket-protocol = http11\nmodule = wsgi\n');
      const { s, port } = await startHttpOnSocket(server, ['--ini', ini]);
      assert.equal((await request(port)).body.toString(), 'tutorial');
      await stop(s);
    });
  }

  test('nuwsgi: protocol = uwsgi (the default) keeps the uwsgi protocol', async () => {
    const s = await start('nuwsgi', ['--socket', '127.0.0.1:0', '--protocol', 'uwsgi', '-w', 'wsgi']);
    assert.equal((await uwsgiRequest(s.uwsgiPort as number)).body.toString(), 'tutorial');
    await stop(s);
  });

  test('nuwsgi: protocols nuwsgi does not serve are a clear config error naming them', async () => {
    for (const protocol of ['fastcgi', 'scgi', 'raw', 'puwsgi', 'suwsgi']) {
      const r = await runNuwsgi(['--socket', '127.0.0.1:0', `--protocol=${protocol}`, '-w', 'wsgi'], { cwd: dir });
      assert.equal(r.code, 1, r.logs);
      assert.match(r.logs, new RegExp(`protocol '${protocol}' is not available in nuwsgi: socket entries can speak uwsgi, http or http11`));
    }
    const unknown = await runNuwsgi(['--socket', '127.0.0.1:0', '--protocol=gopher', '-w', 'wsgi'], { cwd: dir });
    assert.equal(unknown.code, 1);
    assert.match(unknown.logs, /unable to find protocol gopher/);
  });
});

describe('a socket address without ":" is a UNIX socket path, relative to --chdir', () => {
  for (const server of SERVERS) {
    test(`${server}: socket = app.sock and http-socket = web.sock bind in the chdir directory`, async () => {
      const home = join(dir, `chdir-${server}`);
      mkdirSync(home);
      writeFileSync(join(home, 'wsgi.py'), APP('relative'));
      // uWSGI logs the relative name: probe by absolute path here rather than through the helper's readiness check.
      const s = await start(server, ['--chdir', home, '--http-socket', 'web.sock', '--socket', 'app.sock', '--module', 'wsgi'], { waitReady: false });
      await s.waitForLog(/socket 1 bound to UNIX address/, 20_000);
      assert.ok(statSync(join(home, 'app.sock')).isSocket(), 'app.sock in the chdir directory');
      assert.ok(statSync(join(home, 'web.sock')).isSocket(), 'web.sock in the chdir directory');
      assert.equal(existsSync(join(dir, 'app.sock')), false);
      assert.equal((await retry(s, () => uwsgiRequest(join(home, 'app.sock')))).body.toString(), 'relative');
      assert.equal((await retry(s, () => request(join(home, 'web.sock')))).body.toString(), 'relative');
      await stop(s);
    });
  }
});

const isRoot = process.getuid?.() === 0;
const hasWwwData = spawnSync('getent', ['passwd', 'www-data']).status === 0;
const uidSkip = !isRoot ? 'needs root' : !hasWwwData ? 'needs a www-data user' : undefined;

/** Connects to a UNIX socket as uid/gid 33 (www-data), as nginx would: the HTTP status line, or the error code. */
function connectAsWwwData(path: string): string {
  const script = `
    const net = require('net');
    const s = net.connect(${JSON.stringify(path)});
    s.on('connect', () => s.end('GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => { process.stdout.write(out.split('\\r\\n')[0]); });
    s.on('error', (e) => { process.stdout.write(e.code); });`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 33, gid: 33, encoding: 'utf8', timeout: 10_000 });
  return r.stdout;
}

describe('uid/gid with a UNIX socket and no chown-socket: the socket belongs to that user', { skip: uidSkip }, () => {
  for (const server of SERVERS) {
    test(`${server}: --uid www-data --gid www-data --http-socket run/s.sock: owned by www-data, www-data can connect`, async () => {
      const run = join(dir, `run-${server}`);
      mkdirSync(run);
      chmodSync(run, 0o777); // uWSGI binds after dropping privileges: www-data must be able to create it
      const sock = join(run, 's.sock');
      // www-data cannot read root's pyenv: nuwsgi's workers embed the system Python, as uWSGI's plugin does.
      const python = server === 'nuwsgi' ? ['--python', '/usr/bin/python3'] : [];
      const s = await start(server, ['--master', '--uid', 'www-data', '--gid', 'www-data', '--http-socket', sock, '--module', 'wsgi', ...python]);
      const st = statSync(sock);
      assert.equal(st.uid, 33, `${server}: socket owner`);
      assert.equal(st.gid, 33, `${server}: socket group`);
      assert.match(connectAsWwwData(sock), /^HTTP\/1\.[01] 200 OK$/);
      await stop(s);
    });
  }
});
