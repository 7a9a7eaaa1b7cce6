// Issue 10: an app that breaks the WSGI contract gets a 500 and ONE log line
// naming its mistake and the request, never a traceback through our loader.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rawRequest, request } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';

const MISTAKES = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'mistakes.py');

/** The lines one request's mistake produced: everything logged between two request lines. */
function linesAbout(server: ServerProcess, path: string): string[] {
  return server
    .logs()
    .split('\n')
    .filter((line) => line.includes(` ${path}`) || line.includes(`${path}:`));
}

describe('app mistakes are named in one log line', () => {
  let server: ServerProcess;
  let port: number;

  before(async () => {
    server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', MISTAKES()]);
    port = server.httpPort as number;
  });
  after(async () => {
    const stopped = await server.stop();
    assert.deepEqual(stopped.orphans, []);
    // Whatever the app did wrong, no traceback ever ran through the loader.
    assert.doesNotMatch(server.logs(), /_nuwsgi(_mistakes)?\.py/);
    assert.doesNotMatch(server.logs(), /Traceback/);
  });

  const cases: Array<[string, string]> = [
    ['/str', 'WSGI app error on GET /str: the app returned a str as the response body, not an iterable of bytes: WSGI bodies must be bytes (return [body.encode()])'],
    ['/list-str', 'WSGI app error on GET /list-str: item 1 of the response body is a str, not bytes: WSGI bodies must be bytes'],
    ['/no-start-response', 'WSGI app error on GET /no-start-response: the app returned without calling start_response()'],
    ['/none', "WSGI app error on GET /none: the app returned None, not an iterable of bytes (a list such as [b'body'])"],
  ];
  for (const [path, line] of cases) {
    test(`${path}: a 500 and exactly "${line.slice(0, 60)}..."`, async () => {
      const res = await request(port, { path });
      assert.equal(res.status, 500);
      assert.equal(res.body.toString(), 'Internal Server Error\n');
      await server.waitForLog(/GET .* => generated .*\(HTTP\/1\.1 500\)/);
      await server.waitForLog(new RegExp(`${path} => generated`));
      assert.deepEqual(linesAbout(server, path).filter((l) => !l.startsWith('[pid')), [line]);
    });
  }

  test('a bad status names the line of the app that passed it', async () => {
    const res = await request(port, { path: '/bad-status?q=1' });
    assert.equal(res.status, 500);
    const line = await server.waitForLog(/on GET \/bad-status\?q=1:/);
    assert.equal(
      line,
      `WSGI app error on GET /bad-status?q=1: start_response() got an invalid status 'OK' (a code and a reason, such as '200 OK') (at ${MISTAKES()} line 38, in bad_status)`,
    );
  });

  test('a str yielded after the headers: the connection closes, one line says so', async () => {
    const data = (await rawRequest(port, Buffer.from('GET /yield-str-late HTTP/1.1\r\nHost: x\r\n\r\n'))).toString('latin1');
    assert.match(data, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(data, /first chunk/);
    assert.ok(!data.endsWith('0\r\n\r\n'), 'no last chunk: the client can tell the body is incomplete');
    const line = await server.waitForLog(/on GET \/yield-str-late:/);
    assert.equal(
      line,
      'WSGI app error on GET /yield-str-late: item 1 of the response body is a str, not bytes: WSGI bodies must be bytes [the headers were already sent: connection closed]',
    );
  });

  test('a bare bytes object is sent as the body, as uWSGI does', async () => {
    const res = await request(port, { path: '/bytes' });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'bare bytes');
  });
});
