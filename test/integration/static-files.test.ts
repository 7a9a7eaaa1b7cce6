// Static files against real servers: a Django project's collected static
// files (the admin's CSS/JS/images) through --static-map, compared file by
// file with Debian's uWSGI running the same options; static_requests in the
// stats; and a large file to a slow reader with the worker's RSS sampled.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, relative } from 'node:path';
import { SocketReader, openSocket, request } from '../helpers/http';
import { uwsgiRequest } from '../helpers/uwsgi';
import { until } from '../helpers/load';
import { runNuwsgi, startNuwsgi, startUwsgi } from '../helpers/server';
import { skipReason, uwsgiSkipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';
import { makeVenv, type Venv } from '../helpers/venv';
import { readStatsJson } from '../../src/stats/uwsgi-json-read';

const djangoSkip = skipReason({ debPackages: ['python3-venv', 'python3-django', 'media-types'], python: { interpreter: '/usr/bin/python3', modules: ['django'] } });

interface Project {
  venv: Venv;
  dir: string;
  staticRoot: string;
  files: string[];
}

/** django-admin startproject + STATIC_ROOT + collectstatic, in a temp dir. */
async function djangoProject(): Promise<Project> {
  const venv = await makeVenv({ python: '/usr/bin/python3', systemSitePackages: true });
  const dir = makeTempDir('nuwsgi-django-static-');
  execFileSync(venv.python, ['-m', 'django', 'startproject', 'site1', dir], { stdio: 'pipe' });
  const staticRoot = join(dir, 'collected');
  appendFileSync(join(dir, 'site1', 'settings.py'), `\nSTATIC_ROOT = ${JSON.stringify(staticRoot)}\nALLOWED_HOSTS = ['*']\n`);
  execFileSync(venv.python, ['manage.py', 'collectstatic', '--noinput'], { cwd: dir, stdio: 'pipe' });
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else files.push('/static/' + relative(staticRoot, join(d, e.name)));
    }
  };
  walk(staticRoot);
  files.sort();
  return { venv, dir, staticRoot, files };
}

function serverArgs(p: Project): string[] {
  return [
    '--http-socket', '127.0.0.1:0', '--home', p.venv.dir, '--chdir', p.dir, '--module', 'site1.wsgi:application',
    '--env', 'DJANGO_SETTINGS_MODULE=site1.settings', '--static-map', `/static=${p.staticRoot}`,
  ];
}

const mediaType = (ct: string | undefined): string | undefined => ct?.split(';')[0]?.trim();

describe('Django collectstatic behind --static-map', { skip: djangoSkip ?? false }, () => {
  let project: Project;
  before(async () => {
    project = await djangoProject();
  });

  test('the admin CSS/JS are served by Node with correct types, validators and 304s', async () => {
    const dir = makeTempDir('nuwsgi-stats-');
    const statsPath = join(dir, 'stats.sock');
    const server = await startNuwsgi([...serverArgs(project), '--master', '--stats', statsPath]);
    try {
      const port = server.httpPort as number;
      const css = await request(port, { path: '/static/admin/css/base.css' });
      assert.equal(css.status, 200);
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      assert.deepEqual(css.body, readFileSync(join(project.staticRoot, 'admin/css/base.css')));
      const js = await request(port, { path: '/static/admin/js/core.js' });
      assert.match(js.headers['content-type'] ?? '', /^(application|text)\/javascript; charset=utf-8$/);
      const png = project.files.find((f) => /\.(png|gif|woff)$/.test(f)) as string;
      assert.doesNotMatch((await request(port, { path: png })).headers['content-type'] ?? '', /charset/);
      const ims = await request(port, { path: '/static/admin/css/base.css', headers: { 'If-Modified-Since': css.headers['last-modified'] as string } });
      assert.equal(ims.status, 304);
      const inm = await request(port, { path: '/static/admin/css/base.css', headers: { 'If-None-Match': css.headers['etag'] as string } });
      assert.equal(inm.status, 304);
      assert.equal((await request(port, { path: '/static/admin/css/nope.css' })).status, 404, 'a missing file is the app\'s (Django\'s 404)');
      // The request log names them as uWSGI does, and the stats count them.
      await server.waitForLog(/app: -1\|req: -1\/\d+\] .* GET \/static\/admin\/css\/base\.css => generated \d+ bytes in \d+ msecs via sendfile\(\) \(HTTP\/1\.1 200\)/);
      let staticRequests = 0;
      const deadline = Date.now() + 10_000;
      while (staticRequests < 5 && Date.now() < deadline) {
        const doc = readStatsJson(await readUnix(statsPath));
        staticRequests = doc.workers.reduce((n, w) => n + w.cores.reduce((m, c) => m + c.staticRequests, 0), 0);
        if (staticRequests < 5) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(staticRequests, 5, 'static_requests counts the five static answers (304s included)');
    } finally {
      await server.stop();
    }
  });

  test('same status, Content-Type, Content-Length, Last-Modified and body as Debian\'s uWSGI, for every file', { skip: uwsgiSkipReason() ?? false }, async () => {
    const ours = await startNuwsgi(serverArgs(project));
    const theirs = await startUwsgi(serverArgs(project));
    try {
      assert.ok(project.files.length > 50, `collectstatic gave ${project.files.length} files`);
      // One connection per request: uWSGI's http-socket closes after each response.
      for (const path of project.files) {
        const [x, y] = [await request(ours.httpPort as number, { path }), await request(theirs.httpPort as number, { path })];
        const what = `${path}: nuwsgi vs uWSGI`;
        assert.equal(x.status, y.status, what);
        assert.equal(mediaType(x.headers['content-type']), mediaType(y.headers['content-type']), what);
        assert.equal(x.headers['content-length'], y.headers['content-length'], what);
        assert.equal(x.headers['last-modified'], y.headers['last-modified'], what);
        assert.ok(x.body.equals(y.body), what);
      }
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  });
});

function readUnix(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ path });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

test('a 200 MB file to a slow reader: the worker\'s RSS stays flat, Python requests are not delayed', async (t) => {
  const dir = makeTempDir('nuwsgi-static-big-');
  const size = 200 << 20;
  const fd = openSync(join(dir, 'big.bin'), 'w');
  ftruncateSync(fd, size); // sparse: no disk used, still 200 MB to read and send
  closeSync(fd);
  writeFileSync(join(dir, 'app.py'), 'def application(e, s):\n    s("200 OK", [("Content-Type", "text/plain")])\n    return [b"python"]\n');
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--static-map', `/files=${dir}`]);
  try {
    const port = server.httpPort as number;
    const sock = await openSocket(port);
    const reader = new SocketReader(sock);
    sock.write('GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => reader.pending.length > 0, 10_000, 'the response started');
    const base = rssKiB(server.pid);
    let peak = base;
    let received = 0;
    // The client reads about 40 MB/s in bursts: the server must wait for it, chunk by chunk.
    while (received < size + 100 && !reader.isEnded) {
      sock.pause();
      await new Promise((r) => setTimeout(r, 25));
      received += reader.pending.length;
      reader.consume(reader.pending.length);
      peak = Math.max(peak, rssKiB(server.pid));
      sock.resume();
      await new Promise((r) => setImmediate(r));
      if (received > size / 2 && received < size / 2 + (4 << 20)) {
        const t0 = Date.now();
        assert.equal((await request(port, { path: '/' })).text, 'python');
        assert.ok(Date.now() - t0 < 2000, 'a Python request answered while the download runs');
      }
      if (received >= size) break;
    }
    const headBytes = received - size;
    assert.ok(headBytes > 0 && headBytes < 1000, `the whole file arrived (${received} bytes)`);
    t.diagnostic(`worker RSS ${Math.round(base / 1024)} MB at the start, peak ${Math.round(peak / 1024)} MB`);
    assert.ok(peak - base < 64 * 1024, `RSS grew by ${Math.round((peak - base) / 1024)} MB while sending 200 MB`);
    sock.destroy();
  } finally {
    await server.stop();
  }
});

test('X-Sendfile (--x-sendfile DIR): Node sends the file the app names, with ranges and 304s; outside DIR is a 404', async () => {
  const dir = makeTempDir('nuwsgi-xsendfile-');
  mkdirSync(join(dir, 'private'));
  writeFileSync(join(dir, 'private', 'report.pdf'), Buffer.alloc(5000, 9));
  writeFileSync(join(dir, 'elsewhere.txt'), 'not allowed\n');
  writeFileSync(
    join(dir, 'app.py'),
    'import os\n' +
      'def application(e, s):\n' +
      '    name = e["QUERY_STRING"]\n' +
      '    s("200 OK", [("Content-Type", "application/pdf"), ("Content-Disposition", "attachment"), ("X-Sendfile", os.path.join(' + JSON.stringify(dir) + ', name))])\n' +
      '    return [b"app body that is never sent"]\n',
  );
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--x-sendfile', join(dir, 'private')]);
  try {
    const port = server.httpPort as number;
    const r = await request(port, { path: '/download?private/report.pdf' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 5000);
    assert.equal(r.headers['content-type'], 'application/pdf');
    assert.equal(r.headers['content-disposition'], 'attachment');
    assert.equal(r.headers['x-sendfile'], undefined);
    assert.ok(r.headers['etag']);
    const part = await request(port, { path: '/download?private/report.pdf', headers: { Range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.length, 100);
    assert.equal((await request(port, { path: '/download?private/report.pdf', headers: { 'If-None-Match': r.headers['etag'] as string } })).status, 304);
    assert.equal((await request(port, { path: '/download?elsewhere.txt' })).status, 404);
    assert.equal((await request(port, { path: '/download?private/../elsewhere.txt' })).status, 404);
    await server.waitForLog(/X-Sendfile: .*elsewhere\.txt is not a file under an --x-sendfile directory/);
  } finally {
    await server.stop();
  }
  // Without --x-sendfile the app's response goes out as it is, header included (as uWSGI without a routing rule).
  const plain = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py')]);
  try {
    const r = await request(plain.httpPort as number, { path: '/download?private/report.pdf' });
    assert.equal(r.text, 'app body that is never sent');
    assert.match(r.headers['x-sendfile'] ?? '', /report\.pdf$/);
  } finally {
    await plain.stop();
  }
});

test('on a uwsgi socket (behind nginx\'s uwsgi_pass) static files are answered the same way, framed as uWSGI frames them', async () => {
  const dir = makeTempDir('nuwsgi-static-uwsgi-');
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.css'), 'body { margin: 0 }\n');
  writeFileSync(join(dir, 'files', 'big.bin'), Buffer.alloc(3 << 20, 5));
  writeFileSync(join(dir, 'app.py'), 'def application(e, s):\n    s("200 OK", [("Content-Type", "text/plain")])\n    return [b"python"]\n');
  const server = await startNuwsgi(['--socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--static-map', `/files=${join(dir, 'files')}`]);
  try {
    const port = server.uwsgiPort as number;
    const css = await uwsgiRequest(port, { path: '/files/a.css' });
    assert.equal(css.status, 200);
    assert.equal(css.text, 'body { margin: 0 }\n');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.headers['connection'], undefined, 'no framing headers on the uwsgi protocol');
    const big = await uwsgiRequest(port, { path: '/files/big.bin' });
    assert.equal(big.body.length, 3 << 20);
    const part = await uwsgiRequest(port, { path: '/files/big.bin', headers: { Range: 'bytes=-10' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.length, 10);
    assert.equal((await uwsgiRequest(port, { path: '/files/a.css', headers: { 'If-None-Match': css.headers['etag'] as string } })).status, 304);
    assert.equal((await uwsgiRequest(port, { path: '/files/missing' })).text, 'python');
  } finally {
    await server.stop();
  }
});

test('200 downloads stalled by clients that do not read: Python and static requests on the same worker still answer at once', async () => {
  const dir = makeTempDir('nuwsgi-static-many-');
  const fd = openSync(join(dir, 'big.bin'), 'w');
  ftruncateSync(fd, 20 << 20);
  closeSync(fd);
  writeFileSync(join(dir, 'small.txt'), 'small\n');
  writeFileSync(join(dir, 'app.py'), 'def application(e, s):\n    s("200 OK", [("Content-Type", "text/plain")])\n    return [b"python"]\n');
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--static-map', `/files=${dir}`, '--listen', '1024']);
  const sockets: Array<Awaited<ReturnType<typeof openSocket>>> = [];
  try {
    const port = server.httpPort as number;
    const readers: SocketReader[] = [];
    for (let i = 0; i < 200; i++) {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      sock.write('GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause(); // never reads beyond its first buffer
      sockets.push(sock);
      readers.push(reader);
    }
    await until(() => readers.every((r, i) => r.pending.length > 0 || (sockets[i]?.readableLength ?? 0) > 0), 20_000, 'every download started');
    const t0 = Date.now();
    assert.equal((await request(port, { path: '/' })).text, 'python');
    assert.equal((await request(port, { path: '/files/small.txt' })).text, 'small\n');
    assert.ok(Date.now() - t0 < 2000, `answered in ${Date.now() - t0} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
  }
});

/** A directory with a file, a subdirectory and a symlink out of it; and an app that says "python". */
function docrootLayout(): { dir: string; docroot: string; app: string } {
  const dir = makeTempDir('nuwsgi-static-docroot-');
  const docroot = join(dir, 'site');
  mkdirSync(join(docroot, 'css'), { recursive: true });
  writeFileSync(join(docroot, 'css', 'a.css'), 'body { margin: 0 }\n');
  writeFileSync(join(dir, 'secret.txt'), 'secret\n');
  symlinkSync(join(dir, 'secret.txt'), join(docroot, 'escape.txt'));
  const app = join(dir, 'app.py');
  writeFileSync(app, 'def application(e, s):\n    s("200 OK", [("Content-Type", "text/plain")])\n    return [b"python"]\n');
  return { dir, docroot, app };
}

test('check-static-docroot: files under the DOCUMENT_ROOT nginx sends, as Debian\'s uWSGI serves them', { skip: uwsgiSkipReason() ?? false }, async () => {
  const { dir, docroot, app } = docrootLayout();
  const args = ['--socket', '127.0.0.1:0', '--wsgi-file', app, '--check-static-docroot'];
  const ours = await startNuwsgi(args);
  const theirs = await startUwsgi(args);
  try {
    const ask = (port: number, path: string, root?: string) => uwsgiRequest(port, { path, ...(root !== undefined ? { vars: { DOCUMENT_ROOT: root } } : {}) });
    for (const [path, root] of [['/css/a.css', docroot], ['/css/a.css', undefined], ['/css/missing.css', docroot], ['/escape.txt', docroot], ['/css', docroot], ['/css/a.css', join(dir, 'site', '.', 'css', '..')]] as const) {
      const [x, y] = [await ask(ours.uwsgiPort as number, path, root), await ask(theirs.uwsgiPort as number, path, root)];
      const what = `${path} with DOCUMENT_ROOT=${root}: nuwsgi vs uWSGI`;
      assert.equal(x.status, y.status, what);
      assert.equal(x.text, y.text, what);
      assert.equal(mediaType(x.headers['content-type']), mediaType(y.headers['content-type']), what);
      assert.equal(x.headers['content-length'], y.headers['content-length'], what);
      assert.equal(x.headers['last-modified'], y.headers['last-modified'], what);
    }
    assert.equal((await ask(ours.uwsgiPort as number, '/css/a.css', docroot)).text, 'body { margin: 0 }\n');
    assert.equal((await ask(ours.uwsgiPort as number, '/escape.txt', docroot)).text, 'python');
    // uWSGI drops a request whose DOCUMENT_ROOT does not exist, unanswered; the app gets it here.
    assert.equal((await ask(ours.uwsgiPort as number, '/css/a.css', join(dir, 'nope'))).text, 'python');
    await ours.waitForLog(/security error: .*secret\.txt is not under/);
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

test('file-serve-mode x-accel-redirect / x-sendfile: the header names the real path, no body, as Debian\'s uWSGI; an unknown mode is refused', { skip: uwsgiSkipReason() ?? false }, async () => {
  const { docroot, app } = docrootLayout();
  for (const mode of ['x-accel-redirect', 'nginx', 'X-Sendfile']) {
    const args = ['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--static-map', `/s=${docroot}`, '--file-serve-mode', mode];
    const ours = await startNuwsgi(args);
    const theirs = await startUwsgi(args);
    try {
      const header = mode === 'X-Sendfile' ? 'x-sendfile' : 'x-accel-redirect';
      for (const headers of [{}, { Range: 'bytes=0-3' }] as Array<Record<string, string>>) {
        const [x, y] = [await request(ours.httpPort as number, { path: '/s/css/a.css', headers }), await request(theirs.httpPort as number, { path: '/s/css/a.css', headers })];
        const what = `${mode} ${JSON.stringify(headers)}: nuwsgi vs uWSGI`;
        assert.equal(x.status, 200, what);
        assert.equal(y.status, 200, what);
        assert.equal(x.headers[header], join(docroot, 'css', 'a.css'), what);
        assert.equal(x.headers[header], y.headers[header], what);
        assert.equal(mediaType(x.headers['content-type']), mediaType(y.headers['content-type']), what);
        assert.equal(x.headers['last-modified'], y.headers['last-modified'], what);
        assert.equal(x.body.length, 0, what);
        assert.equal(y.body.length, 0, what);
      }
      const conditional = await request(ours.httpPort as number, { path: '/s/css/a.css', headers: { 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' } });
      assert.equal(conditional.status, 304);
      assert.equal((await request(ours.httpPort as number, { path: '/s/missing.css' })).text, 'python');
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  }
  const bad = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--static-map', `/s=${docroot}`, '--file-serve-mode', 'apache']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.logs, /file-serve-mode "apache": unknown mode/);
});

test('static-cache-paths-name: accepted, said once at startup; files are served as Debian\'s uWSGI serves them with its named cache', { skip: uwsgiSkipReason() ?? false }, async () => {
  const { docroot, app } = docrootLayout();
  // uWSGI needs the named cache to exist (else "unable to find cache" and exit); nuwsgi accepts cache2 and ignores it.
  const args = ['--http-socket', '127.0.0.1:0', '--master', '--wsgi-file', app, '--static-map', `/s=${docroot}`, '--cache2', 'name=paths,items=100', '--static-cache-paths', '5', '--static-cache-paths-name', 'paths'];
  const ours = await startNuwsgi(args);
  const theirs = await startUwsgi(args);
  try {
    await ours.waitForLog(/static-cache-paths-name "paths": nuwsgi has no named caches, the name is not looked up; static-cache-paths 5 keeps real paths in each worker's memory instead/);
    assert.doesNotMatch(ours.logs(), /option 'static-cache-paths-name' is not implemented/);
    for (let i = 0; i < 2; i++) {
      const [x, y] = [await request(ours.httpPort as number, { path: '/s/css/a.css' }), await request(theirs.httpPort as number, { path: '/s/css/a.css' })];
      assert.equal(x.status, 200);
      assert.equal(x.status, y.status);
      assert.ok(x.body.equals(y.body));
      assert.equal(mediaType(x.headers['content-type']), mediaType(y.headers['content-type']));
      assert.equal(x.headers['last-modified'], y.headers['last-modified']);
    }
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

test('a static file\'s request-log line names the client and counts its variables, also when the response closes the connection', async () => {
  const { docroot, app } = docrootLayout();
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', app, '--static-map', `/s=${docroot}`]);
  try {
    // The variables and the peer's address are taken lazily; the log needs them before the close.
    const r = await request(server.httpPort as number, { path: '/s/css/a.css?close', headers: { Connection: 'close' } });
    assert.equal(r.status, 200);
    await server.waitForLog(/\|app: -1\|req: -1\/\d+\] 127\.0\.0\.1 \(\) \{[1-9]\d* vars in [1-9]\d* bytes\} .* GET \/s\/css\/a\.css\?close => generated 19 bytes/);
  } finally {
    await server.stop();
  }
});
