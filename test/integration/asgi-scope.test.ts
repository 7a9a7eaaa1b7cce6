// The ASGI HTTP scope against an oracle (docs/asgi.md, "The HTTP scope"): the
// same raw requests go to nuwsgi's HTTP socket and to Debian's uvicorn
// (httptools, uvloop) running the same tiny app, and the scopes must match:
// repeated headers as separate pairs in the client's order, names lowercased,
// values as received (latin-1 bytes too), raw_path with %2F, query strings.
// Behind nginx's uwsgi_pass only the CGI variables exist: the headers are what
// nginx sends.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import tls from 'node:tls';
import { join } from 'node:path';
import { parseResponse, rawRequest } from '../helpers/http';
import { until } from '../helpers/load';
import { nginxSkipReason, startNginx } from '../helpers/nginx';
import { startNuwsgi, repoRoot } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { selfSignedCert } from '../helpers/tls';

const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');

const uvicornSkip = skipReason({
  debPackages: ['python3-uvicorn', 'python3-httptools', 'python3-uvloop'],
  python: { interpreter: '/usr/bin/python3', modules: ['uvicorn', 'httptools', 'uvloop'] },
});

interface ScopeView {
  http_version: string;
  method: string;
  scheme: string;
  path: string;
  root_path: string;
  raw_path: string;
  query_string: string;
  headers: Array<[string, string]>;
  client: [string, number] | null;
  server: [string, number] | null;
  types: Record<string, string>;
  header_types: string[];
}

/** One raw request (latin-1: one char per byte), answered with the app's view of its scope. */
async function scopeOf(port: number, raw: string): Promise<ScopeView> {
  const data = await rawRequest(port, raw);
  const res = parseResponse(data, true);
  assert.ok(res !== undefined, data.toString('latin1'));
  assert.equal(res.response.status, 200, data.toString('latin1'));
  return JSON.parse(res.response.body.toString()) as ScopeView;
}

/** Debian's uvicorn serving `app` on a port it picked (test/fixtures/asgi/uvicorn_oracle.py). */
async function startUvicorn(app: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['uvicorn_oracle.py', app], { cwd: fixtures(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
  };
  try {
    await until(() => /port \d+/.test(out) || exited, 20_000, `uvicorn to pick a port (${out})`);
    assert.ok(!exited, `uvicorn exited: ${out}`);
    const port = Number(/port (\d+)/.exec(out)?.[1]);
    // It prints the port before it serves: wait until a request is answered.
    const ready = Date.now() + 20_000;
    for (;;) {
      const answer = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 2000 }).catch(() => Buffer.alloc(0));
      if (answer.toString('latin1').startsWith('HTTP/1.1 200')) break;
      assert.ok(Date.now() < ready && !exited, `uvicorn did not answer: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Requests whose scopes both servers must agree on. */
const REQUESTS: Record<string, string> = {
  'repeated headers, cookies, latin-1 bytes, %2F in the path':
    'GET /a%2Fb/caf%C3%A9/x?q=1&r=%2F&s=a+b&t=%C3%A9 HTTP/1.1\r\n' +
    'Host: example.com\r\nX-A: one\r\nCookie: a=1\r\nx-a: two\r\nCookie: b=2\r\n' +
    'X-Latin: caf\xe9 \xff\xa0end\r\nUser-Agent: oracle/1\r\nX-Empty:\r\nACCEPT: */*\r\nConnection: close\r\n\r\n',
  'a POST with a body, an underscore in a name, a trailing empty query':
    'POST /items/? HTTP/1.1\r\nHost: h:81\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX_Under: u\r\nConnection: close\r\n\r\n{}',
  'HTTP/1.0, no Host, a query without "="': 'GET /plain?flag HTTP/1.0\r\nX-A: 1\r\n\r\n',
  'a path that is not valid UTF-8 once decoded': 'GET /bad%FFpath/%C3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  'an encoded space and an encoded question mark': 'GET /a%20b%3Fc?x=%3F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
};

describe('the ASGI HTTP scope, compared with uvicorn', { skip: uvicornSkip ?? false }, () => {
  test('the same raw requests give the same scope on nuwsgi\'s HTTP socket and under uvicorn', async () => {
    const nuwsgi = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--asgi', 'scope_echo:app', '--processes', '1'], { readyPath: '/' });
    const uvicorn = await startUvicorn('scope_echo:app');
    try {
      const ports = { nuwsgi: nuwsgi.httpPort as number, uvicorn: uvicorn.port };
      for (const [what, raw] of Object.entries(REQUESTS)) {
        const ours = await scopeOf(ports.nuwsgi, raw);
        const theirs = await scopeOf(ports.uvicorn, raw);
        // Each server's own port; everything else byte for byte.
        assert.deepEqual(ours.server, ['127.0.0.1', ports.nuwsgi], what);
        assert.deepEqual(theirs.server, ['127.0.0.1', ports.uvicorn], what);
        assert.equal(ours.client?.[0], '127.0.0.1', what);
        assert.equal(typeof ours.client?.[1], 'number', what);
        const comparable = (s: ScopeView): Omit<ScopeView, 'server' | 'client'> & { client: string | undefined } => {
          const { server: _server, client, ...rest } = s;
          return { ...rest, client: client?.[0] };
        };
        assert.deepEqual(comparable(ours), comparable(theirs), what);
      }
      // What the comparison covered, stated plainly.
      const first = await scopeOf(ports.nuwsgi, REQUESTS['repeated headers, cookies, latin-1 bytes, %2F in the path'] as string);
      assert.deepEqual(first.headers, [
        ['host', 'example.com'], ['x-a', 'one'], ['cookie', 'a=1'], ['x-a', 'two'], ['cookie', 'b=2'],
        ['x-latin', 'caf\xe9 \xff\xa0end'], ['user-agent', 'oracle/1'], ['x-empty', ''], ['accept', '*/*'], ['connection', 'close'],
      ]);
      assert.equal(first.path, '/a/b/café/x');
      assert.equal(first.raw_path, '/a%2Fb/caf%C3%A9/x');
      assert.equal(first.query_string, 'q=1&r=%2F&s=a+b&t=%C3%A9');
      assert.deepEqual(first.header_types, ['bytes', 'list', 'tuple']);
    } finally {
      await uvicorn.stop();
      await nuwsgi.stop();
    }
  });
});

describe('the ASGI HTTP scope on an HTTPS socket', () => {
  test('repeated headers arrive as separate pairs in order, scheme https, server the local address', async () => {
    const dir = makeTempDir();
    try {
      const { cert, key } = selfSignedCert(dir);
      const server = await startNuwsgi(['--https-socket', `127.0.0.1:0,${cert},${key}`, '--chdir', fixtures(), '--asgi', 'scope_echo:app', '--processes', '1'], { waitReady: false });
      try {
        await server.waitForLog(/ASGI app 0 .* ready/, 30_000);
        const port = server.ports[0] as number;
        const raw = 'GET /s%2Fx?a=%2F HTTP/1.1\r\nHost: localhost\r\nX-A: one\r\nCookie: a=1\r\nX-A: two\r\nCookie: b=2\r\nConnection: close\r\n\r\n';
        const data = await new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => sock.write(Buffer.from(raw, 'latin1')));
          sock.on('data', (d: Buffer) => chunks.push(d));
          sock.on('end', () => resolve(Buffer.concat(chunks)));
          sock.on('error', reject);
        });
        const res = parseResponse(data, true);
        assert.ok(res !== undefined && res.response.status === 200, data.toString('latin1'));
        const scope = JSON.parse(res.response.body.toString()) as ScopeView;
        assert.equal(scope.scheme, 'https');
        assert.deepEqual(scope.headers, [['host', 'localhost'], ['x-a', 'one'], ['cookie', 'a=1'], ['x-a', 'two'], ['cookie', 'b=2'], ['connection', 'close']]);
        assert.equal(scope.raw_path, '/s%2Fx');
        assert.equal(scope.path, '/s/x');
        assert.equal(scope.query_string, 'a=%2F');
        assert.deepEqual(scope.server, ['127.0.0.1', port]);
      } finally {
        await server.stop();
      }
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('the ASGI HTTP scope behind nginx uwsgi_pass', { skip: nginxSkipReason() ?? false }, () => {
  test('headers come from the CGI variables nginx sends: each variable one pair, in nginx\'s order', async () => {
    const dir = makeTempDir('asgi-scope-nginx');
    const sock = join(dir, 'app.sock');
    const server = await startNuwsgi(['--socket', sock, '--chdir', fixtures(), '--asgi', 'scope_echo:app', '--processes', '1']);
    try {
      const nginx = await startNginx({ servers: [{ locations: [{ path: '/', uwsgiPass: `unix:${sock}` }] }] });
      try {
        const scope = await scopeOf(nginx.port, REQUESTS['repeated headers, cookies, latin-1 bytes, %2F in the path'] as string);
        assert.equal(scope.raw_path, '/a%2Fb/caf%C3%A9/x');
        assert.equal(scope.path, '/a/b/café/x');
        assert.equal(scope.query_string, 'q=1&r=%2F&s=a+b&t=%C3%A9');
        assert.equal(scope.root_path, '');
        assert.equal(scope.http_version, '1.1');
        const named = (name: string): string[] => scope.headers.filter(([n]) => n === name).map(([, v]) => v);
        // nginx 1.22 (Debian 12) sends each field as its own variable; 1.23 and later join repeated
        // ones (", ", cookies "; "). Either way nothing is lost (the environ's dict kept the last one only).
        assert.ok(['one,two', 'one, two'].includes(named('x-a').join(',')), JSON.stringify(scope.headers));
        assert.ok(['a=1,b=2', 'a=1; b=2'].includes(named('cookie').join(',')), JSON.stringify(scope.headers));
        assert.deepEqual(named('x-latin'), ['caf\xe9 \xff\xa0end']);
        assert.deepEqual(named('user-agent'), ['oracle/1']);
        assert.ok(scope.headers.every(([n]) => n === n.toLowerCase() && !n.includes('_')), JSON.stringify(scope.headers));
        assert.deepEqual(scope.header_types, ['bytes', 'list', 'tuple']);
      } finally {
        await nginx.stop();
      }
    } finally {
      await server.stop();
      removeTempDir(dir);
    }
  });
});
