// Issue 16 (soak): what a master holds per worker (the IPC channel, the
// stdout/stderr pipes, the sockets it passes) goes with the worker. A real
// master under churn (--max-requests 1 recycles, graceful reloads, kill -9)
// ends with the same descriptors it had after boot: a leaked pipe per spawn
// would show here long before it shows as memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { descendants } from '../helpers/procs';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { count, until } from '../helpers/load';

const HELLO = (): string => join(repoRoot(), 'examples', 'hello.py');

/** The master's open descriptors by kind ("pipe", "socket", "anon_inode:[eventpoll]", a path...), sorted. */
function descriptorCensus(pid: number): string {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while listing (the readdir's own descriptor)
    }
    const kind = target.replace(/:\[\d+\]$/, '');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ');
}

/** Two processes under the master: no replacement booting, no old worker draining. */
function settled(server: ServerProcess): boolean {
  return descendants(server.pid).length === 2;
}

test('master: 20 recycles, reloads and kill -9s leave the descriptors it had after boot', async () => {
  const server = await startNuwsgi([
    '--http-socket', '127.0.0.1:0', '--wsgi-file', HELLO(), '--master', '--processes', '2',
    '--max-requests', '1', '--min-worker-lifetime', '0', '--disable-logging',
  ], { waitReady: false }); // the readiness probe's request would recycle a worker
  try {
    await until(() => count(server, /WSGI app 0 .* ready in/) >= 2 && settled(server), 30_000, 'two workers ready after boot');
    const port = server.httpPort as number;
    const afterBoot = descriptorCensus(server.pid);
    const spawns = (): number => count(server, /spawned nuwsgi worker|Respawned nuwsgi worker/);
    const spawnsAtBoot = spawns();
    for (let i = 0; i < 20; i++) {
      const before = spawns();
      if (i % 7 === 3) {
        server.signal('SIGHUP');
      } else if (i % 7 === 5) {
        process.kill(descendants(server.pid)[0] as number, 'SIGKILL');
      } else {
        // One answered request recycles its worker (--max-requests 1).
        const res = await request(port, { path: `/${i}`, headers: { Connection: 'close' }, timeoutMs: 30_000 });
        assert.equal(res.status, 200, `request ${i}`);
      }
      await until(() => spawns() > before && settled(server), 60_000, `round ${i}: a new worker, the old one gone`);
    }
    // Descriptors of exited workers close when their exit is handled: poll until the census is back (or not).
    let now = '';
    await until(() => settled(server) && (now = descriptorCensus(server.pid)) === afterBoot, 60_000, 'the boot census').catch(() => undefined);
    const spawned = spawns() - spawnsAtBoot;
    assert.ok(spawned >= 20, `${spawned} workers spawned`);
    assert.equal(now, afterBoot, `after ${spawned} spawns`);
  } finally {
    await server.stop();
  }
});
