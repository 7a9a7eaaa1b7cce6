#!/usr/bin/env node
// `npm run bench:cold-start`: the first request to a cold on-demand vassal,
// phase by phase. An emperor (emperor-on-demand-directory) holds one Flask
// vassal's socket; one request wakes it. Each log line of the tree is stamped
// when it arrives, which gives the wall timeline (connection -> master banner
// -> "Python version" (probe done) -> workers spawned -> each app loaded ->
// response -> the whole set ready); /proc gives each process's CPU. Several
// runs, medians printed. --root measures another checkout (a clone of main,
// for before/after in the same minutes). See bench/README.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fail, parseFlags } from './lib/cli.mjs';
import { processTree, readProcText } from './lib/proc-tree.mjs';
import { uwsgiGet } from './lib/uwsgi-client.mjs';

const HERE = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEADLINE_MS = 120_000;
const TICK_MS = 10; // /proc's clock ticks: USER_HZ is 100 on Linux

const USAGE = `usage: node bench/cold-start.mjs [options]
  --root DIR       the nuwsgi checkout to run (default: this one)
  --runs N         cold starts measured (default 5)
  --processes N    workers of the vassal (default 2)
  --app FILE       the WSGI file (default examples/flask_app.py)
  --python PATH    interpreter (default /usr/bin/python3)`;

function parseOptions(argv) {
  const o = { root: HERE, runs: '5', processes: '2', app: join(HERE, 'examples', 'flask_app.py'), python: '/usr/bin/python3' };
  parseFlags(argv, o, USAGE);
  const runs = Number(o.runs);
  const processes = Number(o.processes);
  if (!Number.isInteger(runs) || runs <= 0) fail('--runs must be a positive integer');
  if (!Number.isInteger(processes) || processes <= 0) fail('--processes must be a positive integer');
  return { root: resolve(o.root), runs, processes, app: resolve(o.app), python: o.python };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** utime + stime of a process, in ms (undefined once it is gone). */
function cpuMs(pid) {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

function roleOf(pid, emperorPid) {
  if (pid === emperorPid) return 'emperor';
  const cmd = (readProcText(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ');
  return cmd.includes('worker/main.js') ? 'worker' : 'master';
}

function treeCpu(emperorPid) {
  const out = { emperor: 0, master: 0, workers: [] };
  for (const pid of processTree(emperorPid)) {
    const role = roleOf(pid, emperorPid);
    const ms = cpuMs(pid) ?? 0;
    if (role === 'worker') out.workers.push(ms);
    else out[role] += ms;
  }
  return out;
}

async function oneRun(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-cold-'));
  const vassals = join(dir, 'vassals');
  const run = join(dir, 'run');
  mkdirSync(vassals);
  mkdirSync(run);
  writeFileSync(join(vassals, 'app.ini'), ['[uwsgi]', `python = ${opts.python}`, 'master = true', `processes = ${opts.processes}`, `wsgi-file = ${opts.app}`, 'disable-logging = true', ''].join('\n'));
  const proc = spawn(process.execPath, [join(opts.root, 'bin', 'nuwsgi'), '--emperor', vassals, '--emperor-on-demand-directory', run], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let partial = '';
  const onData = (d) => {
    const at = nowMs();
    const text = partial + d;
    const parts = text.split('\n');
    partial = parts.pop();
    for (const line of parts) lines.push({ at, line });
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  try {
    const socket = join(run, 'app.socket');
    const deadline = Date.now() + DEADLINE_MS;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error('the on-demand socket never appeared');
      await sleep(20);
    }
    await sleep(1500); // the emperor's own startup is not what is measured
    const emperorCpu0 = cpuMs(proc.pid);
    const t0 = nowMs();
    const answer = await uwsgiGet(socket, '/', 60_000);
    const tDone = nowMs();
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
    const atFirst = treeCpu(proc.pid);
    const readyLine = (n) => lines.filter((l) => /app \d+ \(mountpoint=.*\) ready in/.test(l.line))[n - 1];
    while (readyLine(opts.processes) === undefined) {
      if (Date.now() > deadline) throw new Error('not every worker got ready');
      await sleep(20);
    }
    await sleep(200);
    const atAll = treeCpu(proc.pid);
    const firstAt = (re) => lines.find((l) => l.at >= t0 && re.test(l.line))?.at;
    const rel = (at) => (at === undefined ? undefined : at - t0);
    return {
      wall: {
        masterBanner: rel(firstAt(/\*\*\* Starting nuwsgi/)),
        probed: rel(firstAt(/^Python version:/)),
        worker1Spawned: rel(firstAt(/spawned nuwsgi worker 1 /)),
        firstAppReady: rel(readyLine(1).at),
        firstByte: rel(answer.firstByteMs),
        response: tDone - t0,
        allReady: rel(readyLine(opts.processes).at),
      },
      cpuAtFirstResponse: { emperor: atFirst.emperor - emperorCpu0, master: atFirst.master, workers: atFirst.workers },
      cpuAllReady: { master: atAll.master, workers: atAll.workers },
    };
  } finally {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    for (const pid of processTree(proc.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => (n === undefined ? '-' : n.toFixed(0));

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    runs.push(await oneRun(opts));
    const w = runs.at(-1).wall;
    console.error(`run ${i + 1}: first response ${fmt(w.response)} ms, all ready ${fmt(w.allReady)} ms`);
  }
  console.log(`cold start, ${opts.root}, ${opts.processes} workers, ${opts.app}; medians of ${opts.runs} runs (ms since the connection)`);
  for (const key of Object.keys(runs[0].wall)) console.log(`  wall ${key.padEnd(16)} ${fmt(median(runs.map((r) => r.wall[key])))}`);
  const cpu = (pick) => fmt(median(runs.map(pick)));
  console.log(`  CPU at the first response: emperor ${cpu((r) => r.cpuAtFirstResponse.emperor)}, master ${cpu((r) => r.cpuAtFirstResponse.master)}, ` +
    `workers ${cpu((r) => r.cpuAtFirstResponse.workers.reduce((a, b) => a + b, 0))} (sum)`);
  console.log(`  CPU once all are ready:    master ${cpu((r) => r.cpuAllReady.master)}, each worker ${cpu((r) => median(r.cpuAllReady.workers))}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
