// Issue 4's proof: nuwsgi behind Debian's real nginx, as deployed.
//
// nginx runs on loopback ports with a config written into a temp dir, in
// front of nuwsgi on a unix socket (uwsgi_pass with the stock uwsgi_params),
// on a TCP uwsgi socket, and via proxy_pass to --http-socket. Through nginx:
// GET with query strings and non-ASCII paths, a 10 MB POST, a chunked upload
// (nginx de-chunks), a streamed 100 MB response, a Flask app under a
// SCRIPT_NAME mount; and HTTPS to nuwsgi directly. Every byte is checked:
// bodies byte for byte, streams against a regenerated copy, environs against
// Debian's uWSGI behind the same nginx (the oracle), where uWSGI is installed.
// Every test stops what it started (after() hooks; the helpers' registries
// catch the rest).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { request } from '../helpers/http';
import { nginxSkipReason, startNginx, type NginxInstance, type NginxLocation } from '../helpers/nginx';
import { getFreePort } from '../helpers/ports';
import { ServerProcess, repoRoot, startNuwsgi, startUwsgi } from '../helpers/server';
import { pythonHasModules, uwsgiSkipReason, which } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'e2e');
const APP = join(FIXTURES, 'app.py');
const FLASK_APP = join(FIXTURES, 'flask_mount.py');

const nginxSkip = nginxSkipReason() ?? false;
/** Without uWSGI the environ comparisons are skipped; the absolute checks still run. */
const haveOracle = uwsgiSkipReason() === undefined;
const flaskSkip = pythonHasModules('python3', ['flask']) ? false : 'flask is not importable by python3 on PATH (pip install flask)';

const MB = 1024 * 1024;
const SLOW = { timeout: 180_000 };

// ---------------------------------------------------------------------------
// HTTP through nginx with node:http (streams; bodies of any size)

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface ExchangeOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Written one by one (each flushed): with no Content-Length node sends them as chunks. */
  pieces?: Buffer[];
  body?: Buffer;
}

function exchange(port: number, opts: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['Content-Length'] = String(opts.body.length);
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    void writeBody(req, opts).catch(reject);
  });
}

async function writeBody(req: http.ClientRequest, opts: ExchangeOptions): Promise<void> {
  if (opts.body !== undefined) req.write(opts.body);
  for (const piece of opts.pieces ?? []) {
    await new Promise<void>((resolve, reject) => req.write(piece, (err) => (err ? reject(err) : resolve())));
  }
  req.end();
}

interface StreamResult {
  status: number;
  headers: IncomingHttpHeaders;
  length: number;
  sha256: string;
}

/** GETs a (large) response and hashes it as it arrives: nothing is kept in memory. */
function hashedGet(port: number, path: string): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (d: Buffer) => {
        hash.update(d);
        length += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, length, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------
// What the fixture app sends (test/fixtures/e2e/app.py), regenerated here

const PATTERN = Buffer.alloc(1 << 20);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = (i * 31 + 7) % 251;

/** sha256 of app.py's /stream?n=total&chunk=chunk: chunk k = 8-byte BE k + pattern, the last one truncated. */
function expectedStreamSha(total: number, chunk: number): string {
  const hash = createHash('sha256');
  const head = Buffer.alloc(8);
  for (let sent = 0, k = 0; sent < total; k++) {
    const size = Math.min(chunk, total - sent);
    head.writeBigUInt64BE(BigInt(k));
    const whole = Buffer.concat([head, PATTERN.subarray(0, Math.max(0, chunk - 8))]);
    hash.update(whole.subarray(0, size));
    sent += size;
  }
  return hash.digest('hex');
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---------------------------------------------------------------------------
// Environ checks

type Environ = Record<string, string>;

async function environThrough(port: number, target: string): Promise<Environ> {
  // The raw client: node:http refuses non-ASCII bytes in a path, nginx does not.
  const res = await request(port, { path: target, headers: { 'User-Agent': 'nuwsgi-e2e', 'X-Custom': 'v1' } });
  assert.equal(res.status, 200, `GET ${target}: ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as Environ;
}

/** A UTF-8 string as the latin-1 "bytes as str" WSGI (PEP 3333) puts in environ, and as raw request-line bytes. */
function wsgiStr(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Request targets sent through nginx; `path` is the PATH_INFO every transport must produce. */
const TARGETS: Array<{ target: string; path?: string; query?: string }> = [
  { target: '/env/plain?a=1&b=2', path: '/env/plain', query: 'a=1&b=2' },
  { target: '/env/caf%C3%A9/%E2%9C%93?q=caf%C3%A9&sp=a+b%20c&empty=&k=1&k=2', path: wsgiStr('/env/café/✓'), query: 'q=caf%C3%A9&sp=a+b%20c&empty=&k=1&k=2' },
  { target: wsgiStr('/env/café-raw?x=ü'), path: wsgiStr('/env/café-raw'), query: wsgiStr('x=ü') },
  { target: '/env/', path: '/env/', query: '' },
  // Where nginx (uwsgi_pass: $document_uri) and the HTTP path (raw URI) differ, only the oracle decides.
  { target: '/env/a%2Fb%20c' },
  { target: '/env/semi;colon?%00=%FF' },
];

/** Differ between any two servers or nginx server blocks by design. */
const VOLATILE = new Set(['SERVER_PORT', 'REMOTE_PORT']);

interface EnvironComparison {
  /** Real disagreements: each fails the test. */
  diffs: string[];
  /** A key present on one side only with value '' (PEP 3333 lets empty variables be omitted). */
  notes: string[];
}

/**
 * The CGI variables (upper-case keys) and url scheme both servers produced
 * must agree, except `deliberate` ones (documented nuwsgi choices).
 */
function compareEnvirons(ours: Environ, oracle: Environ, what: string, deliberate: ReadonlySet<string>, into: EnvironComparison): void {
  const keys = new Set([...Object.keys(ours), ...Object.keys(oracle)].filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k) && !VOLATILE.has(k) && !deliberate.has(k)));
  keys.add('wsgi.url_scheme');
  for (const key of [...keys].sort()) {
    const a = ours[key];
    const b = oracle[key];
    if (a === b) continue;
    const shown = (v: string | undefined): string => (v === undefined ? 'absent' : JSON.stringify(v));
    const line = `${what}: ${key} is ${shown(a)} in nuwsgi, ${shown(b)} in uWSGI`;
    if ((a === undefined && b === '') || (a === '' && b === undefined)) into.notes.push(line);
    else into.diffs.push(line);
  }
}

// ---------------------------------------------------------------------------
// The three ways nginx reaches a backend

interface Transport {
  name: string;
  /** Set where nuwsgi and uWSGI are known to disagree on dot segments and no decision was made yet. */
  /** Environ keys where nuwsgi differs from uWSGI on purpose (see the comment at each). */
  deliberate: ReadonlySet<string>;
  /** Server arguments for the socket, given a temp dir. */
  socketArgs(dir: string): string[];
  /** The nginx location for a started server. */
  location(server: ServerProcess, dir: string): NginxLocation;
}

const TRANSPORTS: Transport[] = [
  {
    name: 'unix socket, uwsgi_pass',
    deliberate: new Set(),
    socketArgs: (dir) => ['--socket', join(dir, 'app.sock')],
    location: (_s, dir) => ({ path: '/', uwsgiPass: `unix:${join(dir, 'app.sock')}` }),
  },
  {
    name: 'TCP socket, uwsgi_pass',
    deliberate: new Set(),
    socketArgs: () => ['--socket', '127.0.0.1:0'],
    location: (s) => ({ path: '/', uwsgiPass: `127.0.0.1:${definedPort(s.uwsgiPort, s)}` }),
  },
  {
    name: '--http-socket, proxy_pass',
    deliberate: new Set(),
    // proxy_pass without a URI forwards the client's target unchanged; uWSGI's http-socket then
    // removes "." and ".." segments from PATH_INFO (observed), nuwsgi keeps them.
    socketArgs: () => ['--http-socket', '127.0.0.1:0'],
    location: (s) => ({ path: '/', proxyPass: `http://127.0.0.1:${definedPort(s.httpPort, s)}` }),
  },
];

function definedPort(port: number | undefined, s: ServerProcess): number {
  if (port === undefined) throw new Error(`${s.name}: no TCP port in its log:\n${s.logs().slice(-2000)}`);
  return port;
}

/** Stops everything in reverse order of start, even when a start failed half-way. */
class Stack {
  private readonly stops: Array<() => Promise<unknown>> = [];
  push(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }
  async stopAll(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop().catch(() => undefined);
  }
}

for (const transport of TRANSPORTS) {
  describe(`nginx → nuwsgi (${transport.name})`, { skip: nginxSkip }, () => {
    const started = new Stack();
    let nginx: NginxInstance;
    /** Index in nginx.ports of the block that reaches uWSGI, when the oracle runs. */
    let oraclePort: number | undefined;
    before(async () => {
      const dir = makeTempDir('nuwsgi-e2e-');
      const nuwsgi = await startNuwsgi([...transport.socketArgs(dir), '--wsgi-file', APP, '--master', '--processes', '2'], { readyPath: '/env/' });
      started.push(() => nuwsgi.stop());
      const servers = [{ locations: [transport.location(nuwsgi, dir)] }];
      if (haveOracle) {
        const odir = makeTempDir('nuwsgi-e2e-oracle-');
        const uwsgi = await startUwsgi([...transport.socketArgs(odir), '--wsgi-file', APP, '--master', '--processes', '2'], { readyPath: '/env/' });
        started.push(() => uwsgi.stop());
        servers.push({ locations: [transport.location(uwsgi, odir)] });
      }
      // One nginx for both, so that nginx-side values (DOCUMENT_ROOT...) are identical.
      nginx = await startNginx({ servers });
      started.push(() => nginx.stop());
      oraclePort = haveOracle ? nginx.ports[1] : undefined;
    });

    after(async () => {
      await started.stopAll();
    });

    test('GET with query strings and non-ASCII paths: the environ matches uWSGI\'s behind the same nginx', async (t) => {
      const cmp: EnvironComparison = { diffs: [], notes: [] };
      for (const { target, path, query } of TARGETS) {
        const env = await environThrough(nginx.port, target);
        if (path !== undefined) assert.equal(env['PATH_INFO'], path, `PATH_INFO for ${target}`);
        if (query !== undefined) assert.equal(env['QUERY_STRING'], query, `QUERY_STRING for ${target}`);
        if (path !== undefined) assert.equal(env['REQUEST_URI'], target, `REQUEST_URI for ${target}`);
        assert.equal(env['REQUEST_METHOD'], 'GET');
        assert.equal(env['HTTP_X_CUSTOM'], 'v1');
        assert.equal(env['wsgi.url_scheme'], 'http');
        if (oraclePort !== undefined) compareEnvirons(env, await environThrough(oraclePort, target), JSON.stringify(target), transport.deliberate, cmp);
      }
      if (oraclePort === undefined) t.diagnostic('uWSGI not installed: environs not compared with the oracle');
      for (const n of cmp.notes) t.diagnostic(n);
      assert.deepEqual(cmp.diffs, [], `nuwsgi and uWSGI disagree behind the same nginx:\n${cmp.diffs.join('\n')}`);
    });

    test('dot segments and doubled slashes in the path: as uWSGI behind the same nginx', { skip: haveOracle ? false : 'uWSGI not installed' }, async () => {
      // Through uwsgi_pass nginx sends $document_uri (already normalized); through proxy_pass the raw target.
      const cmp: EnvironComparison = { diffs: [], notes: [] };
      for (const target of ['/env//double//slash/./x/../y', '/env/a/%2e%2e/b/./c/..']) {
        const env = await environThrough(nginx.port, target);
        compareEnvirons(env, await environThrough(oraclePort ?? 0, target), JSON.stringify(target), transport.deliberate, cmp);
      }
      assert.deepEqual(cmp.diffs, [], `nuwsgi and uWSGI disagree behind the same nginx:\n${cmp.diffs.join('\n')}`);
    });

    test('POST of 10 MB arrives byte for byte', SLOW, async () => {
      const body = randomBytes(10 * MB);
      const res = await exchange(nginx.port, { method: 'POST', path: '/echo', body, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(res.status, 200, nginx.logs());
      assert.equal(res.headers['x-env-content-length'], String(body.length));
      assert.equal(res.headers['x-body-length'], String(body.length));
      assert.equal(res.headers['x-body-sha256'], sha256(body), 'what the app read');
      assert.equal(res.body.length, body.length);
      assert.ok(res.body.equals(body), 'what came back');
    });

    test('chunked upload: nginx de-chunks, the app reads every byte with a Content-Length', SLOW, async () => {
      const sizes = [1, 7, 8192, 65_536, 100_003, 1 << 20, 3, 2 * MB + 17];
      const pieces = sizes.map((n) => randomBytes(n));
      const whole = Buffer.concat(pieces);
      const res = await exchange(nginx.port, { method: 'POST', path: '/echo', pieces, headers: { 'Transfer-Encoding': 'chunked' } });
      assert.equal(res.status, 200, nginx.logs());
      assert.equal(res.headers['x-env-content-length'], String(whole.length), 'nginx buffers the body and sends its length');
      assert.equal(res.headers['x-body-sha256'], sha256(whole));
      assert.ok(res.body.equals(whole));
      if (transport.name.includes('uwsgi_pass')) {
        // Observed with uWSGI: nginx still forwards the client's header as HTTP_TRANSFER_ENCODING.
        assert.equal(res.headers['x-env-transfer-encoding'], 'chunked');
      }
    });

    test('a streamed 100 MB response (no Content-Length) arrives complete and in order', SLOW, async () => {
      for (const [total, chunk] of [
        [100 * MB, 65_536],
        [3 * MB + 12_345, 1_000],
      ] as const) {
        const res = await hashedGet(nginx.port, `/stream?n=${total}&chunk=${chunk}`);
        assert.equal(res.status, 200, nginx.logs());
        assert.equal(res.headers['x-total'], String(total));
        assert.equal(res.length, total, `bytes received for n=${total}`);
        assert.equal(res.sha256, expectedStreamSha(total, chunk), `content for n=${total} chunk=${chunk}`);
      }
      assert.doesNotMatch(nginx.errorLog(), /upstream prematurely closed|upstream sent invalid/);
    });

    test('nginx logged no error about the backend', () => {
      // [warn] lines such as "buffered to a temporary file" are expected for the large bodies.
      const bad = nginx.errorLog().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
      assert.deepEqual(bad, []);
    });
  });
}

// ---------------------------------------------------------------------------
// A Flask app under /app

interface Where {
  script_root: string;
  path: string;
  url: string;
  script_name: string | null;
  path_info: string | null;
  args: Record<string, string[]>;
}

const EXPECTED_WHERE: Where = {
  script_root: '/app',
  path: '/where',
  url: '/app/where',
  script_name: '/app',
  path_info: '/where',
  args: { x: ['1'], y: ['é'] },
};

async function checkMountedFlask(port: number): Promise<void> {
  const res = await request(port, { path: '/app/where?x=1&y=%C3%A9' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.text) as Where, EXPECTED_WHERE);
  const body = randomBytes(MB + 5);
  const echo = await exchange(port, { method: 'POST', path: '/app/echo', body });
  assert.equal(echo.status, 200);
  assert.ok(echo.body.equals(body));
  // Outside the mount nginx has no location: its own 404, the app is not asked.
  assert.equal((await request(port, { path: '/elsewhere' })).status, 404);
}

describe('nginx → nuwsgi: a Flask app mounted at /app', { skip: nginxSkip || flaskSkip }, () => {
  const started = new Stack();
  after(() => started.stopAll());

  /** The old-style nginx mount: SCRIPT_NAME from nginx, modifier1 30 strips it from PATH_INFO. */
  const legacyMount = (sock: string): NginxLocation => ({
    path: '/app',
    uwsgiPass: `unix:${sock}`,
    extra: ['uwsgi_param SCRIPT_NAME /app;', 'uwsgi_modifier1 30;'],
  });

  // Observed: Debian's uWSGI 2.0.21 with Python 3 does NOT strip SCRIPT_NAME for
  // modifier1 30 (its check is PyString_Check, i.e. PyBytes_Check on Python 3,
  // and environ values are str), so Flask sees PATH_INFO /app/where and 404s.
  // nuwsgi does what modifier 30 is documented to do; this test pins the
  // oracle's behaviour so the difference stays a known, deliberate one.
  test('uWSGI 2.0.21 + Python 3 ignores uwsgi_modifier1 30 (oracle; nuwsgi deliberately strips)', { skip: haveOracle ? false : 'uWSGI not installed' }, async () => {
    const sock = join(makeTempDir('nuwsgi-e2e-flask-'), 'uwsgi.sock');
    const uwsgi = await startUwsgi(['--socket', sock, '--wsgi-file', APP, '--master', '--processes', '1'], { readyPath: '/env/' });
    started.push(() => uwsgi.stop());
    const nginx = await startNginx({ servers: [{ locations: [legacyMount(sock)] }] });
    started.push(() => nginx.stop());
    const res = await request(nginx.port, { path: '/app/env/x?y=1' });
    assert.equal(res.status, 404, 'the fixture app routes on the first PATH_INFO segment: "app" is no route');
    assert.match(res.text, /no route for '\/app\/env\/x'/);
  });

  test('uwsgi_param SCRIPT_NAME /app + uwsgi_modifier1 30 on nuwsgi', async () => {
    const sock = join(makeTempDir('nuwsgi-e2e-flask-'), 'app.sock');
    const nuwsgi = await startNuwsgi(['--socket', sock, '--wsgi-file', FLASK_APP, '--master', '--processes', '2'], { readyPath: '/where' });
    started.push(() => nuwsgi.stop());
    const nginx = await startNginx({ servers: [{ locations: [legacyMount(sock)] }] });
    started.push(() => nginx.stop());
    await checkMountedFlask(nginx.port);
  });

  test('--mount /app=flask_mount.py --manage-script-name, plain uwsgi_pass', {}, async () => {
    const sock = join(makeTempDir('nuwsgi-e2e-flask-'), 'app.sock');
    const nuwsgi = await startNuwsgi(['--socket', sock, '--mount', `/app=${FLASK_APP}`, '--manage-script-name', '--master', '--processes', '2'], {
      readyPath: '/app/where',
    });
    started.push(() => nuwsgi.stop());
    const nginx = await startNginx({ servers: [{ locations: [{ path: '/app', uwsgiPass: `unix:${sock}` }] }] });
    started.push(() => nginx.stop());
    await checkMountedFlask(nginx.port);
  });
});

// ---------------------------------------------------------------------------
// HTTPS straight to nuwsgi

interface Cert {
  cert: string;
  key: string;
  pem: string;
}

function selfSignedCert(dir: string): Cert {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

interface HttpsResult extends Exchange {
  fingerprint: string;
}

/** One HTTPS request that verifies the server against our own cert (no verification bypass). */
function httpsRequest(port: number, ca: string, opts: ExchangeOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.body !== undefined ? { 'Content-Length': String(opts.body.length) } : {};
    const req = https.request({ host: '127.0.0.1', servername: 'localhost', port, ca, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Polls until nuwsgi answers over TLS; its HTTPS log line is not parsed (port chosen here). */
async function waitHttps(server: ServerProcess, port: number, ca: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < deadline) {
    if (server.exit !== undefined) throw new Error(`nuwsgi exited (${JSON.stringify(server.exit)}):\n${server.logs().slice(-3000)}`);
    try {
      await httpsRequest(port, ca, { path: '/env/' });
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await server.waitForActivity(100);
  }
  throw new Error(`nuwsgi never answered HTTPS on ${port}: ${last}\n${server.logs().slice(-3000)}`);
}

describe('HTTPS straight to nuwsgi', { skip: which('openssl') === undefined ? 'openssl not installed' : false }, () => {
  const started = new Stack();
  after(() => started.stopAll());

  // --https is what the issue names (uWSGI's router form); --https-socket is the
  // in-worker form. This test's client side was checked against uWSGI's --https-socket.
  for (const flag of ['--https', '--https-socket']) {
    test(`${flag} addr,cert,key: GET, a 2 MB POST and a 20 MB stream over TLS, certificate verified`, { ...SLOW }, async () => {
      const cert = selfSignedCert(makeTempDir('nuwsgi-e2e-tls-'));
      const port = await getFreePort();
      const nuwsgi = await startNuwsgi([flag, `127.0.0.1:${port},${cert.cert},${cert.key}`, '--wsgi-file', APP, '--master', '--processes', '2'], {
        waitReady: false,
      });
      started.push(() => nuwsgi.stop());
      await waitHttps(nuwsgi, port, cert.pem, 30_000);

      const res = await httpsRequest(port, cert.pem, { path: '/env/tls?q=1' });
      assert.equal(res.status, 200);
      assert.equal(res.fingerprint, new X509Certificate(cert.pem).fingerprint256, 'served our certificate');
      const env = JSON.parse(res.body.toString()) as Environ;
      assert.equal(env['wsgi.url_scheme'], 'https');
      assert.equal(env['PATH_INFO'], '/env/tls');
      assert.equal(env['QUERY_STRING'], 'q=1');

      const body = randomBytes(2 * MB);
      const echo = await httpsRequest(port, cert.pem, { method: 'POST', path: '/echo', body });
      assert.equal(echo.status, 200);
      assert.equal(echo.headers['x-body-sha256'], sha256(body));
      assert.ok(echo.body.equals(body));

      const big = 20 * MB;
      const stream = await httpsRequest(port, cert.pem, { path: `/stream?n=${big}&chunk=65536` });
      assert.equal(stream.body.length, big);
      assert.equal(sha256(stream.body), expectedStreamSha(big, 65_536));
    });
  }
});
