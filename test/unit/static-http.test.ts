// Static files at the HTTP level: the real HTTP adapter and connection code
// with the static server in front of a stand-in "app" (a 404 saying APP), on
// a temporary directory. No Python needed: what the app would get is visible.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdirSync, renameSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir } from '../helpers/tmp';
import { HttpConnection, SocketReader, openSocket, request, type HttpResponse } from '../helpers/http';
import { until } from '../helpers/load';
import { serveHttpConnection } from '../../src/worker/http-adapter';
import type { Connection, ConnectionHost } from '../../src/worker/connection';
import type { Exchange } from '../../src/worker/exchange';
import { SocketTransport } from '../../src/worker/transport';
import { mapping, type StaticConfig } from '../../src/worker/static/config';
import { StaticServer, type StaticHost } from '../../src/worker/static/server';
import type { LoggedOutcome } from '../../src/worker/access-log';

const dir = makeTempDir('nuwsgi-static-');
const root = join(dir, 'root');
const outside = join(dir, 'outside');
const MTIME = 1_700_000_000;

function file(rel: string, data: string | Buffer): void {
  writeFileSync(join(root, rel), data);
  utimesSync(join(root, rel), MTIME, MTIME);
}

function layout(): void {
  for (const d of [root, outside, join(root, 'css'), join(root, 'withindex'), join(root, 'noindex'), join(root, 'other')]) mkdirSync(d, { recursive: true });
  file('css/site.css', 'body { color: red }\n');
  file('app.js', 'console.log(1)\n'.repeat(100));
  file('app.js.gz', gzipSync('console.log(1)\n'.repeat(100)));
  file('app.js.br', Buffer.from('BROTLI-BYTES'));
  file('image.png', Buffer.alloc(3000, 7));
  file('.hidden', 'secret-ish\n');
  file('withindex/index.html', '<p>index</p>\n');
  file('noindex/file.txt', 'x');
  file('skip.py', 'print(1)\n');
  file('other/x.txt', 'other\n');
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET\n');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(join(root, 'css', 'site.css'), join(root, 'inside-link.css'));
  symlinkSync(outside, join(root, 'outdir'));
  file('big.bin', Buffer.alloc(8 << 20, 1));
  writeFileSync(join(dir, 'mime.types'), 'text/css css\napplication/javascript js\nimage/png png\ntext/html html\ntext/plain txt\n');
}

function config(over: Partial<StaticConfig> = {}): StaticConfig {
  const abs = (p: string): string => p;
  return {
    mounts: [mapping(`/static=${root}`, 'static-map', abs), mapping(`/safe=${root}`, 'static-map', abs), mapping(`/m2=${root}/other`, 'static-map2', abs), mapping(`/favicon.ico=${root}/image.png`, 'static-map', abs)],
    index: ['index.html'],
    skipExt: ['.py'],
    safe: [],
    expires: [{ subject: 'type', pattern: 'image/png', seconds: 3600, fromMtime: true }],
    gzip: { all: false, dirs: [], exts: ['.js'], regexps: [] },
    mimeFiles: [join(dir, 'mime.types')],
    cachePathsSeconds: 0,
    addHeaders: ['X-Static: yes'],
    xSendfileDirs: [],
    checkDocroot: false,
    fileServeMode: 'raw',
    ...over,
  };
}

interface Harness {
  port: number;
  done: LoggedOutcome[];
  logs: string[];
  close(): Promise<void>;
}

/** A listener whose requests go through StaticServer.tryServe, else to a stand-in app. */
async function startHarness(cfg: StaticConfig): Promise<Harness> {
  const done: LoggedOutcome[] = [];
  const logs: string[] = [];
  const connections = new Set<Connection>();
  const staticHost: StaticHost = { draining: false, log: (l) => logs.push(l), staticDone: (_ex, o) => done.push(o) };
  const statics = new StaticServer(cfg, staticHost);
  const host: ConnectionHost = {
    dispatch(ex: Exchange) {
      if (statics.tryServe(ex)) return;
      const path = ex.vars.find(([k]) => k === 'PATH_INFO')?.[1] ?? '';
      const body = `APP ${path}`;
      ex.body.dispose();
      ex.out.write([Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1')]);
      ex.out.finish(true);
    },
    log: (l) => logs.push(l),
    onClosed: (c) => connections.delete(c),
    draining: false,
  };
  const opts = {
    maxHeadBytes: 8192,
    maxBodyBytes: 0,
    spool: { spoolAtBytes: 1 << 20, spoolWriteBytes: 1 << 20 },
    keepAlive: true,
    timeouts: { idleMs: 30_000, stallMs: 30_000 },
    scheme: 'http' as const,
  };
  const server = net.createServer((socket) => connections.add(serveHttpConnection(new SocketTransport(socket, true), host, opts)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    done,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.destroy();
        statics.close();
        server.close(() => resolve());
      }),
  };
}

let h: Harness;
before(async () => {
  layout();
  h = await startHarness(config());
});
after(() => h.close());

const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResponse> => request(h.port, { path, headers, method });

test('a file: type with charset, length, validators, Accept-Ranges, add-header; the app never sees it', async () => {
  const r = await get('/static/css/site.css');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'body { color: red }\n');
  assert.equal(r.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(r.headers['content-length'], '20');
  assert.equal(r.headers['last-modified'], 'Tue, 14 Nov 2023 22:13:20 GMT');
  assert.equal(r.headers['etag'], '"6553f100-14"');
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['x-static'], 'yes');
  assert.equal(r.headers['vary'], undefined);
  const png = await get('/static/image.png');
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.headers['expires'], 'Tue, 14 Nov 2023 23:13:20 GMT'); // static-expires-type-mtime image/png=3600
  assert.equal(png.body.length, 3000);
  const head = await get('/static/image.png', {}, 'HEAD');
  assert.equal(head.headers['content-length'], '3000');
  assert.equal(head.body.length, 0);
  assert.equal((await get('/favicon.ico')).headers['content-type'], 'image/png'); // a map to one file
  assert.equal((await get('/favicon.ico/x')).text, 'APP /favicon.ico/x');
  assert.equal((await get('/m2/other/x.txt')).text, 'APP /m2/other/x.txt'); // static-map2 appends the whole path: root/other/m2/other/x.txt
});

test('conditional GETs: 304 on If-Modified-Since and If-None-Match, with no body', async () => {
  const first = await get('/static/css/site.css');
  const ims = await get('/static/css/site.css', { 'If-Modified-Since': first.headers['last-modified'] as string });
  assert.equal(ims.status, 304);
  assert.equal(ims.body.length, 0);
  assert.equal(ims.headers['etag'], first.headers['etag']);
  const inm = await get('/static/css/site.css', { 'If-None-Match': first.headers['etag'] as string });
  assert.equal(inm.status, 304);
  assert.equal((await get('/static/css/site.css', { 'If-None-Match': '"nope"' })).status, 200);
  assert.equal((await get('/static/css/site.css', { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:19 GMT' })).status, 200);
});

test('ranges: 206 with Content-Range, 416 when unsatisfiable, stale If-Range gives the whole file', async () => {
  const r = await get('/static/css/site.css', { Range: 'bytes=7-11' });
  assert.equal(r.status, 206);
  assert.equal(r.text, 'color');
  assert.equal(r.headers['content-range'], 'bytes 7-11/20');
  const suffix = await get('/static/big.bin', { Range: 'bytes=-100000' });
  assert.equal(suffix.status, 206);
  assert.equal(suffix.body.length, 100000);
  const bad = await get('/static/css/site.css', { Range: 'bytes=20-' });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], 'bytes */20');
  assert.equal((await get('/static/css/site.css', { Range: 'bytes=0-1', 'If-Range': '"stale"' })).status, 200);
  assert.equal((await get('/static/css/site.css', { Range: 'bytes=0-1', 'If-Range': '"6553f100-14"' })).status, 206);
});

/** The parts of a multipart/byteranges body: [Content-Range, bytes] each. */
function parts(r: HttpResponse): Array<[string, string]> {
  const boundary = /boundary=(\S+)/.exec(r.headers['content-type'] as string)?.[1] as string;
  const text = r.body.toString('latin1');
  assert.ok(text.startsWith(`\r\n--${boundary}\r\n`), 'the body opens with a boundary');
  assert.ok(text.endsWith(`\r\n--${boundary}--\r\n`), 'the body closes with the final boundary');
  return text
    .slice(0, -`\r\n--${boundary}--\r\n`.length)
    .split(`\r\n--${boundary}\r\n`)
    .slice(1)
    .map((part) => {
      const [head, data] = part.split('\r\n\r\n', 2) as [string, string];
      return [/Content-Range: (.*)/.exec(head)?.[1] as string, data];
    });
}

test('several ranges: 206 multipart/byteranges as nginx (order kept, unsatisfiable dropped, overlaps beyond the size give 200)', async () => {
  const r = await get('/static/css/site.css', { Range: 'bytes=5-6,0-1' });
  assert.equal(r.status, 206);
  assert.match(r.headers['content-type'] as string, /^multipart\/byteranges; boundary=\d{20}$/);
  assert.equal(Number(r.headers['content-length']), r.body.length);
  assert.deepEqual(parts(r), [
    ['bytes 5-6/20', '{ '],
    ['bytes 0-1/20', 'bo'],
  ]);
  assert.match(r.body.toString('latin1'), /Content-Type: text\/css; charset=utf-8\r\n/);
  // nginx: a range past the end is dropped; one left is a plain 206.
  const one = await get('/static/css/site.css', { Range: 'bytes=0-1,30-40' });
  assert.equal(one.status, 206);
  assert.equal(one.text, 'bo');
  assert.equal(one.headers['content-range'], 'bytes 0-1/20');
  assert.equal((await get('/static/css/site.css', { Range: 'bytes=30-40,50-60' })).status, 416);
  // More bytes asked than the file has: the whole file, once.
  const amplified = await get('/static/css/site.css', { Range: 'bytes=0-15,5-19' });
  assert.equal(amplified.status, 200);
  assert.equal(amplified.body.length, 20);
  const tooMany = await get('/static/css/site.css', { Range: 'bytes=' + Array.from({ length: 101 }, () => '0-0').join(',') });
  assert.equal(tooMany.status, 200);
  const head = await get('/static/css/site.css', { Range: 'bytes=0-1,3-4' }, 'HEAD');
  assert.equal(head.status, 206);
  assert.equal(head.body.length, 0);
  // A large body (parts past the one-buffer size) goes through the pump, exact.
  const big = await get('/static/big.bin', { Range: 'bytes=0-99999,4000000-4199999,-50000' });
  assert.equal(big.status, 206);
  assert.equal(Number(big.headers['content-length']), big.body.length);
  const got = parts(big);
  assert.deepEqual(got.map(([range, data]) => [range, data.length]), [
    ['bytes 0-99999/8388608', 100000],
    ['bytes 4000000-4199999/8388608', 200000],
    ['bytes 8338608-8388607/8388608', 50000],
  ]);
});

test('the open-file cache sees a replaced file, a retargeted symlink and a deleted file at once', async () => {
  writeFileSync(join(root, 'v1.txt'), 'version one\n');
  writeFileSync(join(root, 'v2.txt'), 'version two, longer\n');
  symlinkSync(join(root, 'v1.txt'), join(root, 'current.txt'));
  writeFileSync(join(root, 'cached.txt'), 'first\n');
  assert.equal((await get('/static/cached.txt')).text, 'first\n');
  assert.equal((await get('/static/cached.txt')).text, 'first\n'); // a hit
  writeFileSync(join(root, 'cached.txt.tmp'), 'second!\n');
  renameSync(join(root, 'cached.txt.tmp'), join(root, 'cached.txt')); // an atomic deploy: a new inode
  assert.equal((await get('/static/cached.txt')).text, 'second!\n');
  writeFileSync(join(root, 'cached.txt'), 'third, in place\n'); // the same inode rewritten
  assert.equal((await get('/static/cached.txt')).text, 'third, in place\n');
  assert.equal((await get('/static/current.txt')).text, 'version one\n');
  unlinkSync(join(root, 'current.txt'));
  symlinkSync(join(root, 'v2.txt'), join(root, 'current.txt'));
  assert.equal((await get('/static/current.txt')).text, 'version two, longer\n');
  unlinkSync(join(root, 'current.txt'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'current.txt')); // retargeted outside: checked again, refused
  assert.equal((await get('/static/current.txt')).text, 'APP /static/current.txt');
  unlinkSync(join(root, 'cached.txt'));
  assert.equal((await get('/static/cached.txt')).text, 'APP /static/cached.txt');
});

test('hostile paths never leave the directory: they fall through to the app', async () => {
  const conn = await HttpConnection.open(h.port);
  try {
    for (const path of [
      '/static/../outside/secret.txt',
      '/static/%2e%2e/outside/secret.txt',
      '/static/%2E%2E%2Foutside%2Fsecret.txt',
      '/static/..%2f..%2foutside/secret.txt',
      '/static/..%5coutside%5csecret.txt',
      '/static/css/site.css%00.png',
      '/static/escape.txt',
      '/static/outdir/secret.txt',
      '/static//../outside/secret.txt',
      '/staticx/css/site.css',
    ]) {
      const r = await conn.request({ path });
      assert.equal(r.status, 404, path);
      assert.match(r.text, /^APP /, path);
      assert.doesNotMatch(r.text, /SECRET/, path);
    }
  } finally {
    conn.close();
  }
  assert.ok(h.logs.some((l) => l.includes('security error') && l.includes('secret.txt')), 'the escape is logged, as uWSGI does');
  assert.equal((await get('/static/inside-link.css')).status, 200, 'a symlink inside the directory is fine');
});

test('static-safe lets a symlink out to an allowed directory', async () => {
  const safe = await startHarness(config({ safe: [outside] }));
  try {
    const r = await request(safe.port, { path: '/static/escape.txt' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'TOP SECRET\n');
  } finally {
    await safe.close();
  }
});

test('directories: the index is served, no index falls through (never a listing); hidden files served as uWSGI', async () => {
  assert.equal((await get('/static/withindex')).text, '<p>index</p>\n');
  assert.equal((await get('/static/withindex/')).headers['content-type'], 'text/html; charset=utf-8');
  assert.equal((await get('/static/noindex/')).text, 'APP /static/noindex/');
  assert.equal((await get('/static')).text, 'APP /static');
  assert.equal((await get('/static/.hidden')).text, 'secret-ish\n');
});

test('methods other than GET/HEAD and static-skip-ext go to the app', async () => {
  assert.equal((await get('/static/css/site.css', {}, 'POST')).text, 'APP /static/css/site.css');
  assert.equal((await get('/static/skip.py')).text, 'APP /static/skip.py');
  assert.equal((await get('/static/missing.css')).text, 'APP /static/missing.css');
});

test('precompressed variants: br preferred, then gzip, with Vary; the type stays the original file\'s', async () => {
  const br = await get('/static/app.js', { 'Accept-Encoding': 'gzip, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.text, 'BROTLI-BYTES');
  assert.equal(br.headers['content-type'], 'application/javascript; charset=utf-8');
  assert.equal(br.headers['vary'], 'Accept-Encoding');
  const gz = await get('/static/app.js', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  const plain = await get('/static/app.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers['vary'], 'Accept-Encoding');
  assert.equal(plain.body.length, 1500);
  assert.notEqual(plain.headers['etag'], gz.headers['etag']);
});

test('keep-alive: several static and app responses on one connection, large body exact', async () => {
  const conn = await HttpConnection.open(h.port);
  try {
    assert.equal((await conn.request({ path: '/static/big.bin' })).body.length, 8 << 20);
    assert.equal((await conn.request({ path: '/nothing' })).text, 'APP /nothing');
    assert.equal((await conn.request({ path: '/static/css/site.css' })).status, 200);
    assert.equal(conn.closed, false);
  } finally {
    conn.close();
  }
  const last = h.done.at(-1) as LoggedOutcome;
  assert.equal(last.via, 'sendfile');
});

test('a file truncated while being sent: fewer bytes than promised, then the connection closes', async () => {
  const path = join(root, 'shrinks.bin');
  writeFileSync(path, Buffer.alloc(32 << 20, 2));
  const sock = await openSocket(h.port);
  sock.pause(); // a client that does not read yet: the server's pump waits on backpressure
  sock.write('GET /static/shrinks.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  // The head and the first bytes are here; the rest waits in the pump (32 MiB cannot fit the socket buffers).
  await until(() => sock.readableLength > 0, 10_000, 'the response started');
  truncateSync(path, 1 << 20);
  const reader = new SocketReader(sock);
  sock.resume();
  assert.equal(await reader.waitForEnd(10_000), true, 'the server closes the connection');
  const data = reader.pending;
  const headEnd = data.indexOf('\r\n\r\n');
  assert.match(data.subarray(0, headEnd).toString('latin1'), /Content-Length: 33554432/);
  const body = data.length - headEnd - 4;
  assert.ok(body < 32 << 20, `sent ${body} bytes, fewer than promised`);
  assert.ok(h.logs.some((l) => l.includes('shrank while being sent')));
});

test('a file that grows while being sent: exactly Content-Length bytes, the connection stays usable', async () => {
  const path = join(root, 'grows.bin');
  writeFileSync(path, Buffer.alloc(16 << 20, 3));
  const conn = await HttpConnection.open(h.port);
  try {
    conn.socket.pause();
    await conn.send('GET /static/grows.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => conn.socket.readableLength > 0, 10_000, 'the response started');
    appendFileSync(path, Buffer.alloc(8 << 20, 4));
    conn.socket.resume();
    const r = await conn.readResponse("GET", 60_000);
    assert.equal(r.body.length, 16 << 20);
    assert.ok(r.body.every((b) => b === 3));
    assert.equal((await conn.request({ path: '/static/css/site.css' })).status, 200);
  } finally {
    conn.close();
  }
});

test('without sendfile(2) (NUWSGI_NO_SENDFILE=1) the copying path sends the same bytes', async () => {
  process.env['NUWSGI_NO_SENDFILE'] = '1';
  try {
    const conn = await HttpConnection.open(h.port);
    try {
      const whole = await conn.request({ path: '/static/big.bin' });
      assert.equal(whole.body.length, 8 << 20);
      const part = await conn.request({ path: '/static/big.bin', headers: { Range: 'bytes=100-2000099' } });
      assert.equal(part.status, 206);
      assert.equal(part.body.length, 2_000_000);
    } finally {
      conn.close();
    }
  } finally {
    delete process.env['NUWSGI_NO_SENDFILE'];
  }
});
