// The core of issue 2: a real nuwsgi serving a real WSGI app over HTTP/1.1,
// on every Python interpreter this machine has.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpConnection, rawExchange, rawRequest, request, parseResponses } from '../helpers/http';
import { pythonInterpreters } from '../helpers/python';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const SINK = () => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

for (const py of pythonInterpreters()) {
  describe(`HTTP serving on ${py.label} (Python ${py.version})`, { skip: py.sharedLib === undefined ? 'no shared libpython' : false }, () => {
    let server: ServerProcess;
    let port: number;

    before(async () => {
      server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--python', py.executable, '--master', '--processes', '2']);
      port = server.httpPort as number;
    });
    after(async () => {
      const stopped = await server.stop('SIGTERM');
      assert.equal(stopped.code, 0, 'SIGTERM stops nuwsgi with exit code 0');
      assert.deepEqual(stopped.orphans, []);
    });

    test('environ carries every key PEP 3333 requires, as native strings', async () => {
      const res = await request(port, { path: '/environ?a=1&b=%20', headers: { 'X-Custom': 'v1', Cookie: 'c=1' } });
      assert.equal(res.status, 200);
      const env = JSON.parse(res.body.toString()) as Record<string, string>;
      for (const key of ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL']) {
        assert.ok(key in env, `${key} in environ`);
      }
      assert.equal(env['REQUEST_METHOD'], 'GET');
      assert.equal(env['PATH_INFO'], '/environ');
      assert.equal(env['QUERY_STRING'], 'a=1&b=%20');
      assert.equal(env['REQUEST_URI'], '/environ?a=1&b=%20');
      assert.equal(env['SCRIPT_NAME'], '');
      assert.equal(env['SERVER_PROTOCOL'], 'HTTP/1.1');
      assert.equal(env['REMOTE_ADDR'], '127.0.0.1');
      assert.match(env['REMOTE_PORT'] ?? '', /^\d+$/);
      assert.equal(env['HTTP_X_CUSTOM'], 'v1');
      assert.equal(env['HTTP_COOKIE'], 'c=1');
      assert.equal(env['wsgi.version'], '(1, 0)');
      assert.equal(env['wsgi.url_scheme'], 'http');
      assert.equal(env['wsgi.multithread'], 'False');
      assert.equal(env['wsgi.multiprocess'], 'True');
      assert.equal(env['wsgi.run_once'], 'False');
      assert.equal(env['wsgi.errors.has_write'], 'True');
      assert.ok(!('CONTENT_LENGTH' in env), 'no CONTENT_LENGTH for a request without one');
    });

    test('PATH_INFO is percent-decoded bytes seen as latin-1', async () => {
      const res = await request(port, { path: '/caf%C3%A9/%2Fx' });
      // The app encodes PATH_INFO back with surrogateescape/utf-8 of the latin-1 string.
      assert.equal(res.body.toString('utf8'), 'hello from GET /caf\u00c3\u00a9//x');
    });

    test('request bodies with Content-Length, read every way', async () => {
      const body = Buffer.from('line one\nline two\nline three without newline');
      for (const mode of ['read', 'readline', 'readlines', 'iter', 'chunks']) {
        const res = await request(port, { method: 'POST', path: `/echo?${mode}`, body });
        assert.equal(res.status, 200, mode);
        assert.deepEqual(res.body, body, mode);
        assert.equal(res.headers['x-extra'], '0', `${mode}: reading past the end returns b"" at once`);
      }
    });

    test('chunked request bodies are decoded (uWSGI cannot)', async () => {
      const raw = Buffer.from(
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
          '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n',
      );
      const [res] = parseResponses(await rawRequest(port, raw));
      assert.equal(res?.status, 200);
      assert.equal(res?.body.toString(), 'hello, world');
    });

    test('a large body (spooled to disk) arrives intact', async () => {
      const body = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
      const res = await request(port, { method: 'POST', path: '/echo?chunks', body, timeoutMs: 30_000 });
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(body));
    });

    test('keep-alive and pipelined requests are answered in order', async () => {
      const conn = await HttpConnection.open(port);
      try {
        for (let i = 0; i < 3; i++) {
          const res = await conn.request({ path: `/k${i}` });
          assert.equal(res.body.toString(), `hello from GET /k${i}`);
        }
      } finally {
        conn.close();
      }
      const pipelined = Buffer.from(
        ['/p1', '/p2', '/p3'].map((p, i) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join(''),
      );
      const responses = parseResponses(await rawRequest(port, pipelined));
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        ['hello from GET /p1', 'hello from GET /p2', 'hello from GET /p3'],
      );
    });

    test('garbage with no line end gets its 400 at once, not at the header timeout', async () => {
      // The connection stays open from our side: only the server's own 400 and close end the exchange.
      for (const garbage of ['\0\0\0\0', '\r\r\r', '\x16\x03\x01\x02\x00']) {
        const result = await rawExchange(port, garbage, { timeoutMs: 5_000 });
        assert.equal(result.outcome, 'closed', `${JSON.stringify(garbage)}: closed by the server`);
        assert.match(result.data.toString('latin1'), /^HTTP\/1\.1 400 /, JSON.stringify(garbage));
      }
    });

    test('authority-form for a method other than CONNECT is a 400 (RFC 9112 §3.2.3)', async () => {
      const [res] = parseResponses(await rawRequest(port, 'GET example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n'));
      assert.equal(res?.status, 400);
    });

    test('HTTP/1.0 closes unless asked to keep alive', async () => {
      const [res] = parseResponses(await rawRequest(port, Buffer.from('GET /x HTTP/1.0\r\n\r\n')));
      assert.equal(res?.status, 200);
      assert.equal(res?.body.toString(), 'hello from GET /x');
    });

    test('HEAD is answered without a body', async () => {
      const data = await rawRequest(port, Buffer.from('HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      const text = data.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /Content-Length: 18\r\n/); // "hello from HEAD /x"
      assert.ok(text.endsWith('\r\n\r\n'), 'nothing after the head');
    });

    test('Expect: 100-continue gets an interim response', async () => {
      const data = await rawRequest(
        port,
        Buffer.from('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhi'),
      );
      assert.match(data.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    });

    test('an app exception before start_response is a 500, logged with its traceback; the worker goes on', async () => {
      const res = await request(port, { path: '/boom' });
      assert.equal(res.status, 500);
      assert.equal(res.body.toString(), 'Internal Server Error\n');
      await server.waitForLog(/RuntimeError: boom from the app/);
      assert.equal((await request(port, { path: '/after-boom' })).status, 200);
    });

    test('an exception after the headers closes the connection mid-body', async () => {
      const data = await rawRequest(port, Buffer.from('GET /boom-late HTTP/1.1\r\nHost: x\r\n\r\n'));
      const text = data.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /Transfer-Encoding: chunked/);
      assert.ok(!text.endsWith('0\r\n\r\n'), 'no terminating chunk: the client can tell the body is incomplete');
      await server.waitForLog(/RuntimeError: boom after the headers/);
    });

    test('a header with CR/LF from the app is a 500, never a split response', async () => {
      const res = await request(port, { path: '/bad-header' });
      assert.equal(res.status, 500);
      assert.equal(res.headers['x-injected'], undefined);
    });

    test('write() output comes before the iterable', async () => {
      assert.equal((await request(port, { path: '/writer' })).body.toString(), 'written and returned');
    });

    test('start_response with exc_info replaces headers not yet sent', async () => {
      const res = await request(port, { path: '/exc-info' });
      assert.equal(res.status, 503);
      assert.equal(res.body.toString(), 'replaced');
    });

    test('wsgi.file_wrapper sends the file', async () => {
      const dir = makeTempDir();
      const file = join(dir, 'data.bin');
      const content = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
      writeFileSync(file, content);
      const res = await request(port, { path: `/file?${file}`, timeoutMs: 30_000 });
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(content));
    });

    test('wsgi.errors reaches the log', async () => {
      await request(port, { path: '/log-error' });
      await server.waitForLog(/app says hello to wsgi\.errors/);
    });

    test('threads the app started keep running between requests (the GIL is released)', async () => {
      const first = JSON.parse((await request(port, { path: '/ticks' })).body.toString()) as { ticks: number };
      // Poll: the ticker thread must advance while Node waits for requests.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = JSON.parse((await request(port, { path: '/ticks' })).body.toString()) as { ticks: number };
        if (now.ticks > first.ticks + 5) break;
        assert.ok(Date.now() < deadline, 'the app thread did not run');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    test('malformed requests get a 400 and the worker goes on', async () => {
      const [res] = parseResponses(await rawRequest(port, Buffer.from('GET /x HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n')));
      assert.equal(res?.status, 400);
      const [big] = parseResponses(await rawRequest(port, Buffer.from(`GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`)));
      assert.equal(big?.status, 431);
      await server.waitForLog(/invalid HTTP request size \(max 4096\)\.\.\.skip \(431: request head larger\)/);
      const [long] = parseResponses(await rawRequest(port, Buffer.from(`GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`)));
      assert.equal(long?.status, 414);
      await server.waitForLog(/invalid HTTP request size \(max 4096\)\.\.\.skip \(414: request line alone longer\)/);
      assert.equal((await request(port, { path: '/still-fine' })).status, 200);
    });

    test('a client that closes in the middle of a body: nothing reaches the app, one line says so (uWSGI: [uwsgi-body-read] ... Client closed connection)', async () => {
      const sized = await rawExchange(port, 'POST /cut-sized HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-twenty-bytes-xx', { endAfterSend: true, timeoutMs: 5000 });
      assert.equal(sized.outcome, 'closed');
      assert.equal(sized.data.length, 0); // no response to a request that never arrived whole
      await server.waitForLog(/client closed the connection before the end of the request body: POST \/cut-sized \(20 of 100 bytes received\), not passed to the app/);
      await rawExchange(port, 'POST /cut-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { endAfterSend: true, timeoutMs: 5000 });
      await server.waitForLog(/client closed the connection before the end of the request body: POST \/cut-chunked \(5 bytes of a chunked body received\)/);
      assert.doesNotMatch(server.logs(), /POST \/cut-(sized|chunked) =>/); // no access line: the app never ran
    });

    test('request log lines in uWSGI format', async () => {
      await request(port, { path: '/logged?q=1' });
      await server.waitForLog(/\[pid: \d+\|app: 0\|req: \d+\/\d+\] 127\.0\.0\.1 \(\) \{\d+ vars in \d+ bytes\} \[.{24}\] GET \/logged\?q=1 => generated 22 bytes in \d+ msecs \(HTTP\/1\.1 200\) 2 headers in \d+ bytes \(1 switches on core 0\)/);
    });
  });
}
