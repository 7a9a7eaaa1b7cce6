#!/usr/bin/env node
// `npm run bench:memory`: what each process of a server holds once loaded, by
// mapping (smaps), and how long a worker takes from spawn to ready. One server
// at a time, HTTP keep-alive requests from this process, no wrk. See bench/README.md.
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fail, freePort, listOf, parseFlags } from './lib/cli.mjs';
import { processTree, readProcText } from './lib/proc-tree.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const APPS = { hello: join(ROOT, 'examples', 'hello.py'), flask: join(ROOT, 'examples', 'flask_app.py') };

const USAGE = `usage: node bench/memory.mjs [options] [-- extra server args]
  --servers LIST     nuwsgi,uwsgi (default both; env BENCH_SERVERS)
  --apps LIST        hello,flask (default both; env BENCH_APPS)
  --processes N      workers (default 2; env BENCH_PROCESSES)
  --requests N       requests sent before measuring (default 2000; env BENCH_REQUESTS)
  --runs N           start each server N times, print every run (default 1)
  --python PATH      interpreter for nuwsgi (default /usr/bin/python3, as Debian's uWSGI)
  --node-flags STR   flags for nuwsgi's node (the master; workers inherit them), e.g. "--v8-pool-size=0"
  --json             print the measurements as JSON too`;

function parseOptions(argv) {
  const dash = argv.indexOf('--');
  const extra = dash < 0 ? [] : argv.slice(dash + 1);
  const env = process.env;
  const o = {
    servers: env.BENCH_SERVERS ?? 'nuwsgi,uwsgi', apps: env.BENCH_APPS ?? 'hello,flask',
    processes: env.BENCH_PROCESSES ?? '2', requests: env.BENCH_REQUESTS ?? '2000', runs: '1',
    python: env.BENCH_PYTHON ?? '/usr/bin/python3', 'node-flags': '', json: 'no', install: true, save: true,
  };
  const flags = (dash < 0 ? argv : argv.slice(0, dash)).map((a) => (a === '--json' ? '--json=yes' : a));
  parseFlags(flags, o, USAGE);
  return {
    servers: listOf(o.servers, ['nuwsgi', 'uwsgi'], 'server'), apps: listOf(o.apps, Object.keys(APPS), 'app'),
    processes: Number(o.processes), requests: Number(o.requests), runs: Number(o.runs), python: o.python,
    json: o.json === 'yes', extra, nodeFlags: o['node-flags'].split(' ').filter(Boolean),
  };
}

function command(server, app, port, opts) {
  const common = ['--master', '--processes', String(opts.processes), '--http-socket', `127.0.0.1:${port}`, '--wsgi-file', APPS[app]];
  if (server === 'nuwsgi') return { cmd: process.execPath, args: [...opts.nodeFlags, join(ROOT, 'bin', 'nuwsgi'), ...common, '--python', opts.python, ...opts.extra] };
  return { cmd: 'uwsgi', args: ['--plugin', 'python3', ...common, '--die-on-term', ...opts.extra] };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `n` "ready" log lines arrived; records when each worker was spawned and became ready. */
function watchLog(child) {
  const events = { spawned: new Map(), ready: new Map(), cpuMs: new Map(), text: '' };
  const onData = (chunk) => {
    const now = performance.now();
    events.text += chunk;
    for (const line of chunk.toString().split('\n')) {
      const s = /spawned (?:nuwsgi|uWSGI) worker \d+ \(pid: (\d+)/.exec(line);
      if (s) events.spawned.set(Number(s[1]), now);
      const r = /app 0 .* ready in .* pid: (\d+)/.exec(line);
      if (r) {
        events.ready.set(Number(r[1]), now);
        events.cpuMs.set(Number(r[1]), cpuMs(Number(r[1])));
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return events;
}

/** CPU time (user + system) a process has used so far: startup cost without the machine's load in it. */
function cpuMs(pid) {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
}

async function get(agent, port, keepAlive) {
  return new Promise((resolve, reject) => {
    const req = request({ agent, port, host: '127.0.0.1', path: '/', headers: keepAlive ? {} : { Connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(port, total, keepAlive) {
  // uWSGI's --http-socket closes after each response: no keep-alive for it.
  const agent = keepAlive ? new Agent({ keepAlive, maxSockets: 8 }) : false;
  let left = total;
  const lane = async () => {
    while (left-- > 0) await get(agent, port, keepAlive);
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  if (agent) agent.destroy();
}

/** Groups a process's smaps by what the mapping is; kB of Pss and Private per group. */
export function smapsGroups(pid) {
  const text = readProcText(`/proc/${pid}/smaps`) ?? '';
  const groups = {};
  let name = '';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      name = classify(head[2], head[1]);
      continue;
    }
    const m = /^(Pss|Private_Dirty|Private_Clean|Rss):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const g = (groups[name] ??= { Rss: 0, Pss: 0, Private_Dirty: 0, Private_Clean: 0 });
    g[m[1]] += Number(m[2]);
  }
  return groups;
}

function classify(path, perms) {
  if (path === '') return 'anon';
  if (path === '[heap]') return 'brk heap';
  if (path.startsWith('[stack')) return 'stacks';
  if (path.startsWith('[')) return path;
  if (/\/node$|\/uwsgi(-core)?$/.test(path)) return `binary ${perms.includes('x') ? 'text' : 'data'}`;
  if (/libpython/.test(path)) return 'libpython';
  if (/koffi/.test(path)) return 'koffi';
  if (/\/python3[^/]*\/.*\.so/.test(path)) return 'python ext .so';
  if (/\.so/.test(path)) return 'other .so';
  if (/\/dev\/shm|memfd|SYSV|deleted/.test(path)) return 'shm';
  return 'other files';
}

function rollup(pid) {
  const text = readProcText(`/proc/${pid}/smaps_rollup`) ?? '';
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { pss: kb('Pss'), rss: kb('Rss'), anon: kb('Anonymous'), threads: Number(/^Threads:\s+(\d+)/m.exec(readProcText(`/proc/${pid}/status`) ?? '')?.[1] ?? 0) };
}

async function measureOne(server, app, opts) {
  const port = await freePort();
  const { cmd, args } = command(server, app, port, opts);
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events = watchLog(child);
  const deadline = Date.now() + 60_000;
  // uWSGI loads the app once in the master and forks: one "ready" line, then the workers' "spawned" lines.
  const started = () => (server === 'uwsgi' ? events.ready.size >= 1 && events.spawned.size >= opts.processes : events.ready.size >= opts.processes);
  while (!started()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGTERM');
      fail(`${server} did not become ready:\n${events.text}`);
    }
    await sleep(20);
  }
  const readyMs = performance.now() - t0;
  events.cpuMs.set(child.pid, cpuMs(child.pid)); // the master's startup: its CPU once every worker is ready
  const cpuBefore = processTree(child.pid).reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  await load(port, opts.requests, server === 'nuwsgi');
  const cpuUsPerRequest = ((processTree(child.pid).reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0) - cpuBefore) * 1000) / opts.requests;
  await sleep(1500);
  const pids = processTree(child.pid);
  const procs = pids.map((pid) => ({
    pid, role: pid === child.pid ? 'master' : 'worker', ...rollup(pid), groups: smapsGroups(pid),
    startCpuMs: events.cpuMs.get(pid),
    startMs: events.ready.has(pid) && events.spawned.has(pid) ? events.ready.get(pid) - events.spawned.get(pid) : undefined,
  }));
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
  return { server, app, readyMs, cpuUsPerRequest, procs, totalPss: procs.reduce((s, p) => s + p.pss, 0) };
}

const mb = (kb) => (kb / 1024).toFixed(1);

function print(result) {
  console.log(`\n== ${result.server} ${result.app}: tree PSS ${mb(result.totalPss)} MB, server CPU ${result.cpuUsPerRequest.toFixed(1)} µs/request, all ready ${result.readyMs.toFixed(0)} ms after start`);
  const names = [...new Set(result.procs.flatMap((p) => Object.keys(p.groups)))].sort();
  console.log(['pid', 'role', 'PSS', 'anon', 'thr', 'start ms', 'cpu ms', ...names.map((n) => n.padStart(8))].join('\t'));
  for (const p of result.procs) {
    const cells = names.map((n) => mb(p.groups[n]?.Pss ?? 0));
    console.log([p.pid, p.role, mb(p.pss), mb(p.anon), p.threads, p.startMs?.toFixed(0) ?? '-', p.startCpuMs ?? '-', ...cells].join('\t'));
  }
}

const opts = parseOptions(process.argv.slice(2));
const results = [];
for (const app of opts.apps) {
  for (const server of opts.servers) {
    for (let i = 0; i < opts.runs; i++) {
      const r = await measureOne(server, app, opts);
      print(r);
      results.push(r);
    }
  }
}
if (opts.json) console.log(JSON.stringify(results, null, 1));
