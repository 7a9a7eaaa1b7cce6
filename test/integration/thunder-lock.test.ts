// --thunder-lock (issue 10): the workers take turns watching the listening
// sockets, holding an exclusive flock on the master's scoreboard file, so a
// new connection wakes one idle worker. /proc/locks shows who holds it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpConnection, request } from '../helpers/http';
import { uwsgiRequest } from '../helpers/uwsgi';
import { count, loadWhile, until } from '../helpers/load';
import { descendants } from '../helpers/procs';
import { startNuwsgi, startUwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const APP = `
import os, time

def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        with open("slow.pid", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(float(environ.get("QUERY_STRING") or "0.3"))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;

const ASGI_APP = `
import os

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
`;

/** The master's scoreboard memfd, at descriptor 4 in every worker: the lock file. */
const LOCK_FD = 4;
/** The first listening socket, at descriptor 5 in every worker. */
const LISTENER_FD = 5;

interface LockEntry {
  pid: number;
  inode: number;
  blocked: boolean;
}

/** FLOCK lines of /proc/locks: "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF", waiters with "->". */
function flocks(): LockEntry[] {
  const text = readFileSync('/proc/locks', 'latin1');
  const out: LockEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(->\s+)?FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m !== null) out.push({ pid: Number(m[2]), inode: Number(m[3]), blocked: m[1] !== undefined });
  }
  return out;
}

/** The inode of the lock file, as a live worker holds it at descriptor 4 (-1 when none answers). */
function lockInode(workers: number[]): number {
  for (const pid of workers) {
    try {
      return statSync(`/proc/${pid}/fd/${LOCK_FD}`).ino;
    } catch {
      // gone meanwhile
    }
  }
  return -1;
}

/**
 * Whether one of the process's epoll sets holds its listening socket ("tfd: 5" in the epoll's fdinfo): whether a
 * connection wakes it. The inline runner watches a duplicate of the listener's descriptor (src/worker/transport.ts,
 * watchListener): any descriptor of the same socket counts.
 */
function watchesListener(pid: number, listenerFd = LISTENER_FD): boolean {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`);
    const targets = new Map<string, string>();
    for (const fd of fds) {
      try {
        targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
    const socket = targets.get(String(listenerFd));
    if (socket === undefined) return false;
    const sameSocket = fds.filter((fd) => targets.get(fd) === socket);
    for (const fd of fds) {
      if (targets.get(fd) !== 'anon_inode:[eventpoll]') continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
      if (sameSocket.some((n) => new RegExp(`^tfd:\\s+${n}\\s`, 'm').test(info))) return true;
    }
  } catch {
    // gone meanwhile
  }
  return false;
}

/** Holders and waiters of the instance's lock, and the workers a new connection would wake, among its live workers. */
function lockState(server: ServerProcess): { workers: number[]; holders: number[]; waiters: number[]; watching: number[] } {
  const workers = descendants(server.pid);
  const inode = lockInode(workers);
  const mine = flocks().filter((l) => l.inode === inode && workers.includes(l.pid));
  return {
    workers,
    holders: mine.filter((l) => !l.blocked).map((l) => l.pid),
    waiters: mine.filter((l) => l.blocked).map((l) => l.pid),
    watching: workers.filter((pid) => watchesListener(pid)),
  };
}

/** Idle: one worker holds the lock and is the only one watching the listener; every other one waits for the lock. */
async function oneHolder(server: ServerProcess, workers: number, what: string): Promise<number> {
  let last = lockState(server);
  await until(() => {
    last = lockState(server);
    return last.workers.length === workers && last.holders.length === 1 && last.waiters.length === workers - 1 &&
      last.watching.length === 1 && last.watching[0] === last.holders[0];
  }, 20_000, `${what}: one holder, the only worker watching, and ${workers - 1} waiters`).catch((err: Error) => {
    throw new Error(`${err.message} (last seen: ${JSON.stringify(last)})`);
  });
  return last.holders[0] as number;
}

/** Times the main thread (Node's event loop) of each process went to sleep: each is one wake-up of its loop. */
function loopSleeps(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    try {
      return Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'latin1'))?.[1] ?? 0);
    } catch {
      return 0;
    }
  });
}

/**
 * Loop wake-ups per connection, summed over the workers: `n` Connection:
 * close requests one after another, each sent once every worker's loop sleeps.
 */
async function wakeUpsPerConnection(server: ServerProcess, workers: number[], n: number): Promise<number> {
  const port = server.httpPort as number;
  const before = loopSleeps(workers);
  for (let i = 0; i < n; i++) {
    // Each connection finds every loop asleep (on a busy machine a loop still finishing the last one would not wake).
    await until(() => workers.every(asleep), 10_000, 'every worker\'s loop asleep');
    assert.equal((await request(port, { path: '/', headers: { Connection: 'close' } })).status, 200);
  }
  await until(() => workers.every(asleep), 10_000, 'every worker\'s loop asleep at the end');
  return loopSleeps(workers).reduce((sum, v, j) => sum + v - (before[j] as number), 0) / n;
}

/** Whether the process's main thread is asleep (state S in /proc/PID/task/PID/stat). */
function asleep(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'S';
  } catch {
    return false;
  }
}

function appDir(): string {
  const dir = makeTempDir('thunder');
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'asgi_app.py'), ASGI_APP);
  return dir;
}

async function startLocked(extra: string[] = [], processes = 4, dir = appDir()): Promise<ServerProcess> {
  return startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', dir, '--master', '--processes', String(processes), '--thunder-lock', '--disable-logging', ...(extra.length > 0 ? extra : ['--wsgi-file', 'app.py'])]);
}

/** `n` requests at once: half on fresh Connection: close connections, half as 4 requests on kept-alive ones. */
async function burst(port: number, n: number): Promise<{ statuses: number[]; pids: Set<string> }> {
  const pids = new Set<string>();
  const closing = Array.from({ length: n / 2 }, async () => {
    const res = await request(port, { path: '/', headers: { Connection: 'close' } });
    pids.add(res.body.toString());
    return [res.status];
  });
  const keptAlive = Array.from({ length: n / 8 }, async () => {
    const conn = await HttpConnection.open(port);
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const res = await conn.request({ path: '/' });
        pids.add(res.body.toString());
        statuses.push(res.status);
      }
    } finally {
      conn.close();
    }
    return statuses;
  });
  const statuses = (await Promise.all([...closing, ...keptAlive])).flat();
  return { statuses, pids };
}

describe('--thunder-lock', () => {
  test('the banner says so, as uWSGI\'s; without it, no worker takes the lock', async () => {
    const uwsgi = await startUwsgi(['--plugin', 'python3', '--http-socket', '127.0.0.1:0', '--wsgi-file', join(repoRoot(), 'examples', 'hello.py'), '--master', '--thunder-lock', '--die-on-term']).catch(() => undefined);
    if (uwsgi !== undefined) {
      try {
        assert.match(uwsgi.logs(), /^thunder lock: enabled$/m);
      } finally {
        await uwsgi.stop();
      }
    }
    const plain = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', join(repoRoot(), 'examples', 'hello.py'), '--master', '--processes', '2']);
    try {
      assert.match(plain.logs(), /^thunder lock: disabled \(you can enable it with --thunder-lock\)$/m);
      assert.equal((await request(plain.httpPort as number)).status, 200);
      let idle = lockState(plain);
      await until(() => {
        idle = lockState(plain);
        return idle.workers.length === 2 && idle.watching.length === 2;
      }, 20_000, 'without the lock, both workers watch the listener');
      assert.deepEqual(idle.holders, []);
    } finally {
      await plain.stop();
    }
  });

  test('processes=4: one holder while idle; a burst of keep-alive and close requests all served, by several workers', async () => {
    const server = await startLocked();
    try {
      assert.match(server.logs(), /^thunder lock: enabled$/m);
      assert.doesNotMatch(server.logs(), /thunder-lock' is not implemented/);
      assert.doesNotMatch(server.logs(), /thunder lock.*accepting without it/);
      const port = server.httpPort as number;
      await oneHolder(server, 4, 'at start');
      const { statuses, pids } = await burst(port, 200);
      assert.equal(statuses.length, 200);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
      assert.ok(pids.size >= 2, `served by ${pids.size} worker(s)`);
      await oneHolder(server, 4, 'after the burst');
    } finally {
      await server.stop();
    }
  });

  test('a slow request does not keep the lock: the others go on accepting meanwhile', async () => {
    const dir = appDir();
    const server = await startLocked(['--wsgi-file', 'app.py'], 2, dir);
    try {
      const port = server.httpPort as number;
      await oneHolder(server, 2, 'at start');
      const slow = request(port, { path: '/slow?3', timeoutMs: 10_000 });
      // The app writes its pid to slow.pid as the slow request starts.
      const marker = join(dir, 'slow.pid');
      await until(() => existsSync(marker) && readFileSync(marker, 'latin1') !== '', 10_000, 'the slow request to start');
      const slowPid = Number(readFileSync(marker, 'latin1'));
      await until(() => {
        const s = lockState(server);
        return s.holders.length === 1 && s.holders[0] !== slowPid;
      }, 10_000, 'the other worker to hold the lock');
      const started = Date.now();
      for (let i = 0; i < 10; i++) {
        const res = await request(port, { path: '/', headers: { Connection: 'close' } });
        assert.equal(res.status, 200);
        assert.notEqual(res.body.toString(), String(slowPid));
      }
      assert.ok(Date.now() - started < 2500, 'served while /slow runs');
      assert.equal((await slow).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('kill -9 of the holder: another worker takes the lock and requests go on', async () => {
    const server = await startLocked();
    try {
      const port = server.httpPort as number;
      const holder = await oneHolder(server, 4, 'at start');
      process.kill(holder, 'SIGKILL');
      await until(() => {
        const s = lockState(server);
        return !s.workers.includes(holder) && s.holders.length === 1 && s.holders[0] !== holder;
      }, 20_000, 'a new holder');
      for (let i = 0; i < 20; i++) assert.equal((await request(port, { path: '/', headers: { Connection: 'close' } })).status, 200);
      await oneHolder(server, 4, 'after the respawn');
      const { statuses } = await burst(port, 80);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
    } finally {
      await server.stop();
    }
  });

  test('a connection wakes one idle worker\'s loop, not all of them (6 workers, with and without the lock)', async (t) => {
    const rates: Record<string, number> = {};
    for (const locked of [false, true]) {
      const args = ['--http-socket', '127.0.0.1:0', '--wsgi-file', join(repoRoot(), 'examples', 'hello.py'), '--master', '--processes', '6', '--disable-logging'];
      const server = await startNuwsgi(locked ? [...args, '--thunder-lock'] : args);
      try {
        let workers: number[] = [];
        await until(() => (workers = descendants(server.pid)).length === 6, 20_000, 'six workers');
        if (locked) await oneHolder(server, 6, 'at start');
        else await until(() => workers.every((pid) => watchesListener(pid)), 20_000, 'every worker watching');
        for (let i = 0; i < 12; i++) await request(server.httpPort as number, { path: '/', headers: { Connection: 'close' } }); // every worker warm
        rates[locked ? 'locked' : 'unlocked'] = await wakeUpsPerConnection(server, workers, 150);
      } finally {
        await server.stop();
      }
    }
    const { locked, unlocked } = rates as { locked: number; unlocked: number };
    t.diagnostic(`loop wake-ups per connection: ${unlocked.toFixed(2)} without the lock, ${locked.toFixed(2)} with it`);
    // Without the lock every idle loop wakes (the kernel wakes each epoll watching the socket): about one per worker.
    assert.ok(unlocked >= 5, `without the lock: ${unlocked.toFixed(2)} loop wake-ups per connection`);
    // With it: the holder's, and the next holder's as its lock arrives (its threadpool thread is not a loop wake-up).
    assert.ok(locked < 4 && locked < unlocked * 0.7, `with the lock: ${locked.toFixed(2)} loop wake-ups per connection (without: ${unlocked.toFixed(2)})`);
  });

  test('several sockets (two HTTP, one uwsgi): the holder alone watches all three; each is served, also all at once', async () => {
    const dir = appDir();
    const server = await startLocked(['--wsgi-file', 'app.py', '--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0'], 3, dir);
    try {
      const [http1, http2, uwsgi] = server.ports as [number, number, number];
      const holder = await oneHolder(server, 3, 'at start');
      // The listeners are descriptors 5, 6 and 7 in every worker, in socket order.
      await until(() => {
        const s = lockState(server);
        return s.holders.length === 1 && s.workers.every((pid) => [5, 6, 7].every((fd) => watchesListener(pid, fd) === (pid === s.holders[0])));
      }, 20_000, `only the holder (${holder} at first) watching descriptors 5, 6 and 7`);
      assert.equal((await request(http2, { path: '/', headers: { Connection: 'close' } })).status, 200);
      assert.equal((await uwsgiRequest(uwsgi, { path: '/' })).status, 200);
      const mixed = await Promise.all([
        burst(http1, 48),
        burst(http2, 48),
        Promise.all(Array.from({ length: 24 }, () => uwsgiRequest(uwsgi, { path: '/' }).then((r) => r.status))),
      ]);
      assert.deepEqual([...mixed[0].statuses, ...mixed[1].statuses, ...mixed[2]].filter((s) => s !== 200), []);
      await oneHolder(server, 3, 'after the mixed burst');
    } finally {
      await server.stop();
    }
  });

  test('kill -9 of the holder and of a waiter under load: the load goes on, and nothing is lost after the respawn', async () => {
    const server = await startLocked();
    try {
      const port = server.httpPort as number;
      const holder = await oneHolder(server, 4, 'at start');
      const killed = [holder, lockState(server).waiters.find((pid) => pid !== holder) as number];
      const spawned = count(server, /spawned nuwsgi worker|Respawned nuwsgi worker/);
      const killing = (async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, 300));
        for (const pid of killed) process.kill(pid, 'SIGKILL');
        await until(() => count(server, /Respawned nuwsgi worker|spawned nuwsgi worker/) >= spawned + 2, 20_000, 'two respawns');
      })();
      const during = await loadWhile(port, 6, killing, '/', { close: true }); // 6 clients
      await killing;
      // A killed worker loses the connections it had accepted, as without the lock (where 0-3 of them failed
      // in the same test): one in flight per client at most. The kills must not stop the load.
      assert.ok(during.failures.length <= 6, `failures during the kills: ${JSON.stringify(during.failures)}`);
      assert.ok(during.ok > 20, `${during.ok} requests during the kills`);
      await oneHolder(server, 4, 'after the respawns');
      const after = await loadWhile(port, 6, new Promise((r) => setTimeout(r, 1500)), '/', { close: true });
      assert.deepEqual(after.failures, []);
      assert.ok(after.ok > 20, `${after.ok} requests after the respawns`);
      const { statuses } = await burst(port, 80);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
    } finally {
      await server.stop();
    }
  });

  test('SIGHUP under load (keep-alive and close clients): no request lost; the new workers share the lock', async () => {
    const server = await startLocked();
    try {
      const port = server.httpPort as number;
      await oneHolder(server, 4, 'at start');
      const reloaded = (async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, 300));
        server.signal('SIGHUP');
        await until(() => count(server, /buried after/) >= 4, 30_000, 'the old workers to drain');
        for (let i = 0; i < 20; i++) await request(port, { path: '/' });
      })();
      const [keepAlive, closing] = await Promise.all([loadWhile(port, 4, reloaded), loadWhile(port, 4, reloaded, '/', { close: true })]);
      await reloaded;
      assert.deepEqual([...keepAlive.failures, ...closing.failures], []);
      assert.ok(keepAlive.ok + closing.ok > 50, `${keepAlive.ok + closing.ok} requests`);
      await oneHolder(server, 4, 'after the reload');
      const stop = await server.stop();
      assert.equal(stop.code, 0);
    } finally {
      await server.stop();
    }
  });

  test('--threads and --asgi workers take turns too', async () => {
    for (const extra of [['--wsgi-file', 'app.py', '--threads', '4'], ['--asgi', 'asgi_app:app']]) {
      const server = await startLocked(extra, 2);
      try {
        const port = server.httpPort as number;
        await oneHolder(server, 2, extra.join(' '));
        const { statuses } = await burst(port, 80);
        assert.deepEqual(statuses.filter((s) => s !== 200), [], extra.join(' '));
        await oneHolder(server, 2, `${extra.join(' ')}, after the burst`);
      } finally {
        await server.stop();
      }
    }
  });
});
