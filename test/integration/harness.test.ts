// Tests of the test harness itself (test/helpers), runnable before the
// server exists: the raw HTTP client against tiny node:net servers, server
// start/stop machinery against a fake server, venvs, and Debian's uWSGI
// serving the examples (which proves the oracle the comparison tests use).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { AddressInfo, Server, Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  HttpConnection,
  HttpParseError,
  parseResponse,
  parseResponses,
  rawExchange,
  rawRequest,
  request,
} from '../helpers/http';
import { parseBoundLine, parseBoundSockets, socketKindsFromArgs } from '../helpers/ports';
import { isAlive } from '../helpers/procs';
import { pythonInterpreters } from '../helpers/python';
import { ServerProcess, ServerStartError, runServer, startServer, startUwsgi } from '../helpers/server';
import { skipReason, uwsgiSkipReason } from '../helpers/system';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { encodeUwsgiPacket, uwsgiRequest } from '../helpers/uwsgi';
import { makeVenv } from '../helpers/venv';

// ---------------------------------------------------------------------------
// A tiny TCP server whose behaviour each test scripts.

type Handler = (sock: Socket, received: () => Buffer) => void;

async function withNetServer(handler: Handler, fn: (port: number, connections: () => number) => Promise<void>): Promise<void> {
  let connections = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    connections++;
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
    });
    sock.on('error', () => undefined);
    handler(sock, () => buf);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port, () => connections);
  } finally {
    for (const sock of open) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Replies `reply` after the client's head (\r\n\r\n) arrived, once per request; optionally closes. */
function replyPerRequest(reply: string, close: boolean): Handler {
  return (sock, received) => {
    let answered = 0;
    sock.on('data', () => {
      const heads = received().toString('latin1').split('\r\n\r\n').length - 1;
      while (answered < heads) {
        answered++;
        sock.write(reply);
        if (close) sock.end();
      }
    });
  };
}

describe('ports: bound-socket log lines', () => {
  test('parses nuwsgi and uWSGI TCP lines, UNIX lines, IPv6 and wildcard hosts', () => {
    assert.deepEqual(parseBoundLine('nuwsgi socket 0 bound to TCP address 127.0.0.1:43703 (port auto-assigned) fd 3', ['http']), {
      index: 0, transport: 'tcp', host: '127.0.0.1', port: 43703, fd: 3, kind: 'http',
    });
    assert.deepEqual(parseBoundLine('uwsgi socket 1 bound to TCP address [::1]:8000 fd 4'), {
      index: 1, transport: 'tcp', host: '::1', port: 8000, fd: 4, kind: 'unknown',
    });
    assert.equal(parseBoundLine('nuwsgi socket 0 bound to TCP address :8000 fd 3')?.host, '');
    assert.deepEqual(parseBoundLine('nuwsgi socket 2 bound to UNIX address /tmp/x.sock fd 5', ['http', 'http', 'uwsgi']), {
      index: 2, transport: 'unix', path: '/tmp/x.sock', fd: 5, kind: 'uwsgi',
    });
    assert.equal(parseBoundLine('spawned nuwsgi worker 1 (pid: 12, cores: 1)'), undefined);
  });

  test('socket kinds follow command-line order, as uWSGI numbers sockets', () => {
    const kinds = socketKindsFromArgs([
      '--http-socket', ':0', '--socket=127.0.0.1:0', '--wsgi-file', 'a.py', '-s', '/tmp/s', '--http11-socket', ':0', '--https-socket', ':0,c,k',
    ]);
    assert.deepEqual(kinds, ['http', 'uwsgi', 'uwsgi', 'http', 'https']);
  });

  test('parseBoundSockets orders by socket number and applies kinds', () => {
    const log = [
      'noise',
      'uwsgi socket 1 bound to TCP address 127.0.0.1:2000 (port auto-assigned) fd 4',
      'uwsgi socket 0 bound to TCP address 127.0.0.1:1000 (port auto-assigned) fd 3',
    ].join('\n');
    const s = parseBoundSockets(log, ['uwsgi', 'http']);
    assert.deepEqual(s.map((x) => [x.index, x.port, x.kind]), [[0, 1000, 'uwsgi'], [1, 2000, 'http']]);
  });
});

describe('http: raw client against a node:net server', () => {
  test('rawRequest returns every byte until the server closes, pieces arrive in order', async () => {
    await withNetServer(
      (sock, received) => {
        sock.on('data', () => {
          if (received().includes('END')) sock.end(Buffer.concat([Buffer.from('got:'), received()]));
        });
      },
      async (port) => {
        const data = await rawRequest(port, ['GET', ' / \xff', 'END'], { pieceDelayMs: 5 });
        assert.equal(data.toString('latin1'), 'got:GET / \xffEND');
      },
    );
  });

  test('rawExchange reports a timeout with what arrived when the server keeps the connection open', async () => {
    await withNetServer(
      (sock) => sock.write('partial'),
      async (port) => {
        const r = await rawExchange(port, 'x', { timeoutMs: 300 });
        assert.equal(r.outcome, 'timeout');
        assert.equal(r.data.toString(), 'partial');
      },
    );
  });

  test('request parses Content-Length, chunked with trailers, and close-delimited bodies', async () => {
    await withNetServer(replyPerRequest('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello', false), async (port) => {
      const r = await request(port, { path: '/x' });
      assert.equal(r.status, 200);
      assert.equal(r.reason, 'OK');
      assert.equal(r.text, 'hello');
      assert.equal(r.headers['x-a'], '1, 2');
    });
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: t\r\n\r\n';
    await withNetServer(replyPerRequest(chunked, false), async (port) => {
      const r = await request(port);
      assert.equal(r.text, 'abcde');
      assert.deepEqual(r.chunks?.map((c) => c.toString()), ['abc', 'de']);
      assert.deepEqual(r.trailers, { 'x-t': 't' });
    });
    await withNetServer(replyPerRequest('HTTP/1.0 200 OK\r\n\r\nuntil close', true), async (port) => {
      const r = await request(port, { httpVersion: '1.0' });
      assert.equal(r.httpVersion, '1.0');
      assert.equal(r.text, 'until close');
    });
  });

  test('HttpConnection keeps one connection for sequential requests; HEAD has no body', async () => {
    await withNetServer(replyPerRequest('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', false), async (port, connections) => {
      const conn = await HttpConnection.open(port);
      try {
        assert.equal((await conn.request({ method: 'POST', path: '/a', body: 'data' })).text, 'ok');
        assert.equal((await conn.request({ path: '/b' })).text, 'ok');
        assert.equal(connections(), 1);
      } finally {
        conn.close();
      }
    });
    await withNetServer(replyPerRequest('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', false), async (port) => {
      const r = await request(port, { method: 'HEAD' });
      assert.equal(r.headers['content-length'], '10');
      assert.equal(r.body.length, 0);
    });
  });

  test('interim 100 Continue is skipped by request()', async () => {
    await withNetServer(replyPerRequest('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n', false), async (port) => {
      assert.equal((await request(port, { method: 'PUT', body: 'x' })).status, 201);
    });
  });

  test('parseResponse: incomplete input waits, malformed input throws', () => {
    assert.equal(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab'), false), undefined);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab'), true), HttpParseError);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 2000 OK\r\n\r\n'), false), HttpParseError);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nno colon\r\n\r\n'), false), HttpParseError);
    const two = parseResponses(Buffer.from('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz'));
    assert.deepEqual(two.map((r) => [r.status, r.text]), [[204, ''], [200, 'z']]);
  });
});

describe('uwsgi packets', () => {
  test('header is modifier1, little-endian size, modifier2; vars are length-prefixed', () => {
    const p = encodeUwsgiPacket({ A: 'bc' }, 0, 0);
    assert.deepEqual([...p], [0, 7, 0, 0, 1, 0, 0x41, 2, 0, 0x62, 0x63]);
  });
});

describe('tmp', () => {
  test('makeTempDir creates a directory; removeTempDir removes it', () => {
    const dir = makeTempDir();
    assert.ok(existsSync(dir));
    removeTempDir(dir);
    assert.ok(!existsSync(dir));
  });

  test('directories are removed when the process exits', () => {
    const tmpJs = join(__dirname, '..', 'helpers', 'tmp.js');
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(tmpJs)}).makeTempDir())`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.length > 0);
    assert.ok(!existsSync(r.stdout), `${r.stdout} should be gone`);
  });
});

// ---------------------------------------------------------------------------
// Server machinery against a fake server written in Node: logs like nuwsgi,
// starts listening late, has a "worker" child, and misbehaves on request.

const FAKE_SERVER = `
const http = require('node:http');
const { spawn } = require('node:child_process');
const mode = process.argv[2] || 'normal';
if (mode === 'broken') { console.error('cannot load app'); process.exit(22); }
const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
const srv = http.createServer((req, res) => res.end('fake ' + req.url));
srv.listen(0, '127.0.0.1', () => {
  const { port } = srv.address();
  // Log the bound socket before answering, like a master whose workers are not up yet.
  srv.close();
  console.error('nuwsgi socket 0 bound to TCP address 127.0.0.1:' + port + ' (port auto-assigned) fd 3');
  setTimeout(() => http.createServer((req, res) => res.end('fake ' + req.url)).listen(port, '127.0.0.1'), 300);
  console.error('spawned nuwsgi worker 1 (pid: ' + worker.pid + ', cores: 1)');
});
process.on('SIGTERM', () => {
  if (mode === 'ignore-term') return;
  if (mode !== 'orphan') worker.kill('SIGKILL');
  console.error('goodbye');
  process.exit(0);
});
`;

describe('server: start/stop machinery (fake server)', () => {
  let script = '';
  before(() => {
    script = join(makeTempDir(), 'fake-server.js');
    writeFileSync(script, FAKE_SERVER);
  });
  const startFake = (mode: string, deadlineMs = 10_000): Promise<ServerProcess> =>
    startServer('fake', process.execPath, [script, mode, '--http-socket', '127.0.0.1:0'], { deadlineMs });

  test('waits until the socket answers, parses ports, stops gracefully with exit 0', async () => {
    const s = await startFake('normal');
    assert.equal(s.ports.length, 1);
    assert.equal(s.httpPort, s.ports[0]);
    assert.equal((await request(s.httpPort ?? 0, { path: '/hi' })).text, 'fake /hi');
    const line = await s.waitForLog(/spawned nuwsgi worker 1/, 5_000);
    const workerPid = Number(/pid: (\d+)/.exec(line)?.[1]);
    const r = await s.stop();
    assert.deepEqual({ code: r.code, signal: r.signal, orphans: r.orphans, killed: r.killed }, { code: 0, signal: null, orphans: [], killed: false });
    assert.match(s.logs(), /goodbye/);
    assert.ok(!isAlive(workerPid));
  });

  test('reports and kills workers left behind by the main process', async () => {
    const s = await startFake('orphan');
    const workerPid = Number(/pid: (\d+)/.exec(await s.waitForLog(/spawned nuwsgi worker/, 5_000))?.[1]);
    const r = await s.stop();
    assert.equal(r.code, 0);
    assert.deepEqual(r.orphans, [workerPid]);
    assert.ok(!isAlive(workerPid));
  });

  test('SIGKILLs the group when the server ignores SIGTERM past the deadline', async () => {
    const s = await startFake('ignore-term');
    const r = await s.stop('SIGTERM', 500);
    assert.equal(r.killed, true);
    assert.equal(r.signal, 'SIGKILL');
  });

  test('a server that exits during startup rejects with its exit code and logs', async () => {
    await assert.rejects(startFake('broken'), (err: unknown) => {
      assert.ok(err instanceof ServerStartError);
      assert.equal(err.exit?.code, 22);
      assert.match(err.logs, /cannot load app/);
      return true;
    });
    const r = await runServer('fake', process.execPath, [script, 'broken']);
    assert.deepEqual([r.code, r.timedOut], [22, false]);
  });

  test('waitForLog rejects at its deadline', async () => {
    const s = await startFake('normal');
    await assert.rejects(s.waitForLog(/never printed/, 200), ServerStartError);
    await s.stop();
  });
});

// ---------------------------------------------------------------------------
// Interpreters and venvs

describe('python interpreters and venvs', () => {
  test('at least one interpreter with a shared libpython is found', () => {
    const found = pythonInterpreters();
    assert.ok(found.length > 0, 'no python3 found');
    for (const p of found) assert.match(p.version, /^3\.\d+\.\d+$/);
    assert.ok(found.some((p) => p.sharedLib !== undefined && existsSync(p.sharedLib)), JSON.stringify(found));
  });

  const venvSkip = skipReason({ debPackages: ['python3-venv', 'python3-flask', 'python3-django'] });
  test('a venv with system site-packages imports Debian flask and django', { skip: venvSkip ?? false }, async () => {
    const v = await makeVenv({ systemSitePackages: true, python: '/usr/bin/python3' });
    assert.equal(await makeVenv({ systemSitePackages: true, python: '/usr/bin/python3' }), v, 'venvs are cached per process');
    const r = spawnSync(v.python, ['-c', 'import sys, flask, django; print(sys.prefix)'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), v.dir);
  });
});

// ---------------------------------------------------------------------------
// The oracle: Debian's uWSGI serving the examples.

describe('uwsgi oracle serves the examples', { skip: uwsgiSkipReason() ?? false }, () => {
  let hello: ServerProcess | undefined;
  before(async () => {
    hello = await startUwsgi(['--master', '--processes', '2', '--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0', '--wsgi-file', 'examples/hello.py']);
  });
  after(async () => {
    await hello?.stop();
  });

  test('hello.py over HTTP and over the uwsgi protocol', async () => {
    const s = hello as ServerProcess;
    assert.equal(s.ports.length, 2);
    const r = await request(s.httpPort ?? 0);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Hello World');
    const u = await uwsgiRequest(s.uwsgiPort ?? 0, { path: '/' });
    assert.equal(u.status, 200);
    assert.equal(u.text, 'Hello World');
  });

  // One worker: readiness then proves it is initialized (see startUwsgi's note on the race).
  test('SIGTERM with --master: exit 0, no orphaned workers', async () => {
    const s = await startUwsgi(['--master', '--processes', '1', '--http-socket', '127.0.0.1:0', '--wsgi-file', 'examples/hello.py']);
    const r = await s.stop();
    assert.deepEqual([r.code, r.orphans, r.killed], [0, [], false]);
  });

  test('keep-alive with --http11-socket', async () => {
    const s = await startUwsgi(['--http11-socket', '127.0.0.1:0', '--wsgi-file', 'examples/hello.py']);
    try {
      const conn = await HttpConnection.open(s.httpPort ?? 0);
      try {
        assert.equal((await conn.request()).text, 'Hello World');
        assert.equal((await conn.request()).text, 'Hello World');
      } finally {
        conn.close();
      }
    } finally {
      await s.stop();
    }
  });

  test('streaming.py yields the requested chunks', async () => {
    const s = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', 'examples/streaming.py']);
    try {
      const r = await request(s.httpPort ?? 0, { path: '/?chunks=3&size=4' });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'aaaabbbbcccc');
    } finally {
      await s.stop();
    }
  });

  const flaskSkip = skipReason({ debPackages: ['python3-flask'] });
  test('flask_app.py: routes, JSON, POST echo, path params', { skip: flaskSkip ?? false }, async () => {
    const s = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', 'examples/flask_app.py']);
    try {
      const port = s.httpPort ?? 0;
      assert.equal((await request(port)).text, 'Hello from Flask');
      assert.deepEqual(JSON.parse((await request(port, { path: '/json?a=1' })).text), { message: 'hello', items: [1, 2, 3], query: { a: '1' } });
      const echo = await request(port, { method: 'POST', path: '/echo', headers: { 'Content-Type': 'text/plain' }, body: 'ping' });
      assert.deepEqual([echo.status, echo.text], [200, 'ping']);
      assert.deepEqual(JSON.parse((await request(port, { path: '/users/7/posts/hi' })).text), { user_id: 7, slug: 'hi' });
      assert.equal((await request(port, { path: '/missing' })).status, 404);
    } finally {
      await s.stop();
    }
  });

  const djangoSkip = skipReason({ debPackages: ['python3-django'] });
  test('django_project: views, form POST, path params, no database', { skip: djangoSkip ?? false }, async () => {
    const s = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', 'examples/django_project/wsgi.py']);
    try {
      const port = s.httpPort ?? 0;
      assert.equal((await request(port)).text, 'Hello from Django');
      assert.equal(JSON.parse((await request(port, { path: '/json?x=y' })).text).query.x, 'y');
      const form = await request(port, {
        method: 'POST',
        path: '/form',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'name=nu&n=1',
      });
      assert.deepEqual(JSON.parse(form.text), { method: 'POST', form: { name: 'nu', n: '1' }, body_length: 11 });
      assert.deepEqual(JSON.parse((await request(port, { path: '/items/5' })).text), { item_id: 5 });
      assert.equal((await request(port, { path: '/nope' })).status, 404);
    } finally {
      await s.stop();
    }
  });
});
