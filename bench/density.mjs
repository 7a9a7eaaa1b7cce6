#!/usr/bin/env node
// `npm run bench:density`: what hosting many apps costs. N Flask vassals with
// 2 workers each under nuwsgi's emperor and under Debian's uWSGI emperor:
//  - always-on: the total PSS of the emperor's whole tree once every vassal serves;
//  - on-demand (emperor-on-demand-directory): PSS with no traffic, the first
//    request's latency on a cold vassal, and PSS once 2 of the N got traffic.
// One emperor at a time; every process started is killed. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { uwsgiGet } from './lib/uwsgi-client.mjs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureDebPackages } from '../scripts/lib/apt.mjs';
import { fail, listOf, parseFlags } from './lib/cli.mjs';
import { processTree, treeMemory } from './lib/proc-tree.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FLASK_APP = join(ROOT, 'examples', 'flask_app.py');
const READY_DEADLINE_MS = 180_000;
const STOP_DEADLINE_MS = 20_000;

const USAGE = `usage: node bench/density.mjs [options]
  --servers LIST     nuwsgi,uwsgi (default both; env BENCH_SERVERS)
  --vassals N        Flask vassals (default 20; env BENCH_VASSALS)
  --processes N      workers per vassal (default 2; env BENCH_PROCESSES)
  --active N         on-demand vassals that get traffic (default 2; env BENCH_ACTIVE)
  --requests N       requests sent to each vassal before measuring (default 50; env BENCH_REQUESTS)
  --scenarios LIST   always-on,on-demand (default both; env BENCH_SCENARIOS)
  --python PATH      interpreter for nuwsgi's vassals (default /usr/bin/python3, as Debian's uWSGI)
  --no-install       do not apt-get missing packages
  --no-save          do not write bench/results/density-*.json`;

function parseOptions(argv) {
  const env = process.env;
  const o = {
    servers: env.BENCH_SERVERS ?? 'nuwsgi,uwsgi',
    vassals: env.BENCH_VASSALS ?? '20',
    processes: env.BENCH_PROCESSES ?? '2',
    active: env.BENCH_ACTIVE ?? '2',
    requests: env.BENCH_REQUESTS ?? '50',
    scenarios: env.BENCH_SCENARIOS ?? 'always-on,on-demand',
    python: env.BENCH_PYTHON ?? '/usr/bin/python3',
    install: true,
    save: true,
  };
  parseFlags(argv, o, USAGE);
  const int = (s, what) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) fail(`${what} must be a positive integer, got "${s}"`);
    return n;
  };
  const opts = {
    servers: listOf(o.servers, ['nuwsgi', 'uwsgi'], 'server'),
    vassals: int(o.vassals, '--vassals'),
    processes: int(o.processes, '--processes'),
    active: int(o.active, '--active'),
    requests: int(o.requests, '--requests'),
    scenarios: listOf(o.scenarios, ['always-on', 'on-demand'], 'scenario'),
    python: o.python,
    install: o.install,
    save: o.save,
  };
  if (opts.active > opts.vassals) fail('--active must not exceed --vassals');
  return opts;
}


const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Vassals listen on unix sockets, as behind nginx: requests go through bench/lib/uwsgi-client.mjs.

async function untilServing(socketPath, deadline) {
  let last = 'not tried';
  while (Date.now() < deadline) {
    if (existsSync(socketPath)) {
      try {
        const { status } = await uwsgiGet(socketPath, '/', 10_000);
        if (status === 200) return;
        last = `HTTP ${status}`;
      } catch (err) {
        last = err.message;
      }
    }
    await sleep(100);
  }
  throw new Error(`${socketPath} not serving before the deadline (${last})`);
}

async function untilExists(file, deadline) {
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// Emperors and vassals

/** The vassal file: the same app and settings for both emperors (uWSGI needs its plugin line). */
function vassalIni(server, opts, socketPath) {
  return [
    '[uwsgi]',
    ...(server === 'uwsgi' ? ['plugins = python3'] : [`python = ${opts.python}`]),
    'master = true',
    `processes = ${opts.processes}`,
    `wsgi-file = ${FLASK_APP}`,
    'disable-logging = true',
    ...(socketPath === undefined ? [] : [`socket = ${socketPath}`]), // on demand: the emperor's socket, inherited as fd 0
    '',
  ].join('\n');
}

function emperorCommand(server, vassalsDir, onDemandDir) {
  const onDemand = onDemandDir === undefined ? [] : ['--emperor-on-demand-directory', onDemandDir];
  if (server === 'nuwsgi') return { cmd: process.execPath, args: [join(ROOT, 'bin', 'nuwsgi'), '--emperor', vassalsDir, ...onDemand] };
  return { cmd: 'uwsgi', args: ['--emperor', vassalsDir, ...onDemand, '--die-on-term'] };
}

const started = new Set();

function killTree(e) {
  for (const pid of [...processTree(e.pid)].reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    process.kill(-e.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

process.on('exit', () => {
  for (const e of started) killTree(e);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

function startEmperor(server, vassalsDir, onDemandDir) {
  const { cmd, args } = emperorCommand(server, vassalsDir, onDemandDir);
  const proc = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const e = { server, proc, pid: proc.pid, logs: '', exit: undefined, commandLine: [cmd, ...args].join(' ') };
  started.add(e);
  const onData = (d) => {
    e.logs = (e.logs + d).slice(-20_000);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.on('exit', (code, signal) => (e.exit = { code, signal }));
  return e;
}

/** SIGTERM (uWSGI's emperor: SIGINT), bounded wait, then SIGKILL whatever of the tree is left. */
async function stopEmperor(e) {
  const tree = processTree(e.pid);
  if (!e.exit) process.kill(e.pid, e.server === 'uwsgi' ? 'SIGINT' : 'SIGTERM');
  const deadline = Date.now() + STOP_DEADLINE_MS;
  while (!e.exit && Date.now() < deadline) await sleep(50);
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  killTree(e);
  started.delete(e);
}

function memorySummary(e) {
  const m = treeMemory(e.pid);
  return { processes: m.processes, pssMb: m.pssMb, rssMb: m.rssMb, emperorPssMb: m.perProcess.find((p) => p.pid === e.pid)?.pssMb };
}

async function traffic(socketPath, count) {
  for (let i = 0; i < count; i++) {
    const { status } = await uwsgiGet(socketPath, '/', 10_000);
    if (status !== 200) throw new Error(`${socketPath}: HTTP ${status}`);
  }
}

const NAMES = (n) => Array.from({ length: n }, (_, i) => `app${String(i + 1).padStart(2, '0')}`);

/** A temporary emperor directory (vassals/) and socket directory (run/), and the vassals' names. */
function vassalTree(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-density-'));
  const vassals = join(dir, 'vassals');
  const run = join(dir, 'run');
  mkdirSync(vassals);
  mkdirSync(run);
  return { dir, vassals, run, names: NAMES(opts.vassals) };
}

async function alwaysOn(server, opts) {
  const { dir, vassals, run, names } = vassalTree(opts);
  for (const n of names) writeFileSync(join(vassals, `${n}.ini`), vassalIni(server, opts, join(run, `${n}.sock`)));
  const e = startEmperor(server, vassals, undefined);
  try {
    const t0 = performance.now();
    const deadline = Date.now() + READY_DEADLINE_MS;
    await Promise.all(names.map((n) => untilServing(join(run, `${n}.sock`), deadline)));
    const bootMs = performance.now() - t0;
    for (const n of names) await traffic(join(run, `${n}.sock`), opts.requests);
    return { server, scenario: 'always-on', bootMs, memory: memorySummary(e), command: e.commandLine };
  } catch (err) {
    return { server, scenario: 'always-on', error: `${err.message}\n${e.logs.slice(-2000)}` };
  } finally {
    await stopEmperor(e);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onDemand(server, opts) {
  const { dir, vassals, run, names } = vassalTree(opts);
  for (const n of names) writeFileSync(join(vassals, `${n}.ini`), vassalIni(server, opts, undefined));
  const e = startEmperor(server, vassals, run);
  try {
    const deadline = Date.now() + READY_DEADLINE_MS;
    for (const n of names) await untilExists(join(run, `${n}.socket`), deadline);
    await sleep(1000); // let the emperor settle after binding (its own startup allocations)
    const idle = memorySummary(e);
    const coldMs = [];
    for (const n of names.slice(0, opts.active)) {
      const t0 = performance.now();
      const { status } = await uwsgiGet(join(run, `${n}.socket`), '/', 60_000);
      coldMs.push(performance.now() - t0);
      if (status !== 200) throw new Error(`cold request to ${n}: HTTP ${status}`);
    }
    for (const n of names.slice(0, opts.active)) await traffic(join(run, `${n}.socket`), opts.requests);
    return { server, scenario: 'on-demand', active: opts.active, idleMemory: idle, coldMs, memory: memorySummary(e), command: e.commandLine };
  } catch (err) {
    return { server, scenario: 'on-demand', error: `${err.message}\n${e.logs.slice(-2000)}` };
  } finally {
    await stopEmperor(e);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

const fmt = (n, d = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));

function printTable(rows, opts) {
  const header = ['scenario', 'server', 'procs', 'PSS MB', 'emperor PSS', 'PSS vs uwsgi', 'idle procs', 'idle PSS MB', 'cold 1st req ms', 'boot all ms'];
  const lines = [header];
  for (const r of rows) {
    if (r.error) {
      lines.push([r.scenario, r.server, `ERROR: ${r.error.split('\n')[0]}`]);
      continue;
    }
    const base = rows.find((b) => b.server === 'uwsgi' && b.scenario === r.scenario && !b.error);
    lines.push([
      r.scenario === 'on-demand' ? `on-demand (${r.active} of ${opts.vassals} active)` : `always-on (${opts.vassals})`, r.server,
      String(r.memory.processes), fmt(r.memory.pssMb), fmt(r.memory.emperorPssMb),
      base ? `${(r.memory.pssMb / base.memory.pssMb).toFixed(2)}x` : '-',
      r.idleMemory ? String(r.idleMemory.processes) : '-', r.idleMemory ? fmt(r.idleMemory.pssMb) : '-',
      r.coldMs ? r.coldMs.map((ms) => fmt(ms, 0)).join(' / ') : '-', fmt(r.bootMs, 0),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.filter((l) => l.length > 3).map((l) => (l[i] ?? '').length)));
  for (const l of lines) console.log(l.length > 3 ? l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') : l.join('  '));
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.install) ensureDebPackages(['uwsgi', 'uwsgi-plugin-python3', 'python3-flask'], { label: 'density bench packages' });
  const startedAt = new Date();
  console.log(`density: ${opts.vassals} Flask vassals x ${opts.processes} workers; servers ${opts.servers.join(',')}; scenarios ${opts.scenarios.join(',')}`);
  const rows = [];
  for (const scenario of opts.scenarios) {
    for (const server of opts.servers) {
      console.log(`- ${scenario} on ${server} ...`);
      rows.push(await (scenario === 'always-on' ? alwaysOn(server, opts) : onDemand(server, opts)));
    }
  }
  console.log('');
  printTable(rows, opts);
  for (const r of rows) if (r.error) console.error(`\n${r.server} ${r.scenario}:\n${r.error}`);
  if (opts.save) {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `density-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release() };
    const uwsgi = spawnSync('uwsgi', ['--version'], { encoding: 'utf8' }).stdout?.trim();
    writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), machine, versions: { node: process.version, uwsgi }, options: opts, results: rows }, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
  }
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
