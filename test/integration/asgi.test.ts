// ASGI 3 apps (docs/asgi.md): a plain app, Starlette, FastAPI, lifespan,
// concurrency on one worker, app errors, the uwsgi protocol, and WSGI + ASGI
// mounted in one worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type HttpResponse } from '../helpers/http';
import { runNuwsgi, startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { eventually, until } from '../helpers/load';
import { makeTempDir } from '../helpers/tmp';
import { uwsgiRequest } from '../helpers/uwsgi';

const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');

const frameworkSkip = skipReason({
  debPackages: ['python3-starlette', 'python3-fastapi'],
  python: { interpreter: '/usr/bin/python3', modules: ['starlette', 'fastapi'] },
});

async function withServer(args: string[], fn: (server: ServerProcess, port: number) => Promise<void>, readyPath = '/'): Promise<void> {
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), ...args], { readyPath });
  try {
    await fn(server, server.httpPort as number);
  } finally {
    await server.stop();
  }
}

function json(res: HttpResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString()) as Record<string, unknown>;
}

describe('a plain ASGI 3 app', () => {
  test('--asgi: the HTTP scope, the body, lifespan state, and shutdown on a graceful stop', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'plain_asgi:app', '--master']);
    try {
      const port = server.httpPort as number;
      const res = await request(port, { method: 'POST', path: '/caf%C3%A9/x?a=1&b=%20', body: 'hello', headers: { 'X-Custom': 'v1' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-asgi'], 'yes');
      const scope = json(res);
      assert.equal(scope.type, 'http');
      assert.deepEqual(scope.asgi, { version: '3.0', spec_version: '2.3' });
      assert.equal(scope.http_version, '1.1');
      assert.equal(scope.method, 'POST');
      assert.equal(scope.scheme, 'http');
      assert.equal(scope.path, '/café/x');
      assert.equal(scope.raw_path, '/caf%C3%A9/x');
      assert.equal(scope.query_string, 'a=1&b=%20');
      assert.equal(scope.root_path, '');
      assert.equal((scope.client as [string, number])[0], '127.0.0.1');
      assert.equal((scope.server as [string, number])[1], port);
      assert.deepEqual(scope.state, { started: 'yes' });
      assert.equal(scope.body, 'hello');
      const headers = scope.headers as Array<[string, string]>;
      assert.ok(headers.some(([k, v]) => k === 'x-custom' && v === 'v1'), JSON.stringify(headers));
      assert.ok(headers.some(([k, v]) => k === 'content-length' && v === '5'));
      // Header names come from a cache after the first request: a second one, with an empty header
      // (kept, as uvicorn keeps it) and no body (no content-type/content-length pair), and the same
      // response head (framed once, then from the loop's cache).
      const again = await request(port, { path: '/y', headers: { 'X-Custom': 'v2', 'X-Empty': '' } });
      assert.equal(again.headers['x-asgi'], 'yes');
      const second = json(again).headers as Array<[string, string]>;
      assert.ok(second.some(([k, v]) => k === 'x-custom' && v === 'v2'), JSON.stringify(second));
      assert.ok(second.some(([k, v]) => k === 'x-empty' && v === ''), JSON.stringify(second));
      assert.ok(!second.some(([k]) => k === 'content-type'), JSON.stringify(second));
      await server.waitForLog(/ASGI app 0 \(mountpoint=''\) ready/);
    } finally {
      await server.stop();
    }
    assert.match(server.logs(), /plain_asgi: lifespan shutdown ran/);
  });

  test('an object whose __call__ is a coroutine function is detected as ASGI (--module, --interface auto)', async () => {
    await withServer(['--module', 'plain_asgi:instance'], async (_server, port) => {
      assert.equal(json(await request(port, { path: '/x' })).type, 'http');
    });
  });

  test('--interface wsgi overrides the detection: the coroutine app is called as WSGI (and fails as one)', async () => {
    await withServer(['--module', 'plain_asgi:instance', '--interface', 'wsgi'], async (server, port) => {
      assert.equal((await request(port, { path: '/x' })).status, 500);
      await server.waitForLog(/WSGI app 0 \(mountpoint=''\)/);
    }, '/favicon.ico');
  });

  test('--threads N sizes the loop default executor (run_in_executor)', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--threads', '3'], async (_server, port) => {
      assert.match((await request(port, { path: '/executor' })).body.toString(), /^nuwsgi-executor/);
    });
  });

  test('--asgi-loop: asyncio by choice; auto and uvloop take uvloop when importable', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--asgi-loop', 'asyncio'], async (_server, port) => {
      assert.match((await request(port, { path: '/loop' })).body.toString(), /^asyncio/);
    });
    const uvloopSkip = skipReason({ debPackages: ['python3-uvloop'], python: { interpreter: '/usr/bin/python3', modules: ['uvloop'] } });
    if (uvloopSkip !== undefined) return;
    for (const loop of ['auto', 'uvloop']) {
      await withServer(['--python', '/usr/bin/python3', '--asgi', 'plain_asgi:app', '--asgi-loop', loop], async (_server, port) => {
        assert.match((await request(port, { path: '/loop' })).body.toString(), /^uvloop/);
      });
    }
  });

  test('streaming with more_body, and a large streamed body arrives whole', async () => {
    await withServer(['--asgi', 'plain_asgi:app'], async (_server, port) => {
      const res = await request(port, { path: '/stream' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.body.toString(), 'part 0\npart 1\npart 2\npart 3\npart 4\n');
      const big = await request(port, { path: '/big?8388608' });
      assert.equal(big.body.length, 8388608);
    });
  });

  test('a whole response in one message, of any size, after responses of other sizes with the same head', async () => {
    // Small bodies go into the region with the head, larger ones after it, the largest by address (the head, cached
    // and shared between requests, is copied before it is marked so): each size in turn, twice.
    await withServer(['--asgi', 'plain_asgi:app'], async (_server, port) => {
      for (const size of [10, 10_000, 3_000_000, 0, 10, 5000, 3_000_000, 10]) {
        const res = await request(port, { path: `/whole?${size}` });
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-length'], String(size));
        assert.equal(res.headers['content-type'], 'application/octet-stream');
        assert.equal(res.body.length, size);
        assert.ok(res.body.every((byte) => byte === 0x77), `size ${size}: only w bytes`);
      }
    });
  });

  test('a large body arrives in http.request messages of at most 64 KiB (spooled, or streamed as it arrives)', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--post-buffering', '65536'], async (_server, port) => {
      const body = Buffer.alloc(1_000_000, 'b');
      const counted = json(await request(port, { method: 'POST', path: '/count', body })) as { bytes: number; messages: number };
      assert.equal(counted.bytes, 1_000_000);
      assert.ok(counted.messages >= 16, `${counted.messages} messages`);
      assert.deepEqual(json(await request(port, { method: 'POST', path: '/count', body: 'small' })), { bytes: 5, messages: 1 });
    });
  });

  test('app errors: an exception before start is a 500 with its traceback, a response never started is a 500, after start the connection closes', async () => {
    await withServer(['--asgi', 'plain_asgi:app'], async (server, port) => {
      assert.equal((await request(port, { path: '/boom' })).status, 500);
      await server.waitForLog(/Traceback for GET \/boom:/);
      await server.waitForLog(/RuntimeError: boom from the ASGI app/);
      assert.equal((await request(port, { path: '/silent' })).status, 500);
      await server.waitForLog(/ASGI app error on GET \/silent: the app returned without sending a response/);
      await assert.rejects(request(port, { path: '/after-start' }));
      await server.waitForLog(/RuntimeError: failed mid-stream/);
      assert.equal((await request(port, { path: '/x' })).status, 200, 'the worker keeps serving');
    });
  });

  test('many slow requests are in flight at once on one worker', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--processes', '1'], async (_server, port) => {
      const started = Date.now();
      const all = await Promise.all(Array.from({ length: 40 }, () => request(port, { path: '/sleep?500' })));
      const wall = Date.now() - started;
      assert.ok(all.every((r) => r.status === 200));
      assert.ok(wall < 4000, `40 requests of 500 ms took ${wall} ms on one worker (one at a time would be 20 s)`);
    });
  });

  test('--asgi-concurrency caps the requests in flight; the rest wait in the backlog', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--processes', '1', '--asgi-concurrency', '2'], async (_server, port) => {
      const started = Date.now();
      const all = await Promise.all(Array.from({ length: 4 }, () => request(port, { path: '/sleep?400' })));
      const wall = Date.now() - started;
      assert.ok(all.every((r) => r.status === 200));
      assert.ok(wall >= 780, `4 requests of 400 ms with 2 slots took ${wall} ms: they ran more than 2 at a time`);
    });
  });

  test('the uwsgi protocol: the scope is built from the CGI variables, SCRIPT_NAME becomes root_path', async () => {
    const server = await startNuwsgi(['--socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'plain_asgi:app']);
    try {
      const res = await uwsgiRequest(server.uwsgiPort as number, { path: '/app/x?q=1', vars: { SCRIPT_NAME: '/app', PATH_INFO: '/x' } });
      assert.equal(res.status, 200);
      const scope = json(res);
      assert.equal(scope.root_path, '/app');
      assert.equal(scope.path, '/x');
      assert.equal(scope.query_string, 'q=1');
    } finally {
      await server.stop();
    }
  });

  test('WSGI and ASGI apps mounted side by side in one worker', async () => {
    const args = ['--mount', '/w=wsgi_side.py', '--mount', '/a=plain_asgi:app', '--manage-script-name', '--processes', '1'];
    await withServer(args, async (server, port) => {
      assert.equal((await request(port, { path: '/w/hello' })).body.toString(), 'wsgi /w /hello');
      const scope = json(await request(port, { path: '/a/there' }));
      assert.equal(scope.root_path, '/a');
      assert.equal(scope.path, '/there');
      await server.waitForLog(/WSGI app 0 \(mountpoint='\/w'\)/);
      await server.waitForLog(/ASGI app 1 \(mountpoint='\/a'\)/);
    }, '/w/');
  });
});

describe('lifespan', () => {
  test('lifespan.startup.failed stops the worker as a broken app does (exit 22)', async () => {
    const run = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'plain_asgi:failing_startup'], { deadlineMs: 20_000 });
    assert.equal(run.code, 22, run.logs);
    assert.match(run.logs, /lifespan startup failed: the database is not there/);
  });

  test('--lifespan auto serves an app that refuses lifespan; --lifespan on does not', async () => {
    await withServer(['--asgi', 'plain_asgi:no_lifespan'], async (server, port) => {
      assert.equal((await request(port, { path: '/x' })).status, 200);
      await server.waitForLog(/ASGI 'lifespan' protocol appears unsupported/);
    });
    const run = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'plain_asgi:no_lifespan', '--lifespan', 'on'], { deadlineMs: 20_000 });
    assert.equal(run.code, 22, run.logs);
  });

  test('a reload that reaches a worker still loading the app: it finishes loading, then runs lifespan shutdown', async () => {
    const dir = makeTempDir('nuwsgi-slow-boot-');
    const marker = join(dir, 'loading');
    const release = join(dir, 'release');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--master', '--asgi', 'slow_boot_asgi:app'], {
      waitReady: false,
      env: { SLOW_BOOT_MARKER: marker, SLOW_BOOT_RELEASE: release },
    });
    try {
      const loading = (): string[] => readdirSync(dir).filter((f) => f.startsWith('loading.'));
      await until(() => loading().length === 1, 20_000, 'the first worker to start loading the app');
      const first = Number((loading()[0] as string).split('.')[1]);
      // The worker is not ready: the master's reload drains it (SIGTERM) while Python still runs its import.
      server.signal('SIGHUP');
      await server.waitForLog(/gracefully replacing workers/);
      writeFileSync(release, '');
      await server.waitForLog(new RegExp(`slow_boot ${first}: lifespan shutdown`), 20_000);
      await server.waitForLog(new RegExp(`Gracefully killing worker 1 \\(pid: ${first}\\)`), 5_000);
      const res = await eventually(async () => {
        const r = await request(server.httpPort as number, { path: '/' }).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      }, 'the replacement to serve', 20_000, server);
      assert.notEqual(res.body.toString(), `pid ${first}`);
    } finally {
      await server.stop();
    }
  });

  test('--lifespan off: no lifespan scope, no state', async () => {
    await withServer(['--asgi', 'plain_asgi:app', '--lifespan', 'off'], async (_server, port) => {
      assert.equal(json(await request(port, { path: '/x' })).state, null);
    });
  });
});

describe('Starlette and FastAPI (Debian packages)', { skip: frameworkSkip ?? false }, () => {
  const python = ['--python', '/usr/bin/python3'];

  test('Starlette: routes, lifespan state in request.state, a request body, a sync endpoint off the loop', async () => {
    await withServer([...python, '--module', 'starlette_app:app'], async (_server, port) => {
      assert.equal((await request(port, { path: '/' })).body.toString(), 'hello from starlette');
      assert.deepEqual(json(await request(port, { path: '/state' })), { pool: 'ready', root_path: '', path: '/state' });
      assert.equal((await request(port, { method: 'POST', path: '/echo', body: 'abc' })).body.toString(), 'cba');
      const thread = (await request(port, { path: '/sync' })).body.toString();
      assert.notEqual(thread, 'nuwsgi-asgi-loop');
      assert.equal((await request(port, { path: '/missing' })).status, 404);
    });
  });

  test('FastAPI: path and query parameters, a pydantic body, validation errors, a streaming response', async () => {
    await withServer([...python, '--asgi', 'fastapi_app:app'], async (_server, port) => {
      assert.deepEqual(json(await request(port, { path: '/items/42?q=hi' })), { item_id: 42, q: 'hi' });
      assert.equal((await request(port, { path: '/items/notanint' })).status, 422);
      const created = await request(port, {
        method: 'POST', path: '/items', body: JSON.stringify({ name: 'pen', price: 1.5 }), headers: { 'Content-Type': 'application/json' },
      });
      assert.equal(created.status, 200);
      assert.deepEqual(json(created), { name: 'pen', double: 3 });
      const invalid = await request(port, { method: 'POST', path: '/items', body: '{"name": 1}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(invalid.status, 422);
      const stream = await request(port, { path: '/stream' });
      assert.equal(stream.status, 200);
      assert.equal(stream.body.toString().split('\n').length, 21);
    }, '/items/1');
  });
});

const djangoSkip = skipReason({ debPackages: ['python3-django'], python: { interpreter: '/usr/bin/python3', modules: ['django'] } });

describe("Django's get_asgi_application() (Debian package)", { skip: djangoSkip ?? false }, () => {
  test('the example project through its asgi.py, detected as ASGI: a page, a path parameter, a form POST', async () => {
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--python', '/usr/bin/python3', '--chdir', join(repoRoot(), 'examples'),
      '--module', 'django_project.asgi:application',
    ]);
    try {
      const port = server.httpPort as number;
      assert.equal((await request(port, { path: '/' })).body.toString(), 'Hello from Django');
      assert.deepEqual(json(await request(port, { path: '/items/5' })), { item_id: 5 });
      const form = await request(port, {
        method: 'POST', path: '/form', body: 'name=nuwsgi', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      assert.deepEqual(json(form), { method: 'POST', form: { name: 'nuwsgi' }, body_length: 11 });
      await server.waitForLog(/ASGI app 0 \(mountpoint=''\) ready/);
    } finally {
      await server.stop();
    }
  });
});
