// Streaming responses: backpressure keeps memory flat, and close() is called
// exactly once even when the client goes away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSocket, request } from '../helpers/http';
import { descendants } from '../helpers/procs';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const SINK = () => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0; // exited meanwhile
  }
}

/** Resident set of the worker processes (the master's descendants), in KiB. */
function workerRssKiB(server: ServerProcess): number {
  let total = 0;
  for (const pid of descendants(server.pid)) total += rssKiB(pid);
  return total;
}

async function until(probe: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('streaming responses', () => {
  let server: ServerProcess;
  let port: number;

  before(async () => {
    server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '1', '--disable-logging']);
    port = server.httpPort as number;
  });
  after(async () => {
    await server.stop();
  });

  test('a chunked stream arrives whole, chunk boundaries kept', async () => {
    const res = await request(port, { path: '/stream?count=5&size=3' });
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.toString(), 'xxx'.repeat(5));
    assert.deepEqual(res.chunks?.map((c) => c.length), [3, 3, 3, 3, 3]);
  });

  test('a 1 GB generator streams with the worker RSS flat', { timeout: 300_000 }, async () => {
    const before = workerRssKiB(server);
    const socket = await openSocket(port);
    const chunkSize = 1 << 20;
    const count = 1024;
    socket.write(`GET /stream?count=${count}&size=${chunkSize} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let received = 0;
    let peakRss = before;
    let samples = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (++samples % 200 === 0) peakRss = Math.max(peakRss, workerRssKiB(server));
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    const body = count * chunkSize;
    assert.ok(received > body, `received ${received} bytes (body ${body} + framing)`);
    // Flat: the worker may grow by buffers, never by the response (1 GB).
    assert.ok(peakRss - before < 150 * 1024, `worker RSS grew by ${peakRss - before} KiB`);
  });

  test('a client that disconnects mid-stream still gets close() called, once', async () => {
    const marker = join(makeTempDir(), 'closed.txt');
    const socket = await openSocket(port);
    socket.write(`GET /stream?count=100000&size=65536&marker=${marker} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    await until(() => existsSync(marker), 10_000, 'close() to be called');
    // Another request proves the worker is free again, and close() ran exactly once.
    assert.equal((await request(port, { path: '/after' })).status, 200);
    assert.equal(readFileSync(marker, 'utf8'), 'closed\n');
  });
});
