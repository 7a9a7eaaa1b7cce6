// Issue 16's proof: several nuwsgi hosts behind Debian's nginx lose no
// requests when one host is killed, one stopped and one reloaded.
//
// Three "hosts", each a network namespace made by the test (helpers/netns.ts:
// a veth pair on its own /30 of a free 10.x /24; traffic stays between the
// test's namespace and those), each running `nuwsgi --master --processes 2
// --socket ADDR:3031`. nginx listens on 127.0.0.1 with an upstream of the
// three and `uwsgi_next_upstream error timeout`. Under load (wrk for GETs when
// installed, plus the test's own bounded GET and POST loops) the test
//   (a) SIGKILLs host A's whole process tree,
//   (b) SIGTERMs host B (graceful stop) and waits for it to exit,
//   (c) SIGHUPs host C (graceful reload), the only one left, and waits for
//       the old workers to be buried,
// with enough traffic between the steps, and asserts: no failed GET at all
// (nginx retries idempotent requests on the next host), and every failed POST
// was in flight on host A when it was killed (nginx never retries a request
// it already sent, as `non_idempotent` is off): at most one per POST client,
// with A as its upstream. Namespaces, links, nginx and servers are removed on
// every path (after() hooks, the helpers' cleanup registries).
// FAILOVER_ORACLE=uwsgi runs the same scenario with Debian's uWSGI on the hosts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';

import { HttpConnection } from '../helpers/http';
import { until } from '../helpers/load';
import { makeHost, freeSubnet, netnsSkipReason, removeHost, type Host } from '../helpers/netns';
import { nginxSkipReason, startNginx, type NginxInstance } from '../helpers/nginx';
import { killGroup } from '../helpers/procs';
import { ServerProcess, nuwsgiBin, repoRoot, startServer } from '../helpers/server';
import { which } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const APP = join(repoRoot(), 'test', 'fixtures', 'apps', 'failover.py');
const PORT = 3031;
/** Concurrent clients of each in-process loop: also the bound on POSTs in flight. */
const GET_CLIENTS = 4;
const POST_CLIENTS = 4;
/** Hard bounds of the load, whatever happens. */
const MAX_REQUESTS_PER_LOOP = 200_000;
const LOAD_DEADLINE_MS = 90_000;
/** Successful requests of each loop between two steps: every host state sees traffic. */
const BETWEEN_STEPS = 150;

const skip = netnsSkipReason() ?? nginxSkipReason() ?? false;

// ---------------------------------------------------------------------------
// Hosts

interface RunningHost extends Host {
  name: string;
  server: ServerProcess;
}

/**
 * FAILOVER_ORACLE=uwsgi runs the same scenario with Debian's uWSGI on the
 * hosts (--die-on-term, so SIGTERM stops it), for comparison.
 */
const ORACLE = process.env['FAILOVER_ORACLE'] === 'uwsgi';

async function startHost(host: Host, name: string): Promise<RunningHost> {
  // --lazy-apps: each uWSGI worker loads the app, as each nuwsgi worker does.
  const command = ORACLE ? ['uwsgi', '--plugin', 'python3', '--die-on-term', '--lazy-apps'] : [process.execPath, nuwsgiBin()];
  const args = [
    ...['netns', 'exec', host.ns, ...command],
    ...['--master', '--processes', '2', '--socket', `${host.address}:${PORT}`, '--wsgi-file', APP],
    ...['--worker-reload-mercy', '20'],
  ];
  const server = await startServer(name, 'ip', args, { env: { FAILOVER_HOST: name } });
  try {
    // Readiness proves one worker answers; wait for both.
    await until(() => appsReady(server) >= 2, 30_000, `${name}: both workers ready`);
  } catch (err) {
    await server.stop('SIGKILL', 5_000);
    throw new Error(`${(err as Error).message}\n${server.logs().slice(-3000)}`);
  }
  return { ...host, name, server };
}

function appsReady(server: ServerProcess): number {
  return server.logs().match(/WSGI app 0 \(mountpoint=''\) ready/g)?.length ?? 0;
}

// ---------------------------------------------------------------------------
// nginx

const ACCESS_FORMAT = '$request_method $request_uri $status [$upstream_addr] [$upstream_status] $msec';

function nginxFor(hosts: readonly RunningHost[], logDir: string): Promise<NginxInstance> {
  return startNginx({
    httpExtra: [
      `log_format failover '${ACCESS_FORMAT}';`,
      'upstream nuwsgi_hosts {',
      // One failure marks a host down for 5 s; then one request probes it again.
      ...hosts.map((h) => `    server ${h.address}:${PORT} max_fails=1 fail_timeout=5s;`),
      '}',
    ],
    servers: [
      {
        extra: [`access_log ${join(logDir, 'failover.log')} failover;`],
        locations: [
          {
            path: '/',
            uwsgiPass: 'nuwsgi_hosts',
            extra: [
              // Refused or reset connections and timeouts go to the next host;
              // POSTs only when nothing was sent yet (non_idempotent is off).
              'uwsgi_next_upstream error timeout;',
              'uwsgi_connect_timeout 1s;',
              'uwsgi_read_timeout 15s;',
              'uwsgi_send_timeout 15s;',
            ],
          },
        ],
      },
    ],
  });
}

interface AccessEntry {
  method: string;
  uri: string;
  status: number;
  upstreams: string;
  upstreamStatus: string;
  msec: number;
}

function readAccessLog(path: string): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\S+) (\S+) (\d+) \[([^\]]*)\] \[([^\]]*)\] ([\d.]+)$/.exec(line);
    if (m === null) continue;
    entries.push({ method: m[1] as string, uri: m[2] as string, status: Number(m[3]), upstreams: m[4] as string, upstreamStatus: m[5] as string, msec: Number(m[6]) * 1000 });
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Load

interface Failure {
  at: number;
  what: string;
}

interface Loop {
  ok: number;
  sent: number;
  failures: Failure[];
  hosts: Map<string, number>;
  stop(): Promise<void>;
}

/** `clients` keep-alive connections to nginx sending requests until stop(), or the bounds. */
function startLoop(port: number, clients: number, method: 'GET' | 'POST'): Loop {
  let done = false;
  const deadline = Date.now() + LOAD_DEADLINE_MS;
  const body = Buffer.alloc(2048, 'p');
  const loop: Loop = {
    ok: 0,
    sent: 0,
    failures: [],
    hosts: new Map(),
    stop: async () => {
      done = true;
      await running;
    },
  };
  const client = async (c: number): Promise<void> => {
    let conn: HttpConnection | null = null;
    for (let i = 0; !done && loop.sent < MAX_REQUESTS_PER_LOOP && Date.now() < deadline; i++) {
      const path = method === 'GET' ? `/get?c=${c}&i=${i}` : `/post?c=${c}&i=${i}`;
      loop.sent++;
      try {
        conn ??= await HttpConnection.open(port);
        const res = await conn.request({ method, path, timeoutMs: 20_000, ...(method === 'POST' ? { body } : {}) });
        if (res.status !== 200) loop.failures.push({ at: Date.now(), what: `${method} ${path}: status ${res.status}` });
        else {
          loop.ok++;
          const host = res.body.toString().split(' ')[0] ?? '?';
          loop.hosts.set(host, (loop.hosts.get(host) ?? 0) + 1);
        }
        if ((res.headers['connection'] ?? '').toLowerCase() === 'close') {
          conn.close();
          conn = null;
        }
      } catch (err) {
        loop.failures.push({ at: Date.now(), what: `${method} ${path}: ${(err as Error).message}` });
        conn?.close();
        conn = null;
      }
    }
    conn?.close();
  };
  const running = Promise.all(Array.from({ length: clients }, (_, c) => client(c))).then(() => undefined);
  return loop;
}

interface Wrk {
  proc: ChildProcess;
  output(): string;
  /** SIGINT: wrk stops and prints its summary. */
  finish(): Promise<string>;
}

/** wrk GETs for at most LOAD_DEADLINE_MS, stopped early by finish(). */
function startWrk(port: number, t: TestContext): Wrk {
  let out = '';
  const proc = spawn('wrk', ['-t1', '-c8', `-d${Math.round(LOAD_DEADLINE_MS / 1000)}s`, '--timeout', '20s', `http://127.0.0.1:${port}/wrk`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return {
    proc,
    output: () => out,
    finish: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      await exited;
      return out;
    },
  };
}

interface WrkSummary {
  requests: number;
  non2xx: number;
  socketErrors: number;
}

function parseWrk(out: string): WrkSummary {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = se === null ? 0 : se.slice(1).reduce((n, v) => n + Number(v), 0);
  return { requests, non2xx, socketErrors };
}

/** Waits until each loop answered `n` more requests (so every host state sees traffic). */
async function traffic(loops: readonly Loop[], n: number, what: string): Promise<void> {
  const start = loops.map((l) => l.ok);
  await until(() => loops.every((l, i) => l.ok - (start[i] ?? 0) >= n), 30_000, `${n} more answered requests ${what}`);
}

// ---------------------------------------------------------------------------

describe('failover across nuwsgi hosts behind nginx', { skip }, () => {
  const hosts: Host[] = [];
  const running: RunningHost[] = [];
  after(async () => {
    for (const h of running) await h.server.stop('SIGKILL', 5_000);
    for (const h of hosts) removeHost(h);
  });

  test('SIGKILL, SIGTERM and SIGHUP of three hosts under load: no GET fails, only POSTs in flight on the killed host', { timeout: 150_000 }, async (t) => {
    const subnet = freeSubnet();
    for (let i = 0; i < 3; i++) hosts.push(makeHost(subnet, i));
    const names = ['hostA', 'hostB', 'hostC'];
    for (let i = 0; i < 3; i++) running.push(await startHost(hosts[i] as Host, names[i] as string));
    const [a, b, c] = running as [RunningHost, RunningHost, RunningHost];
    const logDir = makeTempDir('nuwsgi-failover-');
    const nginx = await nginxFor(running, logDir);
    t.after(() => nginx.stop());

    const gets = startLoop(nginx.port, GET_CLIENTS, 'GET');
    const posts = startLoop(nginx.port, POST_CLIENTS, 'POST');
    const wrk = which('wrk') !== undefined ? startWrk(nginx.port, t) : undefined;
    const loops = [gets, posts];
    const marks: Record<string, number> = {};
    let wrkOut = '';
    try {
      await traffic(loops, BETWEEN_STEPS, 'before the first step');
      await until(() => names.every((n) => (gets.hosts.get(n) ?? 0) > 0), 30_000, 'every host to answer');

      // (a) the whole of host A dies at once: master and workers.
      marks['kill'] = Date.now();
      killGroup(a.server.pid, 'SIGKILL');
      await a.server.waitForExit(10_000);
      marks['killed'] = Date.now();
      await traffic(loops, BETWEEN_STEPS, 'after SIGKILL of host A');

      // (b) host B stops gracefully.
      marks['term'] = Date.now();
      b.server.signal('SIGTERM');
      const exit = await b.server.waitForExit(30_000);
      marks['termed'] = Date.now();
      if (!ORACLE) assert.equal(exit.code, 0, `host B's exit after SIGTERM\n${b.server.logs()}`);
      await traffic(loops, BETWEEN_STEPS, 'after SIGTERM of host B');

      // (c) host C, the last one, reloads gracefully: new workers first, then the old ones drain.
      marks['hup'] = Date.now();
      c.server.signal('SIGHUP');
      await until(() => (c.server.logs().match(/buried after/g)?.length ?? 0) >= 2 && appsReady(c.server) >= 4, 60_000, 'host C to reload');
      marks['reloaded'] = Date.now();
      await traffic(loops, BETWEEN_STEPS, 'after SIGHUP of host C');
    } finally {
      // wrk first: its SIGINT closes connections with requests in flight, which nginx logs as 499 (client gave up).
      marks['wrkStop'] = Date.now();
      wrkOut = wrk !== undefined ? await wrk.finish() : '';
      await gets.stop();
      await posts.stop();
    }

    const access = readAccessLog(join(logDir, 'failover.log'));
    const wrkClosed = (e: AccessEntry): boolean => e.status === 499 && e.uri === '/wrk' && e.msec >= (marks['wrkStop'] ?? Infinity) - 5;
    const failed = access.filter((e) => e.status !== 200 && !wrkClosed(e));
    const failedGets = failed.filter((e) => e.method === 'GET');
    const failedPosts = failed.filter((e) => e.method === 'POST');
    const retried = access.filter((e) => e.upstreams.includes(','));
    const w = wrk !== undefined ? parseWrk(wrkOut) : undefined;
    const rel = (ms: number): string => `${((ms - (marks['kill'] ?? 0)) / 1000).toFixed(3)}s`;
    const summary = [
      `GET loop: ${gets.sent} sent, ${gets.ok} ok, ${gets.failures.length} failed; by host ${JSON.stringify(Object.fromEntries(gets.hosts))}`,
      `POST loop: ${posts.sent} sent, ${posts.ok} ok, ${posts.failures.length} failed; by host ${JSON.stringify(Object.fromEntries(posts.hosts))}`,
      w !== undefined ? `wrk: ${w.requests} requests, ${w.non2xx} non-2xx, ${w.socketErrors} socket errors` : 'wrk: not installed',
      `nginx: ${access.length} requests logged, ${failedGets.length} failed GETs, ${failedPosts.length} failed POSTs, ${retried.length} passed to a next host`,
      `host B's workers took ${[...b.server.logs().matchAll(/took (\d+) queued connection/g)].reduce((n, m) => n + Number(m[1]), 0)} queued connection(s) at SIGTERM (nuwsgi)`,
      `steps (from the SIGKILL): killed ${rel(marks['killed'] ?? 0)}, SIGTERM ${rel(marks['term'] ?? 0)}, B exited ${rel(marks['termed'] ?? 0)}, SIGHUP ${rel(marks['hup'] ?? 0)}, C reloaded ${rel(marks['reloaded'] ?? 0)}`,
      ...failed.map((e) => `  failed at ${rel(e.msec)}: ${e.method} ${e.uri} ${e.status} upstream ${e.upstreams} (${e.upstreamStatus})`),
      ...[...gets.failures, ...posts.failures].map((f) => `  client saw at ${rel(f.at)}: ${f.what}`),
    ].join('\n');
    for (const line of summary.split('\n')) t.diagnostic(line);
    const evidence = `${summary}\n--- nginx error.log (upstream lines)\n${nginx
      .errorLog()
      .split('\n')
      .filter((l) => /upstream/.test(l))
      .slice(-40)
      .join('\n')}\n--- host B's log (SIGTERM)\n${b.server.logs().slice(-4000)}`;

    assert.equal(gets.failures.length, 0, `GETs failed\n${evidence}`);
    assert.equal(failedGets.length, 0, `nginx answered GETs with an error\n${evidence}`);
    if (w !== undefined) {
      assert.ok(w.requests > 0, `wrk ran\n${wrkOut}`);
      assert.equal(w.non2xx + w.socketErrors, 0, `wrk saw failures\n${wrkOut}\n${evidence}`);
    }
    // A POST nginx already sent is never retried: those in flight on A when it died fail (at most one per client), no other.
    assert.equal(posts.failures.length, failedPosts.length, `every POST the client saw fail is in nginx's log as failed\n${evidence}`);
    assert.ok(failedPosts.length <= POST_CLIENTS, `at most one POST per client was in flight on host A\n${evidence}`);
    for (const e of failedPosts) {
      assert.equal(e.upstreams.split(/[ ,:]+/).includes(a.address), true, `a failed POST was not on host A\n${evidence}`);
      assert.ok(e.msec >= (marks['kill'] ?? 0) - 50 && e.msec <= (marks['term'] ?? Infinity), `a POST failed outside the SIGKILL step\n${evidence}`);
    }
    assert.ok(posts.ok > 3 * BETWEEN_STEPS && gets.ok > 3 * BETWEEN_STEPS, `enough traffic\n${summary}`);
  });
});
