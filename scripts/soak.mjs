#!/usr/bin/env node
// `npm run soak -- --minutes N`: Flask and Django under steady load for N
// minutes, through graceful reloads (SIGHUP), chain reloads (master FIFO `c`
// and --touch-chain-reload), --max-requests recycling and `kill -9` of a
// random worker; every minute the RSS and PSS of every process and the failed
// requests; a verdict at the end. See docs/fuzzing.md.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3'; // Debian's, with python3-flask and python3-django
/** Memory is flat when the last minute's median is within this of the second minute's (or MIN_SLACK_MB). */
const FLAT_RATIO = 0.15;
const FLAT_MIN_SLACK_MB = 3;
const SAMPLE_MS = 5000;

const USAGE = `usage: npm run soak -- [--minutes N] [--lanes L] [--max-requests R] [--apps flask,django]
  --minutes N       duration (default 10; at least 3 for a verdict)
  --lanes L         keep-alive client connections per app, one request at a time each (default 4)
  --max-requests R  --max-requests of the servers (default 1000)
  --apps LIST       flask,django (default both, side by side)
  --report FILE     print the memory verdict of a saved soak.json again, and exit`;

function parseArgs(argv) {
  const o = { minutes: 10, lanes: 4, maxRequests: 1000, apps: ['flask', 'django'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--minutes') o.minutes = Number(v());
    else if (a === '--lanes') o.lanes = Number(v());
    else if (a === '--max-requests') o.maxRequests = Number(v());
    else if (a === '--apps') o.apps = v().split(',');
    else if (a === '--report') o.report = v();
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown option ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
  return o;
}

const APPS = {
  flask: {
    args: (dir) => ['--chdir', join(ROOT, 'examples'), '--wsgi-file', join(ROOT, 'examples', 'flask_app.py')],
    requests: [
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/json?x=1' },
      { method: 'POST', path: '/echo', body: 'x'.repeat(2000), type: 'application/octet-stream' },
    ],
  },
  django: {
    args: () => ['--chdir', join(ROOT, 'examples'), '--module', 'django_project.wsgi:application', '--env', 'DJANGO_SETTINGS_MODULE=django_project.settings'],
    requests: [
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/items/42' },
      { method: 'POST', path: '/form', body: 'name=soak&x=' + 'y'.repeat(500), type: 'application/x-www-form-urlencoded' },
    ],
  },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Processes and memory, from /proc.

/** Members of a process group, with their role from the title (--auto-procname). */
function groupMembers(pgid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const worker = /worker (\d+)/.exec(cmdline);
      const pid = Number(name);
      out.push({ pid, role: pid === pgid ? 'master' : worker ? `worker ${worker[1]}` : cmdline.slice(0, 30) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out.sort((a, b) => a.role.localeCompare(b.role));
}

function memoryOf(pid) {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return { rssMb: rss ? Number(rss[1]) / 1024 : NaN, pssMb: pss ? Number(pss[1]) / 1024 : NaN };
  } catch {
    return null;
  }
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Least-squares slope of `points` ({ x: minutes, y: MB }), in MB per minute. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
}

/**
 * The memory verdict, per app and role (master, workers): flat when the last
 * minute's median RSS is within the tolerance of the second minute's; also
 * the per-minute medians, the first and last minutes' RSS and PSS, and the
 * slope from minute 2 on (every sample, least squares), since a slow steady
 * climb can stay inside the tolerance in a short run. True when all are flat.
 */
/** Worker processes a master started, from its log. */
function workersSpawned(logFile) {
  return (readFileSync(logFile, 'utf8').match(/^(?:spawned nuwsgi worker|Respawned nuwsgi worker)/gm) ?? []).length;
}

function memoryVerdict(samples, apps, minutes) {
  if (minutes < 3) {
    console.log('memory: no verdict under 3 minutes');
    return true;
  }
  let flat = true;
  const last = Math.floor(minutes) - 1;
  for (const app of apps) {
    for (const role of ['master', 'worker']) {
      const mine = samples.filter((x) => x.app === app && x.role.startsWith(role));
      const inMinute = (min) => mine.filter((x) => x.t >= min * 60_000 && x.t < (min + 1) * 60_000);
      const pick = (min, key = 'rssMb') => median(inMinute(min).map((x) => x[key]));
      const second = pick(1);
      const lastMin = pick(last);
      const ok = lastMin <= second + Math.max(second * FLAT_RATIO, FLAT_MIN_SLACK_MB);
      flat &&= ok;
      console.log(`memory ${app} ${role}s: RSS median minute 2 ${second.toFixed(1)} MB, minute ${last + 1} ${lastMin.toFixed(1)} MB -> ${ok ? 'flat' : 'GROWING'}`);
      const curve = Array.from({ length: last + 1 }, (_, m) => pick(m).toFixed(1)).join(' ');
      console.log(`  RSS median per minute: ${curve}`);
      const fromSecond = mine.filter((x) => x.t >= 60_000);
      const per = (key) => slope(fromSecond.filter((x) => Number.isFinite(x[key])).map((x) => ({ x: x.t / 60_000, y: x[key] })));
      console.log(`  first/last minute medians: RSS ${pick(0).toFixed(1)} / ${lastMin.toFixed(1)} MB, PSS ${pick(0, 'pssMb').toFixed(1)} / ${pick(last, 'pssMb').toFixed(1)} MB; slope from minute 2: RSS ${per('rssMb').toFixed(3)} MB/min, PSS ${per('pssMb').toFixed(3)} MB/min`);
    }
  }
  return flat;
}

// ---------------------------------------------------------------------------
// One app server.

async function startServer(name, dir, venv, maxRequests) {
  const port = await freePort();
  const fifo = join(dir, `${name}.fifo`);
  const touch = join(dir, `${name}.chain`);
  writeFileSync(touch, '');
  const args = [
    join(ROOT, 'bin', 'nuwsgi'), '--master', '--processes', '2', '--http-socket', `127.0.0.1:${port}`, '--home', venv,
    '--max-requests', String(maxRequests), '--master-fifo', fifo, '--touch-chain-reload', touch, '--auto-procname',
    '--disable-logging', '--die-on-term', ...APPS[name].args(dir),
  ];
  const logFile = join(dir, `${name}.log`);
  const logFd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  const server = { name, proc, port, fifo, touch, logFile, exited: null, kills: [] };
  proc.on('exit', (code, signal) => (server.exited = { code, signal }));
  const deadline = Date.now() + 90_000;
  for (;;) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if ((log.match(/WSGI app 0 .* ready/g) ?? []).length >= 2) break;
    if (server.exited || Date.now() > deadline) throw new Error(`${name} did not start:\n${log.slice(-3000)}`);
    await sleep(200);
  }
  return server;
}

async function stopServer(server) {
  if (server.exited) return;
  const gone = new Promise((r) => server.proc.once('exit', r));
  try {
    process.kill(-server.proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(-server.proc.pid, 'SIGKILL');
    } catch {}
  }, 20_000);
  await gone;
  clearTimeout(t);
  try {
    process.kill(-server.proc.pid, 'SIGKILL');
  } catch {}
}

function writeFifo(path, text) {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// The client: L lanes per app, each one keep-alive connection, one request at a time.

function oneRequest(agent, port, spec) {
  return new Promise((resolve) => {
    const started = Date.now();
    const headers = spec.body ? { 'Content-Type': spec.type, 'Content-Length': Buffer.byteLength(spec.body) } : {};
    const req = httpRequest({ host: '127.0.0.1', port, method: spec.method, path: spec.path, agent, headers, timeout: 30_000 });
    let gotResponse = false;
    let clientPort = 0;
    req.on('socket', (sock) => {
      if (sock.localPort !== undefined) clientPort = sock.localPort;
      else sock.once('connect', () => (clientPort = sock.localPort));
    });
    req.on('response', (res) => {
      gotResponse = true;
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => resolve({ started, ended: Date.now(), status: res.statusCode, error: null, reused: req.reusedSocket, bytes, port: clientPort }));
      res.on('error', (e) => resolve({ started, ended: Date.now(), status: res.statusCode, error: e.code ?? e.message, reused: req.reusedSocket, gotResponse, port: clientPort }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout (30 s)')));
    req.on('error', (e) => {
      if (!gotResponse) resolve({ started, ended: Date.now(), status: 0, error: e.code ?? e.message, reused: req.reusedSocket, gotResponse, port: clientPort });
    });
    req.end(spec.body);
  });
}

/**
 * A failure is allowed when the request went over a connection the killed
 * worker held at the moment of the kill (its client port is among the
 * worker's sockets, read from /proc before the kill), and it was in flight
 * then or sent within 2 s after, before the client could see the close.
 */
function isOnKilledConnection(r, kill) {
  return kill.ports.has(r.port) && r.started <= kill.at + 2000 && r.ended >= kill.at;
}

/** Client ports of the TCP connections a process holds (its socket inodes matched in /proc/net/tcp{,6}). */
function clientPortsOf(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  const ports = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9])) ports.add(parseInt(f[2].split(':')[1], 16));
    }
  }
  return ports;
}

function startLoad(server, lanes, stats, stopAt) {
  const specs = APPS[server.name].requests;
  return Array.from({ length: lanes }, async (_, lane) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = lane; Date.now() < stopAt(); i++) {
      const spec = specs[i % specs.length];
      let r = await oneRequest(agent, server.port, spec);
      // RFC 9112 §9.3.1: a client may retry an idempotent request whose
      // reused keep-alive connection closed before any response (the race
      // every keep-alive server has when it closes an idle connection).
      if (r.status === 0 && r.reused && spec.method === 'GET') {
        stats.retried++;
        if (!server.kills.some((k) => isOnKilledConnection(r, k))) {
          stats.retriedNotKill++;
          console.log(`  retried ${server.name} ${spec.method} ${spec.path} after ${r.error} on a reused connection no kill explains`);
        }
        r = await oneRequest(agent, server.port, spec);
      }
      stats.requests++;
      stats.minute.requests++;
      if (r.status >= 200 && r.status < 400 && r.error === null) continue;
      const allowed = r.status === 0 && server.kills.some((k) => isOnKilledConnection(r, k));
      const rec = { app: server.name, spec: `${spec.method} ${spec.path}`, status: r.status, error: r.error, reused: r.reused, at: new Date(r.ended).toISOString(), allowed };
      (allowed ? stats.allowed : stats.failures).push(rec);
      stats.minute.failed++;
      if (!allowed) console.log(`  FAILED ${rec.app} ${rec.spec}: ${rec.status || ''} ${rec.error ?? ''} (reused connection: ${rec.reused})`);
    }
    agent.destroy();
  });
}

// ---------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.report !== undefined) {
    const saved = JSON.parse(readFileSync(o.report, 'utf8'));
    process.exit(memoryVerdict(saved.samples, saved.options.apps, saved.options.minutes) ? 0 : 1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-soak-'));
  console.log(`nuwsgi soak: ${o.minutes} min, apps ${o.apps.join(', ')}, ${o.lanes} lanes each, max-requests ${o.maxRequests}; logs in ${dir}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const venv = join(dir, 'venv');
  const mk = spawnSync(PYTHON, ['-m', 'venv', '--without-pip', '--system-site-packages', venv], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`venv: ${mk.stderr}`);
  const servers = [];
  const stats = { requests: 0, retried: 0, retriedNotKill: 0, failures: [], allowed: [], minute: { requests: 0, failed: 0 } };
  const events = [];
  const samples = []; // { t, app, role, pid, rssMb, pssMb }
  let stopping = false;
  const cleanup = async () => {
    stopping = true;
    for (const s of servers) await stopServer(s);
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    for (const name of o.apps) servers.push(await startServer(name, dir, venv, o.maxRequests));
    const t0 = Date.now();
    const end = t0 + o.minutes * 60_000;
    const load = servers.flatMap((s) => startLoad(s, o.lanes, stats, () => (stopping ? 0 : end)));

    // Disruptions, in a 60 s cycle, each app on its own schedule.
    const disrupt = async () => {
      const cycle = [
        [10_000, 'SIGHUP (graceful reload)', (s) => void process.kill(s.proc.pid, 'SIGHUP')],
        [25_000, 'chain reload (master FIFO c)', (s) => writeFifo(s.fifo, 'c')],
        [40_000, 'chain reload (touch-chain-reload)', (s) => {
          const now = new Date();
          utimesSync(s.touch, now, now);
        }],
        [50_000, 'kill -9 of a random worker', (s) => {
          const workers = groupMembers(s.proc.pid).filter((m) => m.role.startsWith('worker'));
          if (workers.length === 0) return 'no worker to kill';
          const victim = workers[Math.floor(Math.random() * workers.length)];
          const ports = clientPortsOf(victim.pid);
          try {
            process.kill(victim.pid, 'SIGKILL');
          } catch (err) {
            // Recycled and reaped since it was listed: nothing was killed, nothing may fail for it.
            if (err.code === 'ESRCH') return `${victim.role} pid ${victim.pid} had exited already (no kill)`;
            throw err;
          }
          s.kills.push({ at: Date.now(), ports });
          return `${victim.role} pid ${victim.pid}, holding ${ports.size} client connections`;
        }],
      ];
      for (let minute = 0; Date.now() < end - 5_000; minute++) {
        for (const [offset, what, act] of cycle) {
          const at = t0 + minute * 60_000 + offset;
          while (Date.now() < at) {
            if (Date.now() >= end - 5_000 || stopping) return;
            await sleep(200);
          }
          for (const s of servers) {
            if (s.exited) continue;
            let detail;
            try {
              detail = act(s);
            } catch (err) {
              detail = `failed: ${err.message}`; // the tool's own trouble: recorded, never an unhandled rejection that leaves the servers running
            }
            events.push({ t: Date.now() - t0, app: s.name, what: what + (typeof detail === 'string' ? `: ${detail}` : '') });
          }
        }
      }
    };
    const disruptions = disrupt();

    // Memory every SAMPLE_MS; a report every minute.
    let nextReport = t0 + 60_000;
    let reported = 0;
    while (Date.now() < end) {
      await sleep(Math.min(SAMPLE_MS, Math.max(0, end - Date.now())));
      const t = Date.now() - t0;
      for (const s of servers) {
        for (const m of groupMembers(s.proc.pid)) {
          const mem = memoryOf(m.pid);
          if (mem) samples.push({ t, app: s.name, role: m.role, pid: m.pid, ...mem });
        }
        if (s.exited) throw new Error(`${s.name} master exited: ${JSON.stringify(s.exited)}`);
      }
      if (Date.now() >= nextReport || Date.now() >= end) {
        const minute = Math.round((Date.now() - t0) / 60_000);
        console.log(`\nminute ${minute}: ${stats.minute.requests} requests, ${stats.minute.failed} failed; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
        for (const s of servers) {
          for (const m of groupMembers(s.proc.pid)) {
            const mem = memoryOf(m.pid);
            if (mem) console.log(`  ${s.name.padEnd(7)} ${m.role.padEnd(9)} pid ${String(m.pid).padEnd(8)} RSS ${mem.rssMb.toFixed(1).padStart(7)} MB  PSS ${mem.pssMb.toFixed(1).padStart(7)} MB`);
          }
        }
        for (const e of events.filter((e) => e.t > reported && e.t <= t)) console.log(`  event at ${(e.t / 1000).toFixed(0)} s, ${e.app}: ${e.what}`);
        reported = t;
        stats.minute = { requests: 0, failed: 0 };
        nextReport += 60_000;
      }
    }
    await disruptions;
    await Promise.all(load);
  } finally {
    await cleanup();
  }

  // Verdict.
  console.log(`\n== verdict`);
  console.log(`requests: ${stats.requests} (${stats.retried} GETs retried once after a reused keep-alive connection closed before any response; ${stats.retriedNotKill} of them not on a killed worker's connection)`);
  console.log(`failed: ${stats.failures.length + stats.allowed.length}; allowed (no response, on a connection the killed worker held, sent before the client could see it close): ${stats.allowed.length}; not allowed: ${stats.failures.length}`);
  for (const f of stats.failures.slice(0, 20)) console.log(`  ${f.at} ${f.app} ${f.spec}: ${f.status || ''} ${f.error ?? ''} reused=${f.reused}`);
  const flat = memoryVerdict(samples, servers.map((s) => s.name), o.minutes);
  console.log(`workers spawned: ${servers.map((s) => `${s.name} ${workersSpawned(join(dir, `${s.name}.log`))}`).join(', ')}`);
  writeFileSync(join(dir, 'soak.json'), JSON.stringify({ options: o, requests: stats.requests, retried: stats.retried, failures: stats.failures, allowed: stats.allowed, events, samples }, null, 1));
  console.log(`samples and events: ${join(dir, 'soak.json')}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const ok = flat && stats.failures.length === 0;
  console.log(ok ? 'OK: memory flat, no failure outside killed in-flight requests' : 'FAILED');
  if (ok) rmSync(join(dir, 'venv'), { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
