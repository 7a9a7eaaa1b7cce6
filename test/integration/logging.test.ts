/**
 * Request lines and the other log lines, with real servers: --log-format
 * against Debian's uWSGI 2.0.21 for the same requests, --logformat-json,
 * --disable-logging with --log-5xx, --log-date on the master's lines.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, waitHttp } from '../helpers/http';
import { startNuwsgi, startUwsgi, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const APP = `
def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/fail":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"failed"]
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"nope"]
    body = b"hello log"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("X-Extra", "yes")])
    return [body]
`;

function writeApp(): string {
  const file = join(makeTempDir('nuwsgi-logging-'), 'app.py');
  writeFileSync(file, APP);
  return file;
}

/** The request every server gets: a body, a quote in the User-Agent, a referer, a custom header. */
async function sendRequests(port: number): Promise<void> {
  // No "Connection: close": nuwsgi would answer it with a Connection header uWSGI's http-socket does not send (hsize).
  const headers = { 'User-Agent': 'Mozilla "q"', Referer: 'http://ref/x', 'X-Request-Id': 'abc-1' };
  assert.equal((await request(port, { method: 'POST', path: '/p/a?q=1', headers, body: 'abc' })).status, 200);
  assert.equal((await request(port, { path: '/fail', headers: { 'User-Agent': 'curl/7.88.1' } })).status, 500);
}


/** The harness's readiness probes ask for this path: their lines are left out. */
const READY = { readyPath: '/ready' };

/** Lines starting with `marker` (readiness probes left out), once `count` of them are there. */
async function requestLines(server: ServerProcess, marker: string, count: number): Promise<string[]> {
  const find = (): string[] | undefined => {
    const lines = server.logs().split('\n').filter((l) => l.startsWith(marker) && !l.includes('/ready'));
    return lines.length >= count ? lines : undefined;
  };
  return server.waitUntil(find, Date.now() + 10_000, `${count} request line(s)`, () => server.exit !== undefined);
}

describe('request lines', () => {
  test('--log-format: the same line as uWSGI 2.0.21 for the same requests', async () => {
    const app = writeApp();
    // Every deterministic variable (the time ones are checked for shape below). %(vars) and %(pktsize)
    // are left out: nuwsgi's http-socket adds REMOTE_PORT, which uWSGI's does not.
    const format =
      'LF %(addr) %(user) "%(method) %(uri) %(proto)" %(status) %(size) %(rsize) %(hsize) %(headers) "%(referer)" "%(uagent)" ' +
      '%(host) %(var.HTTP_X_REQUEST_ID) %(var.NOPE) %(cl) %(wid) %(core) %(switches) %(modifier1) %(rerr) %(nothere) %%(uri) ' +
      '[%(ltime)] %(time) %(msecs) %(secs) %(tmsecs) %(epoch)';
    const lines: Record<string, string[]> = {};
    for (const [name, start] of [
      ['uwsgi', startUwsgi],
      ['nuwsgi', startNuwsgi],
    ] as const) {
      const server = await start(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--master', '--processes', '1', '--log-format', format], READY);
      try {
        await sendRequests(server.httpPort as number);
        lines[name] = (await requestLines(server, 'LF ', 2)).map((l) => l.replace(/127\.0\.0\.1:\d+ /, '127.0.0.1:PORT '));
      } finally {
        await server.stop();
      }
    }
    const [uwsgi, nuwsgi] = [lines['uwsgi'] as string[], lines['nuwsgi'] as string[]];
    const fixed = (l: string): string => l.slice(0, l.indexOf(' ['));
    assert.deepEqual(nuwsgi.map(fixed), uwsgi.map(fixed));
    assert.equal(
      fixed(nuwsgi[0] as string),
      'LF 127.0.0.1 - "POST /p/a?q=1 HTTP/1.1" 200 87 9 78 3 "http://ref/x" "Mozilla "q"" 127.0.0.1:PORT abc-1 - 3 1 0 1 0 0 - %/p/a?q=1',
    );
    const timeShape = / \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] \d{10} \d+ \d+\.\d{6} \d{13} \d{10}$/;
    for (const line of [...uwsgi, ...nuwsgi]) assert.match(line, timeShape);
  });

  test('--logformat-json: one JSON object per request line, every key present', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', writeApp(), '--master', '--processes', '1', '--logformat-json'], READY);
    try {
      await sendRequests(server.httpPort as number);
      const [first, second] = (await requestLines(server, '{', 2)).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(Object.keys(first ?? {}), [
        'timestamp', 'tmicros', 'pid', 'wid', 'app', 'app_req', 'req', 'addr', 'user', 'method', 'uri', 'proto', 'status',
        'rsize', 'hsize', 'size', 'headers', 'cl', 'micros', 'msecs', 'host', 'uagent', 'referer', 'vars', 'pktsize',
        'switches', 'core', 'rerr', 'werr', 'via',
      ]);
      assert.equal(first?.['uagent'], 'Mozilla "q"');
      assert.deepEqual([first?.['method'], first?.['uri'], first?.['status'], first?.['rsize'], first?.['cl'], first?.['wid']], ['POST', '/p/a?q=1', 200, 9, 3, 1]);
      assert.deepEqual([second?.['uri'], second?.['status'], second?.['req'], second?.['referer']], ['/fail', 500, Number(first?.['req']) + 1, '']);
      assert.match(String(first?.['timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      await server.stop();
    }
  });

  test('--disable-logging with --log-5xx: only the failed request is logged', async () => {
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', writeApp(), '--master', '--processes', '1', '--disable-logging', '--log-5xx',
    ]);
    try {
      const port = server.httpPort as number;
      for (const path of ['/', '/missing', '/fail']) await request(port, { path });
      // One worker writes its lines in order: once the 500 is there, the others would be too.
      await server.waitForLog(/GET \/fail => generated 6 bytes in \d+ msecs \(HTTP\/1\.1 500\)/);
      assert.equal(server.logs().split('\n').filter((l) => l.startsWith('[pid: ')).length, 1);
    } finally {
      await server.stop();
    }
  });

  test('--log-micros: the duration in microseconds', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', writeApp(), '--master', '--processes', '1', '--log-micros']);
    try {
      await request(server.httpPort as number, { path: '/micro' });
      await server.waitForLog(/GET \/micro => generated 9 bytes in [1-9]\d* micros \(HTTP\/1\.1 200\) 3 headers in 78 bytes \(1 switches on core 0\)/);
    } finally {
      await server.stop();
    }
  });
});

describe('other lines', () => {
  test('--log-date with a strftime format prefixes the master and worker lines, never request lines (as uWSGI)', async () => {
    const dated = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d - /;
    const app = writeApp();
    for (const [name, start] of [
      ['uwsgi', startUwsgi],
      ['nuwsgi', startNuwsgi],
    ] as const) {
      // Dated "socket bound" lines are not what the harness waits for: find the port here.
      const args = ['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--master', '--processes', '1', '--log-date=%Y-%m-%dT%H:%M:%S'];
      const server = await start(args, { waitReady: false });
      try {
        const bound = await server.waitForLog(/socket 0 bound to TCP address 127\.0\.0\.1:\d+/, 30_000);
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(bound)?.[1]);
        await waitHttp(port);
        await request(port, { path: '/dated' });
        const line = await server.waitForLog(/GET \/dated =>/);
        assert.match(line, /^\[pid: \d+\|app: 0\|req: \d+\/\d+\] /, `${name}: request lines are not dated`);
        for (const what of [/spawned \S+ master process/, /spawned \S+ worker 1 /, /WSGI app 0 \(mountpoint=''\) ready/]) {
          assert.match(await server.waitForLog(what), dated, `${name}: ${what}`);
        }
      } finally {
        await server.stop();
      }
    }
  });
});
