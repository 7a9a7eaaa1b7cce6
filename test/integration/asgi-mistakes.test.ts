// ASGI app mistakes and clients that leave, as a sweep against uvicorn found
// them (docs/asgi.md): a wrong message on the lifespan scope, lifespan
// shutdown without --master, a client that leaves a stream or a request the
// app is still deciding, and invalid status and header values. Each mistake
// is one log line naming it; a client that leaves is not the app's mistake.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSocket, request, SocketReader, writeTo, buildRequest } from '../helpers/http';
import { runNuwsgi, startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { count, until } from '../helpers/load';

const PYTHON = '/usr/bin/python3';
const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');

const starletteSkip = skipReason({ debPackages: ['python3-starlette'], python: { interpreter: PYTHON, modules: ['starlette'] } });

function start(args: string[], readyPath = '/'): Promise<ServerProcess> {
  return startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), ...args], { readyPath, deadlineMs: 15_000 });
}

async function withServer(args: string[], fn: (server: ServerProcess, port: number) => Promise<void>, readyPath = '/'): Promise<void> {
  const server = await start(args, readyPath);
  try {
    await fn(server, server.httpPort as number);
  } finally {
    await server.stop();
  }
}

/** Lines of the log that are not request-log lines. */
function otherLines(server: ServerProcess): string[] {
  return server.logs().split('\n').filter((line) => line !== '' && !line.startsWith('[pid: '));
}

describe('a wrong message on the lifespan scope', () => {
  const wrong: Array<[string, string]> = [
    ['lifespan_bogus', 'lifespan.bogus'],
    ['lifespan_http_start', 'http.response.start'],
    ['lifespan_shutdown_early', 'lifespan.shutdown.complete'],
  ];

  for (const [app, kind] of wrong) {
    test(`--lifespan auto: send(${kind}) during startup raises; the app is served as one without lifespan, and stops at once`, async () => {
      const server = await start(['--asgi', `mistakes_asgi:${app}`]);
      let stopped;
      const began = Date.now();
      try {
        assert.equal((await request(server.httpPort as number, { path: '/' })).body.toString(), 'served');
        const line = `ASGI 'lifespan' protocol appears unsupported: lifespan send() got an unexpected message type '${kind}' during startup: expected lifespan.startup.complete or lifespan.startup.failed`;
        await server.waitForLog(new RegExp(line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        assert.equal(otherLines(server).filter((l) => l.includes('lifespan')).length, 1, server.logs());
      } finally {
        stopped = await server.stop();
      }
      assert.equal(stopped.killed, false);
      assert.ok(Date.now() - began < 10_000, 'SIGTERM did not wait for a lifespan that is over');
      assert.doesNotMatch(server.logs(), /Traceback|InvalidStateError/);
    });
  }

  test('--lifespan on: the worker does not start, with one line naming the message (exit 22)', async () => {
    const run = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'mistakes_asgi:lifespan_bogus', '--lifespan', 'on'], { deadlineMs: 20_000 });
    assert.equal(run.code, 22, run.logs);
    assert.match(run.logs, /ASGI lifespan startup failed: lifespan send\(\) got an unexpected message type 'lifespan\.bogus' during startup/);
    assert.doesNotMatch(run.logs, /Traceback/);
  });

  test('lifespan.startup.complete sent twice: send() raises a clear error, startup and shutdown still run', async () => {
    const server = await start(['--asgi', 'mistakes_asgi:lifespan_twice']);
    try {
      assert.equal((await request(server.httpPort as number, { path: '/' })).body.toString(), 'served');
      await server.waitForLog(
        /second startup\.complete raised AsgiError: lifespan send\(\) got an unexpected message type 'lifespan\.startup\.complete' after startup was answered: expected lifespan\.shutdown\.complete or lifespan\.shutdown\.failed/,
      );
    } finally {
      assert.equal((await server.stop()).killed, false);
    }
  });
});

describe('lifespan shutdown without --master', () => {
  test('SIGTERM runs lifespan shutdown to its end before the process exits, quietly', async () => {
    const server = await start(['--asgi', 'mistakes_asgi:slow_shutdown']);
    assert.equal((await request(server.httpPort as number, { path: '/' })).body.toString(), 'served');
    const stopped = await server.stop();
    assert.equal(stopped.killed, false);
    const logs = server.logs();
    const finished = logs.indexOf('slow_shutdown: shutdown finished');
    assert.ok(finished >= 0, logs);
    assert.ok(finished < logs.indexOf('goodbye to nuwsgi.'), logs);
    assert.doesNotMatch(logs, /BrokenPipeError|Traceback/);
  });

  test('a lifespan shutdown that never ends is bounded by --worker-reload-mercy', async () => {
    const server = await start(['--asgi', 'mistakes_asgi:stuck_shutdown', '--worker-reload-mercy', '1']);
    const began = Date.now();
    const stopped = await server.stop();
    const took = Date.now() - began;
    assert.equal(stopped.killed, false);
    assert.ok(took >= 900 && took < 8000, `stopped in ${took} ms`);
    assert.match(server.logs(), /stuck_shutdown: shutdown began/);
    assert.match(server.logs(), /worker 1 \(pid: \d+\) is taking too much time to die\.\.\.NO MERCY !!!/);
    assert.doesNotMatch(server.logs(), /BrokenPipeError|Traceback/);
  });

  test("the spawn line's cores are an ASGI worker's slots, with and without --master", async () => {
    for (const master of [[], ['--master']]) {
      await withServer(['--asgi', 'mistakes_asgi:app', '--asgi-concurrency', '7', ...master], async (server) => {
        await server.waitForLog(/spawned nuwsgi worker 1 .*cores: 7\)/);
      });
    }
  });
});

describe('a client that leaves is not the app\'s mistake', () => {
  /** Sends GET `path` and waits until `ready` says the app is in it; then the client leaves. */
  async function leave(port: number, path: string, ready: (buf: Buffer) => boolean): Promise<void> {
    const sock = await openSocket(port);
    try {
      const reader = new SocketReader(sock);
      await writeTo(sock, buildRequest(port, { path }));
      await reader.waitFor((buf) => (ready(buf) ? true : undefined), 10_000);
    } finally {
      sock.destroy();
    }
  }

  test('a stream the app ends on http.disconnect: no app-error line, the request logged with its status (200)', async () => {
    await withServer(['--asgi', 'mistakes_asgi:app'], async (server, port) => {
      await leave(port, '/stream', (buf) => buf.includes('tick\n'));
      await server.waitForLog(/mistakes: \/stream saw http\.disconnect/);
      await server.waitForLog(/GET \/stream => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 200\)/);
      assert.equal((await request(port, { path: '/x' })).body.toString(), 'ok /x', 'the worker keeps serving');
      assert.doesNotMatch(server.logs(), /ASGI app error|Traceback/);
    });
  });

  test('a request the app is still deciding: it returns on http.disconnect; logged 499, nothing written, no app-error line', async () => {
    await withServer(['--asgi', 'mistakes_asgi:app'], async (server, port) => {
      const waiting = (): boolean => server.logs().includes('mistakes: /wait waiting');
      const sock = await openSocket(port);
      await writeTo(sock, buildRequest(port, { path: '/wait' }));
      await until(waiting, 10_000, 'the app to wait for the client');
      sock.destroy();
      await server.waitForLog(/mistakes: \/wait saw http\.disconnect/);
      await server.waitForLog(/GET \/wait => generated 0 bytes in \d+ msecs \(HTTP\/1\.1 499\)/);
      assert.doesNotMatch(server.logs(), /ASGI app error|Traceback|HTTP\/1\.1 500/);
    });
  });

  test("Starlette's StreamingResponse of an endless event stream: clients that leave are not logged as app errors", { skip: starletteSkip ?? false }, async () => {
    await withServer(['--python', PYTHON, '--module', 'mistakes_asgi:sse_app()'], async (server, port) => {
      for (let i = 0; i < 3; i++) await leave(port, '/sse', (buf) => buf.includes('data: 1\n'));
      await until(() => count(server, /GET \/sse => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 200\)/) === 3, 10_000, () => `3 /sse lines in\n${server.logs()}`);
      assert.doesNotMatch(server.logs(), /ASGI app error|Traceback/);
    });
  });
});

describe('invalid status and header values: one line naming the message and the problem', () => {
  const cases: Array<[string, string]> = [
    ['/crlf', String.raw`ASGI app error on GET /crlf: http.response.start header b'x-a' has an invalid value b'a\r\nb': control characters (such as CR or LF) are not allowed`],
    ['/str-value', "ASGI app error on GET /str-value: http.response.start header b'x-a': the value must be bytes, not a str 'v'"],
    ['/bad-name', "ASGI app error on GET /bad-name: http.response.start header name b'x a' is not a valid field name"],
    ['/status/99', "ASGI app error on GET /status/99: http.response.start 'status' 99 is not an HTTP status code (100 to 599)"],
    ['/status/1000', "ASGI app error on GET /status/1000: http.response.start 'status' 1000 is not an HTTP status code (100 to 599)"],
    ['/status/101', "ASGI app error on GET /status/101: http.response.start 'status' 101 is interim (1xx): a response's status must be a final one, 200 to 599"],
    ['/str-status', "ASGI app error on GET /str-status: http.response.start 'status' must be an int such as 200, not a str '200'"],
  ];
  const wsCases: Array<[string, string]> = [
    ['/ws-bad-header', String.raw`ASGI app error on GET /ws-bad-header: websocket.accept header b'x-a' has an invalid value b'a\r\nb': control characters (such as CR or LF) are not allowed`],
    ['/ws-str-header', "ASGI app error on GET /ws-str-header: websocket.accept header b'x-a': the value must be bytes, not a str 'v'"],
    ['/ws-deny-status', "ASGI app error on GET /ws-deny-status: websocket.http.response.start 'status' 1000 is not an HTTP status code (100 to 599)"],
  ];
  const upgrade = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };

  test('http.response.start and the WebSocket messages: 500, one line each, no traceback', async () => {
    await withServer(['--asgi', 'mistakes_asgi:app'], async (server, port) => {
      for (const [path, line] of [...cases, ...wsCases]) {
        const res = await request(port, { path, headers: path.startsWith('/ws') ? upgrade : {} });
        assert.equal(res.status, 500, path);
        await until(() => server.logs().includes(line), 10_000, () => `${line}\n--- in ---\n${server.logs()}`);
      }
      assert.equal((await request(port, { path: '/x' })).status, 200, 'the worker keeps serving');
      const errors = otherLines(server).filter((l) => /error|Error|Traceback|KeyError|start_response/.test(l));
      assert.equal(errors.length, cases.length + wsCases.length, errors.join('\n'));
      assert.ok(errors.every((l) => l.startsWith('ASGI app error on GET /')), errors.join('\n'));
    });
  });
});
