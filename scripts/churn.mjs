#!/usr/bin/env node
// `node scripts/churn.mjs [--minutes N] [--emperor] [--gc] [--snapshots S1,S2]`:
// the soak's disruptions, compressed, against one master (or one emperor),
// with scripts/memory-probe.cjs loaded into it. Master: Flask, 2 workers,
// --max-requests 20 and --min-worker-lifetime 0 (a worker recycled as fast as
// its replacement boots), SIGHUP every 3 s, master FIFO `c` every 5 s,
// --touch-chain-reload every 7 s, kill -9 of a worker every 11 s, under 4
// keep-alive client lanes. Emperor (--emperor, with --metrics): a new vassal
// file every 3 s, each removed 6 s later, SIGHUP every 20 s. Prints the
// probe's figures once a minute; at the end the process's memory as is,
// after a full GC and after malloc_trim(0). See docs/fuzzing.md.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const o = { minutes: 6, emperor: false, gc: false, snapshots: '' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--minutes') o.minutes = Number(process.argv[++i]);
  else if (a === '--emperor') o.emperor = true;
  else if (a === '--gc') o.gc = true;
  else if (a === '--snapshots') o.snapshots = process.argv[++i];
  else {
    console.error('usage: node scripts/churn.mjs [--minutes N] [--emperor] [--gc] [--snapshots S1,S2]');
    process.exit(2);
  }
}
const seconds = Math.round(o.minutes * 60);
const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-churn-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const probeFile = join(dir, 'probe.jsonl');
const probeEnv = { PROBE_OUT: probeFile, PROBE_DIR: dir, PROBE_SNAPS: o.snapshots, PROBE_GC: o.gc ? '1' : '0', PROBE_FINAL: String(seconds - 1) };

function startNuwsgi(args, log) {
  const fd = openSync(log, 'w');
  const proc = spawn(process.execPath, ['-r', join(ROOT, 'scripts', 'memory-probe.cjs'), join(ROOT, 'bin', 'nuwsgi'), ...args], { cwd: dir, stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...probeEnv } });
  closeSync(fd);
  return proc;
}

const freePort = () => new Promise((r) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => r(port));
  });
});

function childrenOf(pid) {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const st = readFileSync(`/proc/${n}/stat`, 'utf8');
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

async function churnMaster(end) {
  const venv = join(dir, 'venv');
  const mk = spawnSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', '--system-site-packages', venv], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`venv: ${mk.stderr}`);
  const port = await freePort();
  const fifo = join(dir, 'master.fifo');
  const touch = join(dir, 'chain');
  writeFileSync(touch, '');
  const log = join(dir, 'server.log');
  const proc = startNuwsgi(['--master', '--processes', '2', '--http-socket', `127.0.0.1:${port}`, '--home', venv, '--max-requests', '20', '--min-worker-lifetime', '0',
    '--master-fifo', fifo, '--touch-chain-reload', touch, '--auto-procname', '--disable-logging', '--die-on-term', '--chdir', join(ROOT, 'examples'), '--wsgi-file', join(ROOT, 'examples', 'flask_app.py')], log);
  for (let i = 0; i < 300 && (readFileSync(log, 'utf8').match(/ready in/g) ?? []).length < 2; i++) await sleep(200);
  const counts = { ok: 0, failed: 0 };
  const lane = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (Date.now() < end) {
      await new Promise((done) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => (counts.ok++, done()));
          res.on('error', () => (counts.failed++, done()));
        });
        req.on('error', () => (counts.failed++, done()));
        req.on('timeout', () => req.destroy());
        req.end();
      });
    }
    agent.destroy();
  };
  const lanes = Array.from({ length: 4 }, lane);
  for (let tick = 1; Date.now() < end; tick++) {
    await sleep(1000);
    if (tick % 3 === 0) process.kill(proc.pid, 'SIGHUP');
    if (tick % 5 === 0) {
      const fd = openSync(fifo, 'w');
      writeSync(fd, 'c');
      closeSync(fd);
    }
    if (tick % 7 === 0) utimesSync(touch, new Date(), new Date());
    if (tick % 11 === 0) {
      const worker = childrenOf(proc.pid)[0];
      if (worker !== undefined) process.kill(worker, 'SIGKILL');
    }
  }
  await Promise.all(lanes);
  const text = readFileSync(log, 'utf8');
  const summary = `workers spawned: ${(text.match(/pawned nuwsgi worker/g) ?? []).length}; requests: ${counts.ok} answered, ${counts.failed} without an answer (kill -9 and keep-alive races, not retried)`;
  return { proc, summary };
}

async function churnEmperor(end) {
  const vassals = join(dir, 'vassals');
  mkdirSync(vassals);
  const proc = startNuwsgi(['--emperor', vassals, '--metrics', '127.0.0.1:0'], join(dir, 'emperor.log'));
  let n = 0;
  const live = [];
  for (let tick = 1; Date.now() < end; tick++) {
    await sleep(1000);
    if (tick % 3 === 0) {
      const file = join(vassals, `app-v${n++}.ini`);
      writeFileSync(file, `[uwsgi]\nmaster = true\nprocesses = 1\nsocket = ${join(dir, `v${n}.sock`)}\nmetrics = 127.0.0.1:0\nwsgi-file = ${join(ROOT, 'examples', 'hello.py')}\ndisable-logging = true\n`);
      live.push(file);
      if (live.length > 2) rmSync(live.shift());
    }
    if (tick % 20 === 0) process.kill(proc.pid, 'SIGHUP');
  }
  let announced = 'unknown';
  for (const pid of childrenOf(proc.pid)) {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('NUWSGI_EMPEROR_ANNOUNCE_DIR='));
    if (entry !== undefined && existsSync(entry.slice(entry.indexOf('=') + 1))) announced = String(readdirSync(entry.slice(entry.indexOf('=') + 1)).length);
  }
  const text = readFileSync(join(dir, 'emperor.log'), 'utf8');
  return { proc, summary: `vassal files written: ${n}; vassals removed: ${(text.match(/removed uwsgi instance/g) ?? []).length}; files in the announce directory at the end: ${announced}` };
}

function report() {
  const lines = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
  const mb = (x) => (x / 1048576).toFixed(1).padStart(6);
  const row = (x, label) => console.log(`${label.padEnd(16)} ${mb(x.rss)} ${mb(x.anon)} ${mb(x.heapUsed)} ${mb(x.heapTotal)} ${mb(x.external)} ${mb(x.mallocUsed)} ${mb(x.mallocFree)} ${String(x.handles).padStart(7)}`);
  console.log(`\n${o.emperor ? 'emperor' : 'master'} memory, MB: per-minute medians, then the final samples (heapU/heapT: V8 heap used/total; malloc: glibc in use/free)`);
  console.log(`${''.padEnd(16)}${['RSS', 'anon', 'heapU', 'heapT', 'extern', 'malloc', 'free'].map((h) => h.padStart(7)).join('')} handles`);
  const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (let m = 1; m <= Math.ceil(o.minutes); m++) {
    const inMinute = lines.filter((x) => x.tag === undefined && x.t > (m - 1) * 60_000 && x.t <= m * 60_000);
    if (inMinute.length === 0) continue;
    const medians = Object.fromEntries(Object.keys(inMinute[0]).map((k) => [k, median(inMinute.map((x) => x[k]))]));
    row(medians, `minute ${m}`);
  }
  for (const x of lines.filter((x) => x.tag !== undefined)) row(x, x.tag);
}

const start = Date.now();
const end = start + seconds * 1000 - 3000;
console.log(`churn: ${o.emperor ? 'emperor with vassal churn' : 'master with worker churn'}, ${o.minutes} min${o.gc ? ', a full GC before each sample' : ''}; files in ${dir}`);
const { proc, summary } = await (o.emperor ? churnEmperor(end) : churnMaster(end));
await sleep(Math.max(0, start + seconds * 1000 + 1500 - Date.now())); // the probe's final lines
const exited = new Promise((r) => proc.once('exit', r));
process.kill(proc.pid, 'SIGTERM');
await Promise.race([exited, sleep(30_000)]);
try {
  process.kill(-proc.pid, 'SIGKILL');
} catch {}
console.log(summary);
report();
rmSync(join(dir, 'venv'), { recursive: true, force: true });
