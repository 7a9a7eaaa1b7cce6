#!/usr/bin/env node
// `node bench/static.mjs`: static files, nuwsgi's --static-map vs uWSGI's
// --static-map (with --offload-threads 2) vs nginx serving the same
// directory, with wrk: a 1 KiB and a 1 MiB file, keep-alive and close.
// Each server has 2 processes (nuwsgi/uWSGI: 2 workers; nginx: 2 worker
// processes). One server at a time; prints req/s and the ratios.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort } from './lib/cli.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: node bench/static.mjs [--duration SECS] [--connections N] [--servers nuwsgi,uwsgi,nginx] [--files 1k,1m] [--modes keepalive,close] [--rounds N]`;

function options(argv) {
  const o = { duration: 10, warmup: 2, connections: 50, threads: 2, servers: ['nuwsgi', 'uwsgi', 'nginx'], files: ['1k', '1m'], modes: ['keepalive', 'close'], rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (flag === '--duration') o.duration = Number(value);
    else if (flag === '--warmup') o.warmup = Number(value);
    else if (flag === '--connections') o.connections = Number(value);
    else if (flag === '--servers') o.servers = value.split(',');
    else if (flag === '--files') o.files = value.split(',');
    else if (flag === '--modes') o.modes = value.split(',');
    else if (flag === '--rounds') o.rounds = Number(value);
    else {
      console.error(USAGE);
      process.exit(2);
    }
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = new Set();
const killGroup = (pid) => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};
process.on('exit', () => started.forEach((s) => killGroup(s.pid)));
process.once('SIGINT', () => process.exit(130));


function spawnServer(name, cmd, args) {
  const proc = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { name, pid: proc.pid, logs: '', exit: undefined, command: [cmd, ...args].join(' ') };
  started.add(s);
  proc.stdout.on('data', (d) => (s.logs += d));
  proc.stderr.on('data', (d) => (s.logs += d));
  proc.on('exit', (code, signal) => (s.exit = { code, signal }));
  return s;
}

async function stop(s, signal) {
  try {
    process.kill(s.pid, signal);
  } catch {
    /* gone */
  }
  const deadline = Date.now() + 15_000;
  while (!s.exit && Date.now() < deadline) await sleep(50);
  killGroup(s.pid);
  started.delete(s);
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function ready(s, port, path) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (s.exit) throw new Error(`${s.name} exited: ${s.logs.slice(-2000)}`);
    if ((await get(port, path).catch(() => 0)) === 200) return;
    await sleep(50);
  }
  throw new Error(`${s.name} not ready: ${s.logs.slice(-2000)}`);
}

async function start(name, dir, port) {
  const app = join(dir, 'app.py');
  if (name === 'nuwsgi') {
    return spawnServer(name, process.execPath, [join(ROOT, 'bin', 'nuwsgi'), '--master', '--processes', '2', '--http-socket', `127.0.0.1:${port}`,
      '--wsgi-file', app, '--python', '/usr/bin/python3', '--disable-logging', '--static-map', `/static=${dir}/files`]);
  }
  if (name === 'uwsgi') {
    return spawnServer(name, 'uwsgi', ['--plugin', 'python3', '--master', '--processes', '2', '--http11-socket', `127.0.0.1:${port}`,
      '--wsgi-file', app, '--disable-logging', '--die-on-term', '--static-map', `/static=${dir}/files`, '--offload-threads', '2']);
  }
  const conf = join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`).join(' ');
  writeFileSync(conf, `${process.getuid?.() === 0 ? 'user root root;\n' : ''}daemon off;
worker_processes 2;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  include /etc/nginx/mime.types;
  ${temp}
  server { listen 127.0.0.1:${port}; location /static/ { alias ${dir}/files/; } }
}
`);
  return spawnServer(name, '/usr/sbin/nginx', ['-c', conf]);
}

/**
 * CPU seconds (user + system) used so far by every process in a process
 * group (each server is started as its own group: master, workers, uWSGI's
 * offload threads, nginx's workers). Divided by the requests served, it is a
 * per-request cost that a loaded machine does not distort as it does req/s.
 */
function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]); // utime, stime
  }
  return ticks / 100; // USER_HZ
}

/**
 * CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat): around a spawnSync of
 * wrk, wrk's own CPU (the servers, spawned but not yet reaped, do not count).
 */
function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime (fields 16, 17), USER_HZ
}

/** Busy CPU seconds of the whole machine (/proc/stat: all but idle and iowait): servers, wrk, the kernel's softirq work. */
function machineBusySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / 100; // USER_HZ
}

function wrk(port, path, seconds, o, mode, pgid) {
  const cpuBefore = groupCpuSeconds(pgid);
  const clientBefore = childrenCpuSeconds();
  const busyBefore = machineBusySeconds();
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${seconds}s`, '--latency'];
  if (mode === 'close') args.push('-H', 'Connection: close');
  args.push(`http://127.0.0.1:${port}${path}`);
  const r = spawnSync('wrk', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = `${r.stdout}${r.stderr}`;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const cpuUs = ((groupCpuSeconds(pgid) - cpuBefore) * 1e6) / requests;
  return {
    cpuUs,
    // What the client alone (wrk, user and system) spends per request: a server that cost nothing, with no kernel work
    // of its own, would still be held to cpus / clientUs requests per second.
    clientUs: ((childrenCpuSeconds() - clientBefore) * 1e6) / requests,
    // Everything else the machine spent per request (wrk, the kernel's loopback work in softirq, and anything else
    // running: so only meaningful on an otherwise idle machine).
    restUs: ((machineBusySeconds() - busyBefore) * 1e6) / requests - cpuUs,
    rps: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1] ?? NaN),
    transfer: /^Transfer\/sec:\s+(\S+)/m.exec(out)?.[1] ?? '-',
    p99: /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '-',
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: /Socket errors: (.*)/.exec(out)?.[1] ?? '',
  };
}

/** One row per server, file and mode: the median req/s and CPU per request over the rounds (the other fields from the median run). */
function medians(runs) {
  const groups = new Map();
  for (const r of runs) {
    const key = `${r.server} ${r.file} ${r.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [...groups.values()].map((g) => {
    const rps = median(g.map((r) => r.rps));
    return { ...g.find((r) => r.rps === rps), rps, cpuUs: median(g.map((r) => r.cpuUs)), clientUs: median(g.map((r) => r.clientUs)), restUs: median(g.map((r) => r.restUs)) };
  });
}

async function main() {
  const o = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-bench-static-'));
  try {
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', '1k.css'), Buffer.alloc(1024, 'a'));
    writeFileSync(join(dir, 'files', '1m.js'), Buffer.alloc(1 << 20, 'b'));
    writeFileSync(join(dir, 'app.py'), 'def application(e, s):\n    s("200 OK", [("Content-Type", "text/plain")])\n    return [b"app"]\n');
    const paths = { '1k': '/static/1k.css', '1m': '/static/1m.js' };
    console.log(`static bench: wrk -t${o.threads} -c${o.connections} -d${o.duration}s (warm-up ${o.warmup}s), ${cpus().length} CPUs`);
    const runs = [];
    // Rounds alternate the servers, so that a machine whose load changes (other jobs) weighs on all of them alike; the medians are reported.
    for (let round = 0; round < o.rounds; round++) for (const name of o.servers) {
      const port = await freePort();
      const s = await start(name, dir, port);
      try {
        await ready(s, port, paths['1k']);
        for (const file of o.files) {
          for (const mode of o.modes) {
            wrk(port, paths[file], o.warmup, o, mode, s.pid);
            runs.push({ server: name, file, mode, ...wrk(port, paths[file], o.duration, o, mode, s.pid) });
            console.log(`- ${name} ${file} ${mode}: ${runs.at(-1).rps} req/s, ${runs.at(-1).cpuUs.toFixed(0)} µs CPU/request`);
          }
        }
      } finally {
        await stop(s, name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
      }
    }
    const rows = medians(runs);
    // "cpu/req": the server's CPU per request (all its processes); "cpu vs": the peer's cost over ours (> 1: we spend less).
    console.log('\nserver  file  mode       req/s   transfer/s  p99      non-2xx  vs uwsgi  vs nginx  cpu/req  cpu vs uwsgi  cpu vs nginx  socket errors');
    for (const r of rows) {
      const peer = (server) => rows.find((x) => x.server === server && x.file === r.file && x.mode === r.mode);
      const ratio = (b) => (b ? `${(r.rps / b).toFixed(2)}x` : '-');
      const cpuRatio = (b) => (b ? `${(b / r.cpuUs).toFixed(2)}x` : '-');
      console.log(`${r.server.padEnd(7)} ${r.file.padEnd(5)} ${r.mode.padEnd(9)} ${r.rps.toFixed(0).padStart(7)}  ${r.transfer.padStart(10)}  ${r.p99.padStart(7)}  ${String(r.non2xx).padStart(7)}  ${ratio(peer('uwsgi')?.rps).padStart(8)}  ${ratio(peer('nginx')?.rps).padStart(8)}  ${(r.cpuUs.toFixed(0) + 'µs').padStart(7)}  ${cpuRatio(peer('uwsgi')?.cpuUs).padStart(12)}  ${cpuRatio(peer('nginx')?.cpuUs).padStart(12)}  ${r.errors}`);
    }
    // The ceiling of any server here: what a request costs outside the server, least over all servers' runs of that
    // file and mode, bounds the req/s of a server that cost nothing (CPUs / that); against uWSGI's req/s it is the
    // highest ratio any server could reach on this machine. "outside" is the machine's busy time less the server's
    // (wrk, the kernel's loopback work): read it on an otherwise idle machine, where it is at least wrk's own CPU.
    console.log('\nfile  mode       wrk  outside the server  zero-cost server req/s  its ratio to uwsgi');
    const uniq = [...new Set(rows.map((r) => `${r.file} ${r.mode}`))];
    for (const key of uniq) {
      const group = rows.filter((r) => `${r.file} ${r.mode}` === key);
      const client = Math.min(...group.map((r) => r.clientUs));
      const rest = Math.min(...group.map((r) => r.restUs));
      const ceiling = (cpus().length * 1e6) / rest;
      const uw = group.find((r) => r.server === 'uwsgi');
      const [file, mode] = key.split(' ');
      console.log(`${file.padEnd(5)} ${mode.padEnd(9)} ${(client.toFixed(0) + 'µs').padStart(6)}  ${(rest.toFixed(0) + 'µs').padStart(18)}  ${ceiling.toFixed(0).padStart(22)}  ${uw ? (ceiling / uw.rps).toFixed(2) + 'x' : '-'}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
