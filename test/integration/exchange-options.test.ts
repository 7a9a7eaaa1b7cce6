// Issue 10: options on the request/response path, against a real nuwsgi.
// add-header/del-header, what is logged when a client leaves a streaming
// response (and the three options that silence it), post-buffering, and
// http-keepalive / http-auto-chunked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { HttpConnection, openSocket, request } from '../helpers/http';
import { startNuwsgi, startUwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { uwsgiSkipReason } from '../helpers/system';
import { uwsgiRequest } from '../helpers/uwsgi';

const APP = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'mistakes.py');

async function serve(...args: string[]): Promise<{ server: ServerProcess; port: number }> {
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', APP(), ...args]);
  return { server, port: server.httpPort as number };
}

async function stop(server: ServerProcess): Promise<void> {
  const stopped = await server.stop();
  assert.deepEqual(stopped.orphans, []);
  assert.doesNotMatch(server.logs(), /not implemented by nuwsgi yet/);
}

describe('add-header and del-header', () => {
  test('added after the app\'s headers on every response, the 500s nuwsgi writes included; deleted in any case', async () => {
    const { server, port } = await serve(
      '--add-header', 'X-Frame-Options: DENY', '--add-header', 'Server: nuwsgi-front',
      '--del-header', 'x-powered-by', '--del-header', 'X-APP', '--del-header', 'Content',
    );
    try {
      const ok = await request(port, { path: '/headers' });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.rawHeaders.map(([k, v]) => `${k}: ${v}`), [
        'Content-Type: text/plain', 'Server: app', 'X-Frame-Options: DENY', 'Server: nuwsgi-front', 'Content-Length: 7',
      ]);
      const missing = await request(port, { path: '/nowhere' });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-frame-options'], 'DENY');
      const failed = await request(port, { path: '/str' });
      assert.equal(failed.status, 500);
      assert.equal(failed.headers['x-frame-options'], 'DENY');
      assert.equal(failed.headers['content-type'], 'text/plain');
    } finally {
      await stop(server);
    }
  });

  test('the same behind nginx: on a uwsgi-protocol socket', async () => {
    const { server } = await serve('--socket', '127.0.0.1:0', '--add-header', 'X-Frame-Options: DENY', '--del-header', 'server');
    try {
      const res = await uwsgiRequest(server.uwsgiPort as number, { path: '/headers' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['server'], undefined);
      assert.equal(res.headers['x-app'], 'kept');
    } finally {
      await stop(server);
    }
  });

  test('the app\'s headers come out as uWSGI sends them (the oracle)', { skip: uwsgiSkipReason() ?? false }, async () => {
    const args = ['--add-header', 'X-Frame-Options: DENY', '--add-header', 'Server: nuwsgi-front', '--del-header', 'x-powered-by', '--del-header', 'X-APP'];
    const uwsgi = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', APP(), ...args]);
    const { server, port } = await serve(...args);
    try {
      const framing = /^(content-length|transfer-encoding|connection)$/i;
      const seen = async (p: number) => (await request(p, { path: '/headers' })).rawHeaders.filter(([k]) => !framing.test(k));
      assert.deepEqual(await seen(port), await seen(uwsgi.httpPort as number));
    } finally {
      await uwsgi.stop();
      await stop(server);
    }
  });

  test('an add-header that is not a header line stops nuwsgi at startup', async () => {
    await assert.rejects(serve('--add-header', 'X-Split: a\r\nInjected: 1'), /add-header "X-Split: a\r\nInjected: 1" is not a "Name: value" header line/);
  });
});

/** Read the first bytes of the abandoned stream, then reset the connection. */
async function abandonStream(port: number): Promise<void> {
  const socket = await openSocket(port);
  socket.write('GET /abandoned-stream HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.resetAndDestroy();
}

describe('a client that leaves a streaming response', () => {
  test('logs uWSGI\'s write error and "OSError: write error", closes the iterable, frees the worker', async () => {
    const { server, port } = await serve();
    try {
      await abandonStream(port);
      await server.waitForLog(/abandoned stream closed/);
      const line = await server.waitForLog(/uwsgi_response_write_body_do\(\)/);
      assert.match(line, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - uwsgi_response_write_body_do\(\): (Connection reset by peer|Broken pipe) during GET \/abandoned-stream \(127\.0\.0\.1\)$/);
      await server.waitForLog(/^OSError: write error$/);
      await server.waitForLog(/GET \/abandoned-stream => generated \d+ bytes/);
      assert.equal((await request(port, { path: '/bytes' })).status, 200, 'the worker serves the next request');
    } finally {
      await stop(server);
    }
  });

  test('--ignore-sigpipe --ignore-write-errors --disable-write-exception: nothing but the request line', async () => {
    const { server, port } = await serve('--ignore-sigpipe', '--ignore-write-errors', '--disable-write-exception');
    try {
      await abandonStream(port);
      await server.waitForLog(/abandoned stream closed/);
      await server.waitForLog(/GET \/abandoned-stream => generated \d+ bytes/);
      assert.doesNotMatch(server.logs(), /SIGPIPE|uwsgi_response_write_body_do|write error/);
    } finally {
      await stop(server);
    }
  });

  test('--ignore-write-errors alone keeps the exception line', async () => {
    const { server, port } = await serve('--ignore-write-errors');
    try {
      await abandonStream(port);
      await server.waitForLog(/GET \/abandoned-stream => generated \d+ bytes/);
      await server.waitForLog(/^OSError: write error$/);
      assert.doesNotMatch(server.logs(), /uwsgi_response_write_body_do/);
    } finally {
      await stop(server);
    }
  });
});

function patterned(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 10)) % 256;
  return data;
}

async function upload(port: number, body: Buffer): Promise<string> {
  const res = await request(port, { method: 'POST', path: '/upload', body, timeoutMs: 60_000 });
  assert.equal(res.status, 200);
  return res.body.toString();
}

const digest = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

describe('post-buffering', () => {
  test('bodies of at least N bytes are spooled to a file, smaller ones stay in memory, both read intact', async () => {
    const { server, port } = await serve('--post-buffering', '65536', '--post-buffering-bufsize', '16384');
    try {
      const small = patterned(65535);
      assert.equal(await upload(port, small), `65535 ${digest(small)} memory`);
      const edge = patterned(65536);
      assert.equal(await upload(port, edge), `65536 ${digest(edge)} spooled`);
      const large = patterned(20 << 20);
      assert.equal(await upload(port, large), `${large.length} ${digest(large)} spooled`);
    } finally {
      await stop(server);
    }
  });

  test('a threshold above the default keeps a 3 MiB body in memory (the shared region grows with it)', async () => {
    const { server, port } = await serve('--post-buffering', String(4 << 20));
    try {
      const body = patterned(3 << 20);
      assert.equal(await upload(port, body), `${body.length} ${digest(body)} memory`);
    } finally {
      await stop(server);
    }
  });

  test('without it, nuwsgi buffers anyway: memory up to 1 MiB, a file above', async () => {
    const { server, port } = await serve();
    try {
      const mib = patterned(1 << 20);
      assert.equal(await upload(port, mib), `${mib.length} ${digest(mib)} memory`);
      const more = patterned((1 << 20) + 1);
      assert.equal(await upload(port, more), `${more.length} ${digest(more)} spooled`);
    } finally {
      await stop(server);
    }
  });
});

describe('http-keepalive and http-auto-chunked', () => {
  test('http-auto-chunked (always on): a stream without Content-Length is chunked and the connection kept', async () => {
    const { server, port } = await serve('--http-keepalive', '--http-auto-chunked');
    const conn = await HttpConnection.open(port);
    try {
      const res = await conn.request({ path: '/three-chunks' });
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.deepEqual(res.chunks?.map((c) => c.toString()), ['one ', 'two ', 'three']);
      assert.equal(res.headers['connection'], undefined);
      const next = await conn.request({ path: '/bytes' });
      assert.equal(next.body.toString(), 'bare bytes', 'same connection, second request');
      assert.equal(conn.closed, false);
    } finally {
      conn.close();
      await stop(server);
    }
  });

  test('--http-keepalive=0 closes every connection after its response', async () => {
    const { server, port } = await serve('--http-keepalive=0');
    const conn = await HttpConnection.open(port);
    try {
      const res = await conn.request({ path: '/bytes' });
      assert.equal(res.headers['connection'], 'close');
      assert.equal(await conn.waitForClose(5_000), true);
    } finally {
      conn.close();
      await stop(server);
    }
  });

  test('--http-keepalive=2: an idle kept-alive connection is closed after about 2 s (http-timeout is 60)', async () => {
    const { server, port } = await serve('--http-keepalive=2');
    const conn = await HttpConnection.open(port);
    try {
      const res = await conn.request({ path: '/bytes' });
      assert.equal(res.headers['connection'], undefined, 'kept alive');
      const started = Date.now();
      assert.equal(await conn.waitForClose(10_000), true);
      const waited = Date.now() - started;
      assert.ok(waited >= 1500 && waited < 5000, `closed after ${waited} ms`);
    } finally {
      conn.close();
      await stop(server);
    }
  });
});
