// Bugs found by the fuzzer (scripts/fuzz.mjs, docs/fuzzing.md), one test each.
//
// The response side: what an app or a uwsgi peer sends must never make the
// server write a split or malformed response. Checked on the raw bytes, with
// a second request pipelined behind: a split response shows up as the second
// request getting the wrong answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rawRequest } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { encodeUwsgiPacket } from '../../src/protocol/uwsgi';

const APP = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'response_framing.py');
const AFTER = 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const AFTER_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nafter';

async function pipelined(port: number, path: string): Promise<string> {
  const data = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n${AFTER}`, { timeoutMs: 10_000 });
  return data.toString('latin1');
}

/** Every line of every head ends with CRLF: no bare LF or CR anywhere in the heads. */
function assertNoBareLineBreaks(wire: string): void {
  for (const head of wire.split(/\r\n\r\n/)) {
    if (!head.startsWith('HTTP/')) continue;
    assert.doesNotMatch(head.replace(/\r\n/g, ''), /[\r\n]/, `bare CR or LF in ${JSON.stringify(head)}`);
  }
}

describe('the response side cannot be split', () => {
  let server: ServerProcess;
  let port: number;
  let uwsgiPort: number;

  before(async () => {
    server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0', '--wsgi-file', APP()], { readyPath: '/after' });
    port = server.httpPort as number;
    uwsgiPort = server.uwsgiPort as number;
  });
  after(async () => {
    const stopped = await server.stop();
    assert.deepEqual(stopped.orphans, []);
  });

  for (const [path, status] of [['/status-lf', '200 OK\\n'], ['/status-100', '100 Continue'], ['/status-600', '600 Beyond']]) {
    test(`status ${status}: a 500, one line naming it, and the next request still answered`, async () => {
      const wire = await pipelined(port, path!);
      assert.match(wire, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
      assertNoBareLineBreaks(wire);
      // The 500 closes the connection: no second response, and certainly not one read as the first's.
      assert.doesNotMatch(wire, /after/);
      await server.waitForLog(new RegExp(`WSGI app error on GET ${path}: start_response\\(\\) got`));
    });
  }

  test('a header name ending in LF: a 500', async () => {
    const wire = await pipelined(port, '/name-lf');
    assert.match(wire, /^HTTP\/1\.1 500 /);
    assertNoBareLineBreaks(wire);
    await server.waitForLog(/WSGI app error on GET \/name-lf: start_response\(\) got an invalid header name 'X-A\\n'/);
  });

  test('write() then a generator past the Content-Length: cut at the declared length, the next response intact', async () => {
    const wire = await pipelined(port, '/write-gen/2');
    assert.equal(wire, `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nwr${AFTER_RESPONSE}`);
    await server.waitForLog(/Content-Length mismatch on GET \/write-gen\/2: declared 2, generated more/);
  });

  test('write() then a generator past the Content-Length, cut inside a later chunk', async () => {
    const wire = await pipelined(port, '/write-gen/10');
    assert.equal(wire, `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nwritten fi${AFTER_RESPONSE}`);
  });

  test('write() then a generator with the right Content-Length: all of it, keep-alive', async () => {
    const wire = await pipelined(port, '/write-gen/20');
    assert.equal(wire, `HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nwritten first second${AFTER_RESPONSE}`);
  });

  test('uwsgi: a SERVER_PROTOCOL that is no HTTP version does not reach the status line', async () => {
    const vars = { REQUEST_METHOD: 'GET', PATH_INFO: '/after', REQUEST_URI: '/after', QUERY_STRING: '', SERVER_PROTOCOL: 'HTTP/1.1\r\nX-Injected: 1', SERVER_NAME: 'x', SERVER_PORT: '80', REMOTE_ADDR: '127.0.0.1' };
    const wire = (await rawRequest(uwsgiPort, encodeUwsgiPacket(vars), { timeoutMs: 10_000 })).toString('latin1');
    assert.equal(wire, 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nafter');
    const ok = { ...vars, SERVER_PROTOCOL: 'HTTP/1.1' };
    assert.match((await rawRequest(uwsgiPort, encodeUwsgiPacket(ok), { timeoutMs: 10_000 })).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  });

  test('two different Content-Lengths from the app: a 500; the same one twice: sent once', async () => {
    const two = await pipelined(port, '/two-lengths');
    assert.match(two, /^HTTP\/1\.1 500 /);
    assert.equal((two.match(/content-length/gi) ?? []).length, 1, two);
    await server.waitForLog(/WSGI app error on GET \/two-lengths: conflicting Content-Length headers: 5 and 0/);
    const same = await pipelined(port, '/same-length-twice');
    assert.equal(same, `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter${AFTER_RESPONSE}`);
  });

  test('a 204 with a Content-Length from the app: neither the header nor the body goes out (RFC 9110 §8.6), the next request is intact', async () => {
    const wire = await pipelined(port, '/no-content-with-length');
    assert.equal(wire, `HTTP/1.1 204 No Content\r\nX-Kept: 1\r\n\r\n${AFTER_RESPONSE}`);
  });

  test('an iterable whose close() raises: the complete response still goes out, the traceback is logged', async () => {
    const whole = await pipelined(port, '/close-raises/list');
    assert.equal(whole, `HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody${AFTER_RESPONSE}`);
    const stream = await pipelined(port, '/close-raises/stream');
    assert.equal(stream, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbo\r\n2\r\ndy\r\n0\r\n\r\n${AFTER_RESPONSE}`);
    await server.waitForLog(/Traceback for GET \/close-raises\/stream:/);
    await server.waitForLog(/RuntimeError: close\(\) failed after a complete body/);
  });
});
