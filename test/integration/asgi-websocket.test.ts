// ASGI WebSockets (docs/asgi.md, "WebSockets"): a raw ASGI app and Starlette,
// driven by Debian's python3-websockets client, directly, over TLS and
// through nginx's proxy_pass; and a WSGI app, which still gets an Upgrade
// request as a plain request.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { nginxSkipReason, startNginx } from '../helpers/nginx';
import { until } from '../helpers/load';
import { selfSignedCert } from '../helpers/tls';

const PYTHON = '/usr/bin/python3';
const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');
const client = (): string => join(fixtures(), 'ws_client.py');

const wsSkip = skipReason({ debPackages: ['python3-websockets'], python: { interpreter: PYTHON, modules: ['websockets'] } });
const starletteSkip = skipReason({ debPackages: ['python3-starlette'], python: { interpreter: PYTHON, modules: ['starlette'] } });

type Result = Record<string, unknown>;

/** One scenario of ws_client.py against `url`: its JSON result (the last line it prints). */
function runClient(scenario: string, url: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [client(), scenario, url, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`ws_client ${scenario} ${url}: ${err.message}\n${stderr}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1] as string) as Result);
    });
  });
}

/** ws_client.py's "hold" scenario in the background: prints "ready" once connected. */
function holdClient(port: number): { child: ReturnType<typeof spawn>; out: () => string } {
  const child = spawn(PYTHON, [client(), 'hold', `ws://127.0.0.1:${port}/hold`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

async function withServer(args: string[], fn: (server: ServerProcess, port: number) => Promise<void>): Promise<void> {
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--python', PYTHON, '--chdir', fixtures(), ...args], { readyPath: '/' });
  try {
    await fn(server, server.httpPort as number);
  } finally {
    await server.stop();
  }
}

const RAW = ['--asgi', 'ws_apps:app'];

describe('ASGI WebSockets with python3-websockets as the client', { skip: wsSkip ?? false }, () => {
  test('echo: text (UTF-8), bytes, a 1 MiB message, the subprotocol and headers of the accept, permessage-deflate; the app gets websocket.disconnect 1000', async () => {
    await withServer(RAW, async (server, port) => {
      const r = await runClient('echo', `ws://127.0.0.1:${port}/echo`);
      assert.deepEqual(r, { text: 'héllo', bytes: [0, 1, 2], big_ok: true, subprotocol: 'chat.v2', extensions: ['PerMessageDeflate'], x_ws_app: 'echo' });
      await server.waitForLog(/ws_apps: disconnect 1000 ''/);
      await server.waitForLog(/GET \/echo => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 101\)/);
    });
  });

  test('the websocket scope: type, asgi 2.4, ws scheme, path, query string, headers, subprotocols, state, the http.response extension', async () => {
    await withServer(RAW, async (_server, port) => {
      const r = await runClient('recv', `ws://127.0.0.1:${port}/scope?x=1`);
      assert.equal(r.code, 1000);
      const scope = JSON.parse(r.first as string) as Result;
      assert.equal(scope.type, 'websocket');
      assert.deepEqual(scope.asgi, { version: '3.0', spec_version: '2.4' });
      assert.equal(scope.http_version, '1.1');
      assert.equal(scope.scheme, 'ws');
      assert.equal(scope.path, '/scope');
      assert.equal(scope.raw_path, '/scope');
      assert.equal(scope.query_string, 'x=1');
      assert.equal(scope.root_path, '');
      assert.deepEqual(scope.subprotocols, []);
      assert.equal(scope.has_state, true);
      assert.equal('method' in scope, false);
      assert.deepEqual(scope.extensions, { 'websocket.http.response': {} });
      assert.equal((scope.client as [string, number])[0], '127.0.0.1');
      assert.equal((scope.server as [string, number])[1], port);
      assert.ok((scope.headers as Array<[string, string]>).some(([k, v]) => k === 'upgrade' && v === 'websocket'));
    });
  });

  test('close before accept is a 403; websocket.http.response is sent as is; an app that raises is a 500 before accept, 1011 after', async () => {
    await withServer(RAW, async (server, port) => {
      assert.equal((await runClient('status', `ws://127.0.0.1:${port}/deny`)).status, 403);
      const denied = await runClient('status', `ws://127.0.0.1:${port}/deny-response`);
      assert.equal(denied.status, 401);
      assert.equal((denied.headers as Record<string, string>)['x-why'], 'token');
      assert.equal((await runClient('status', `ws://127.0.0.1:${port}/fail-before`)).status, 500);
      assert.deepEqual(await runClient('send-then-wait', `ws://127.0.0.1:${port}/fail-after`), { code: 1011 });
      await server.waitForLog(/RuntimeError: ws_apps: failing after accept/);
      assert.deepEqual(await runClient('close-4000', `ws://127.0.0.1:${port}/echo`), { code: 4000, reason: 'bye' });
      await server.waitForLog(/ws_apps: disconnect 4000 'bye'/);
      // The worker still serves HTTP after all that.
      assert.equal((await request(port, { path: '/' })).body.toString(), 'plain http');
    });
  });

  test('a client that leaves before the app accepts: the app waiting in receive() gets websocket.disconnect 1006', async () => {
    await withServer(RAW, async (server, port) => {
      assert.deepEqual(await runClient('leave-early', `ws://127.0.0.1:${port}/wait-before-accept`), { left: true });
      await server.waitForLog(/ws_apps: before accept: websocket.disconnect 1006/);
      assert.equal((await request(port, { path: '/' })).body.toString(), 'plain http');
    });
  });

  test('a chat between two clients on one worker; ping answered with pong', async () => {
    await withServer(RAW, async (_server, port) => {
      assert.deepEqual(await runClient('chat', `ws://127.0.0.1:${port}/chat`), { bob: 'hi bob', alice: 'hi alice' });
      assert.deepEqual(await runClient('ping', `ws://127.0.0.1:${port}/echo`), { pong: true });
    });
  });

  test('--ws-ping-interval/--ws-ping-timeout: a client that answers pings stays; one that never does is closed with 1011', async () => {
    await withServer([...RAW, '--ws-ping-interval', '1', '--ws-ping-timeout', '1'], async (server, port) => {
      assert.deepEqual(await runClient('idle', `ws://127.0.0.1:${port}/echo`, '3.5'), { text: 'still here' });
      assert.deepEqual(await runClient('silent', `ws://127.0.0.1:${port}/echo`), { status: 101, opcodes: [0x9, 0x8], close_code: 1011 });
      await server.waitForLog(/no pong within 1 seconds, closing/);
      await server.waitForLog(/ws_apps: disconnect 1011/);
    });
  });

  test('a slow reader: messages larger than the slot region (in pieces) and 200 small ones, sent without waiting, all arrive in order', async () => {
    await withServer(RAW, async (_server, port) => {
      assert.deepEqual(await runClient('flood', `ws://127.0.0.1:${port}/digest`), { count_ok: true, sha_ok: true });
    });
  });

  test('--harakiri times the app until its accept, not an open WebSocket', async () => {
    await withServer([...RAW, '--master', '--harakiri', '1', '--ws-ping-interval', '1'], async (server, port) => {
      assert.deepEqual(await runClient('idle', `ws://127.0.0.1:${port}/echo`, '3.5'), { text: 'still here' });
      assert.doesNotMatch(server.logs(), /HARAKIRI/);
    });
  });

  test('--ws-max-size: a bigger message closes with 1009 and the app gets it; --ws-per-message-deflate=false negotiates no compression', async () => {
    await withServer([...RAW, '--ws-max-size', '65536', '--ws-per-message-deflate=false'], async (server, port) => {
      assert.deepEqual(await runClient('too-big', `ws://127.0.0.1:${port}/echo`), { closed: true, code: 1009 });
      await server.waitForLog(/ws_apps: disconnect 1009/);
      assert.deepEqual(await runClient('no-compression', `ws://127.0.0.1:${port}/echo`), { text_len: 6000, extensions: [] });
    });
  });

  test('--asgi-concurrency counts an open WebSocket as one request in flight: at the cap, the next connection waits until one ends', async () => {
    await withServer([...RAW, '--asgi-concurrency', '2'], async (server, port) => {
      const holders = [holdClient(port), holdClient(port)];
      try {
        await Promise.all(holders.map((h) => until(() => h.out().includes('"ready"'), 20_000, 'a client to connect')));
        const answered = request(port, { path: '/after' }); // waits in the backlog: both slots are WebSockets
        holders[0]?.child.kill('SIGKILL'); // its WebSocket ends (1006): a slot frees
        assert.equal((await answered).body.toString(), 'plain http');
        await server.waitForLog(/GET \/after => /);
        // The request log (one stream) has the WebSocket's line, written as its slot freed, before the waiting request's.
        const logs = server.logs();
        const ended = logs.indexOf('GET /hold => ');
        assert.ok(ended >= 0 && ended < logs.indexOf('GET /after => '), logs);
        await server.waitForLog(/ws_apps: hold ended with 1006/);
      } finally {
        for (const h of holders) h.child.kill('SIGKILL');
      }
    });
  });

  test('graceful reload (SIGHUP to the master): an open WebSocket gets Close 1012 and its app websocket.disconnect 1012', async () => {
    await withServer([...RAW, '--master', '--worker-reload-mercy', '20'], async (server, port) => {
      const child = spawn(PYTHON, [client(), 'hold', `ws://127.0.0.1:${port}/hold`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        await until(() => out.includes('"ready"'), 20_000, 'the client to connect');
        server.signal('SIGHUP');
        await exited;
        const lines = out.trim().split('\n');
        assert.deepEqual(JSON.parse(lines[lines.length - 1] as string), { code: 1012, reason: 'service restart' }, err);
        await server.waitForLog(/ws_apps: hold ended with 1012/);
      } finally {
        child.kill();
      }
    });
  });

  test('wss on an HTTPS socket', async () => {
    const dir = makeTempDir();
    try {
      const { cert, key } = selfSignedCert(dir);
      const server = await startNuwsgi(['--https-socket', `127.0.0.1:0,${cert},${key}`, '--python', PYTHON, '--chdir', fixtures(), ...RAW], { waitReady: false });
      try {
        await server.waitForLog(/ASGI app 0 .* ready/, 30_000);
        const port = server.ports[0] as number;
        const r = await runClient('recv', `wss://127.0.0.1:${port}/scope`);
        assert.equal((JSON.parse(r.first as string) as Result).scheme, 'wss');
      } finally {
        await server.stop();
      }
    } finally {
      removeTempDir(dir);
    }
  });

  test('Starlette: a WebSocketRoute (receive_text/send_text), WebSocketDisconnect on the client leaving', { skip: starletteSkip ?? false }, async () => {
    await withServer(['--module', 'ws_apps:starlette_app()'], async (server, port) => {
      assert.deepEqual(await runClient('upper', `ws://127.0.0.1:${port}/upper`), { text: 'STARLETTE' });
      await server.waitForLog(/ws_apps: starlette disconnect 1000/);
    });
  });

  test('through nginx proxy_pass (proxy_http_version 1.1, Upgrade and Connection headers)', { skip: nginxSkipReason() ?? false }, async () => {
    await withServer(RAW, async (_server, port) => {
      const nginx = await startNginx({
        servers: [{
          locations: [{
            path: '/',
            proxyPass: `http://127.0.0.1:${port}`,
            extra: ['proxy_http_version 1.1;', 'proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection "upgrade";', 'proxy_read_timeout 1h;'],
          }],
        }],
      });
      try {
        assert.deepEqual(await runClient('chat', `ws://127.0.0.1:${nginx.port}/chat`), { bob: 'hi bob', alice: 'hi alice' });
        const r = await runClient('echo', `ws://127.0.0.1:${nginx.port}/echo`);
        assert.equal(r.big_ok, true);
        assert.equal(r.subprotocol, 'chat.v2');
      } finally {
        await nginx.stop();
      }
    });
  });
});

describe('an Upgrade request to a WSGI app', () => {
  test('is passed to the app as a plain request, as uWSGI does', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--wsgi-file', 'wsgi_side.py', '--http-websockets']);
    try {
      const res = await request(server.httpPort as number, {
        path: '/', headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
      });
      assert.equal(res.status, 200);
      // The connection keeps serving HTTP afterwards.
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
  });
});
