// Issue 16: with --stats the master reads its sockets' accept queues from the
// sockets themselves, so its work does not grow with the host's sockets (it
// used to parse /proc/net/tcp and tcp6 every second).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { until } from '../helpers/load';
import { repoRoot, startNuwsgi } from '../helpers/server';

/** Bytes the process has read through read(2) and friends, /proc files included. */
function rchar(pid: number): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'));
  return Number(m?.[1]);
}

function listenOnLoopback(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

test('--stats with thousands of TCP sockets on the host: the master reads (almost) nothing each second', async () => {
  // 3,000 listeners make /proc/net/tcp about 450 KB: one pass a second would show at once.
  const crowd = await Promise.all(Array.from({ length: 3_000 }, listenOnLoopback));
  const server = await startNuwsgi([
    '--http-socket', '127.0.0.1:0', '--wsgi-file', join(repoRoot(), 'examples', 'hello.py'),
    '--master', '--processes', '1', '--stats', '127.0.0.1:0',
  ]);
  try {
    const pid = server.pid;
    const before = rchar(pid);
    const startedAt = Date.now();
    // The master's stats timer runs once a second: let three checks pass.
    await until(() => Date.now() - startedAt >= 3_200, 10_000, 'three listen queue checks');
    const read = rchar(pid) - before;
    assert.ok(read < 100_000, `the master read ${read} bytes in 3 s (a /proc/net/tcp pass is ~450 KB)`);
  } finally {
    await server.stop('SIGTERM');
    await Promise.all(crowd.map((s) => new Promise((r) => s.close(r))));
  }
});
