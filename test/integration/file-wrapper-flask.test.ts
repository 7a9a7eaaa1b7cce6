// wsgi.file_wrapper with a real app: Flask's send_file hands Werkzeug's
// response a file, Werkzeug wraps it with environ['wsgi.file_wrapper'], and
// nuwsgi sends it from Node (sendfile(2)) while the Python core is free for
// the next request at once: a client that stalls a 64 MiB download does not
// hold the only core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { openSocket, request } from '../helpers/http';
import { until } from '../helpers/load';
import { startNuwsgi } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const flaskSkip = skipReason({ debPackages: ['python3-flask'], python: { interpreter: '/usr/bin/python3', modules: ['flask'] } });

const APP = `import os
import flask

app = flask.Flask(__name__)


@app.route("/big")
def big():
    return flask.send_file(os.environ["BIG_FILE"], mimetype="application/octet-stream")


@app.route("/ping")
def ping():
    return "pong"


application = app
`;

const SIZE = 64 << 20;

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(i, i);
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A response of SIZE bytes on `sock`, collected as a list of chunks (the shared helpers join a growing buffer: quadratic at 64 MiB). */
function collect(sock: Socket): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let headEnd = -1;
    const timer = setTimeout(() => reject(new Error(`timed out with ${received} bytes`)), 60_000);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (headEnd < 0) headEnd = Buffer.concat(chunks).indexOf('\r\n\r\n');
      if (headEnd >= 0 && received >= headEnd + 4 + SIZE) {
        clearTimeout(timer);
        const all = Buffer.concat(chunks);
        resolve({ head: all.subarray(0, headEnd + 4).toString('latin1'), body: all.subarray(headEnd + 4) });
      }
    });
    sock.on('error', reject);
  });
}

async function download(port: number, path: string): Promise<{ head: string; body: Buffer }> {
  const sock = await openSocket(port);
  try {
    const got = collect(sock);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return await got;
  } finally {
    sock.destroy();
  }
}

test('Flask send_file: the file is sent by Node (via sendfile), the core is free at once for other requests', { skip: flaskSkip ?? false }, async () => {
  const dir = makeTempDir('nuwsgi-file-wrapper-');
  const content = pattern(SIZE);
  const bigFile = join(dir, 'big.bin');
  writeFileSync(bigFile, content);
  writeFileSync(join(dir, 'app.py'), APP);
  // One process, one core: if Python were iterating the file, /ping would wait for the download.
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(dir, 'app.py'), '--env', `BIG_FILE=${bigFile}`, '--processes', '1', '--threads', '1']);
  try {
    const port = server.httpPort as number;
    const whole = await download(port, '/big');
    assert.match(whole.head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(whole.head, new RegExp(`\r\nContent-Length: ${SIZE}\r\n`, 'i'));
    assert.equal(sha(whole.body), sha(content));
    await server.waitForLog(/GET \/big => generated 67108864 bytes in \d+ msecs via sendfile\(\) \(HTTP\/1\.1 200\)/);

    // A client that asks for the file and does not read it.
    const stalled = await openSocket(port);
    stalled.pause();
    stalled.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => stalled.readableLength > 0, 10_000, 'the download started');
    const started = Date.now();
    const ping = await request(port, { path: '/ping', timeoutMs: 10_000 });
    assert.equal(ping.text, 'pong');
    assert.ok(Date.now() - started < 3_000, `/ping took ${Date.now() - started} ms while a download was stalled`);
    assert.ok(stalled.readableLength < SIZE, 'the download was still in progress');
    // The stalled download then completes, exact (chunks kept in a list: 64 MiB in one growing buffer is quadratic).
    const rest = collect(stalled);
    stalled.resume();
    const late = await rest;
    assert.equal(sha(late.body), sha(content));
    stalled.destroy();

    // Ranges are Werkzeug's (it wraps the file itself): still correct.
    const part = await request(port, { path: '/big', headers: { Range: 'bytes=4-11' } });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(content.subarray(4, 12)));
  } finally {
    await server.stop();
  }
});
