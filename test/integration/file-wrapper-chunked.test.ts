// wsgi.file_wrapper bodies without Content-Length: to an HTTP/1.1 client
// they are chunked, as one chunk of the file's fstat size sent with
// sendfile(2); to HTTP/1.0 and behind nginx's uwsgi_pass the body ends with
// the connection, also sent with sendfile(2). Bodies are compared byte for
// byte (5 MiB), and strace on the worker shows the bytes were not read into
// the process: read(2)/pread64(2) return little, sendfile(2) the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpConnection, parseResponse, rawRequest, request, type HttpResponse } from '../helpers/http';
import { until } from '../helpers/load';
import { nginxSkipReason, startNginx } from '../helpers/nginx';
import { startNuwsgi, type ServerProcess } from '../helpers/server';
import { pythonHasModules, skipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const SIZE = 5 << 20;
const OFFSET = 1000;

/** Raw WSGI: file_wrapper with no Content-Length (whole file, from an offset, a procfs file of size 0); /flask: send_file without its Content-Length. */
const APP = `import os

BIG = os.environ["BIG_FILE"]


def raw(environ, start_response):
    path = environ["PATH_INFO"]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if path == "/offset":
        f = open(BIG, "rb")
        f.seek(${OFFSET})
        return environ["wsgi.file_wrapper"](f)
    if path == "/proc":
        return environ["wsgi.file_wrapper"](open("/proc/self/status", "rb"))
    return environ["wsgi.file_wrapper"](open(BIG, "rb"))


try:
    import flask
except ImportError:
    flask = None

if flask is not None:
    flask_app = flask.Flask(__name__)

    @flask_app.route("/flask")
    def send():
        response = flask.send_file(BIG, mimetype="application/octet-stream")
        del response.headers["Content-Length"]
        return response


def application(environ, start_response):
    if environ["PATH_INFO"] == "/flask" and flask is not None:
        return flask_app(environ, start_response)
    return raw(environ, start_response)
`;

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(i, i);
  return b;
}

interface Setup {
  content: Buffer;
  server: ServerProcess;
  httpPort: number;
  uwsgiPort: number;
  workerPid: number;
}

async function setup(): Promise<Setup> {
  const dir = makeTempDir('nuwsgi-file-wrapper-chunked-');
  const content = pattern(SIZE);
  const bigFile = join(dir, 'big.bin');
  writeFileSync(bigFile, content);
  writeFileSync(join(dir, 'app.py'), APP);
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--env', `BIG_FILE=${bigFile}`, '--processes', '1']);
  const workerPid = Number(/spawned nuwsgi worker 1 .*?\(pid: (\d+)/.exec(await server.waitForLog(/spawned nuwsgi worker 1 /))?.[1]);
  return { content, server, httpPort: server.httpPort as number, uwsgiPort: server.uwsgiPort as number, workerPid };
}

function assertChunkedWhole(r: HttpResponse, expected: Buffer, what: string): void {
  assert.equal(r.status, 200, what);
  assert.equal(r.headers['transfer-encoding'], 'chunked', what);
  assert.equal(r.headers['content-length'], undefined, what);
  assert.equal(r.body.length, expected.length, what);
  assert.ok(r.body.equals(expected), `${what}: byte-exact`);
}

/** HTTP/1.0: no chunking, the body ends when the connection closes. */
async function http10(port: number, path: string): Promise<HttpResponse> {
  const data = await rawRequest(port, `GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`, { timeoutMs: 30_000 });
  const parsed = parseResponse(data, true);
  assert.ok(parsed !== undefined);
  return parsed.response;
}

test('file_wrapper without Content-Length: chunked over HTTP/1.1 (keep-alive), close-delimited over HTTP/1.0, byte-exact', async () => {
  const s = await setup();
  try {
    const conn = await HttpConnection.open(s.httpPort);
    try {
      assertChunkedWhole(await conn.request({ path: '/raw', timeoutMs: 30_000 }), s.content, 'HTTP/1.1 /raw');
      // The same connection goes on: the chunked body ended where it should.
      assertChunkedWhole(await conn.request({ path: '/offset', timeoutMs: 30_000 }), s.content.subarray(OFFSET), 'HTTP/1.1 /offset (the app seeked)');
      const proc = await conn.request({ path: '/proc' });
      assert.equal(proc.headers['transfer-encoding'], 'chunked');
      assert.match(proc.text, /^Name:/, 'a procfs file (fstat size 0) is copied to its end');
      assert.equal(conn.closed, false);
    } finally {
      conn.close();
    }
    await s.server.waitForLog(/GET \/raw => generated 5242880 bytes in \d+ msecs via sendfile\(\) \(HTTP\/1\.1 200\)/);
    await s.server.waitForLog(/GET \/offset => generated 5241880 bytes in \d+ msecs via sendfile\(\) \(HTTP\/1\.1 200\)/);
    for (const path of ['/raw', '/offset']) {
      const r = await http10(s.httpPort, path);
      const expected = path === '/raw' ? s.content : s.content.subarray(OFFSET);
      assert.equal(r.headers['transfer-encoding'], undefined);
      assert.equal(r.headers['content-length'], undefined);
      assert.ok(r.body.equals(expected), `HTTP/1.0 ${path}: byte-exact`);
    }
  } finally {
    await s.server.stop();
  }
});

const flaskSkip = pythonHasModules('/usr/bin/python3', ['flask']) ? undefined : skipReason({ debPackages: ['python3-flask'] }) ?? 'python3 cannot import flask';

test('Flask send_file with its Content-Length removed: chunked, byte-exact', { skip: flaskSkip ?? false }, async () => {
  const s = await setup();
  try {
    assertChunkedWhole(await request(s.httpPort, { path: '/flask', timeoutMs: 30_000 }), s.content, 'Flask /flask');
    await s.server.waitForLog(/GET \/flask => generated 5242880 bytes in \d+ msecs via sendfile\(\)/);
    const r = await http10(s.httpPort, '/flask');
    assert.ok(r.body.equals(s.content), 'HTTP/1.0 /flask: byte-exact');
  } finally {
    await s.server.stop();
  }
});

test('behind nginx (uwsgi_pass): byte-exact for HTTP/1.1 and HTTP/1.0 clients', { skip: nginxSkipReason() ?? false }, async () => {
  const s = await setup();
  const nginx = await startNginx({ servers: [{ locations: [{ path: '/', uwsgiPass: `127.0.0.1:${s.uwsgiPort}` }] }] });
  try {
    for (const path of ['/raw', '/offset']) {
      const expected = path === '/raw' ? s.content : s.content.subarray(OFFSET);
      const r = await request(nginx.port, { path, timeoutMs: 30_000 });
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(expected), `nginx HTTP/1.1 ${path}: byte-exact`);
      assert.ok((await http10(nginx.port, path)).body.equals(expected), `nginx HTTP/1.0 ${path}: byte-exact`);
    }
    await s.server.waitForLog(/GET \/offset => generated 5241880 bytes in \d+ msecs via sendfile\(\)/);
  } finally {
    await nginx.stop();
    await s.server.stop();
  }
});

/** strace on every thread of `pid`, for the read and sendfile families only; the bytes each returned. */
class SyscallBytes {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly out: string,
  ) {}

  static async attach(pid: number, dir: string): Promise<SyscallBytes> {
    const out = join(dir, 'strace.txt');
    const proc = spawn('strace', ['-f', '-p', String(pid), '-e', 'trace=read,pread64,readv,preadv,preadv2,sendfile', '-e', 'signal=none', '-s', '0', '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes(`Process ${pid} attached`) || proc.exitCode !== null, 10_000, 'strace to attach');
    assert.equal(proc.exitCode, null, `strace: ${stderr}`);
    return new SyscallBytes(proc, out);
  }

  /** Detaches and sums what each family returned. */
  async totals(): Promise<{ read: number; sendfile: number }> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGINT');
    await exited;
    const totals = { read: 0, sendfile: 0 };
    // "PID name(args) = N", or a call split by another thread: "PID <... name resumed>args) = N".
    for (const line of readFileSync(this.out, 'utf8').split('\n')) {
      const call = /^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()/.exec(line);
      const result = /\)\s+=\s+(\d+)/.exec(line);
      if (call === null || result === null) continue;
      if ((call[1] ?? call[2]) === 'sendfile') totals.sendfile += Number(result[1]);
      else totals.read += Number(result[1]);
    }
    return totals;
  }
}

const straceSkip = skipReason({ commands: ['strace'] });

test('the chunked file body is sent with sendfile(2): strace on the worker sees the bytes in sendfile, not in reads', { skip: straceSkip ?? false }, async () => {
  const s = await setup();
  try {
    // Warm up: Python imports, the first request's buffers.
    assertChunkedWhole(await request(s.httpPort, { path: '/raw', timeoutMs: 30_000 }), s.content, 'warm-up');
    const trace = await SyscallBytes.attach(s.workerPid, makeTempDir('nuwsgi-strace-'));
    let totals: { read: number; sendfile: number };
    try {
      assertChunkedWhole(await request(s.httpPort, { path: '/raw', timeoutMs: 60_000 }), s.content, 'traced');
    } finally {
      totals = await trace.totals();
    }
    // When the socket is full, one 64 KiB copy waits for room: a few of those at most, never the file.
    assert.ok(totals.read < SIZE / 5, `read(2) family returned ${totals.read} bytes for a ${SIZE}-byte file`);
    assert.ok(totals.sendfile + totals.read >= SIZE, `sendfile(2) sent ${totals.sendfile} bytes`);
    assert.ok(totals.sendfile >= SIZE * 0.8, `sendfile(2) sent ${totals.sendfile} bytes`);
  } finally {
    await s.server.stop();
  }
});
