#!/usr/bin/env node
// `npm test`: the whole test suite, from a fresh Debian 12 machine with Node 20.
//
//   1. installs the Debian packages the tests use, where missing (root only;
//      otherwise it says what is missing and the tests needing it skip);
//   2. builds with tsc (a type error fails the run);
//   3. runs node's test runner on dist/test/unit, integration, e2e in turn;
//   4. fails if any process the tests started is still alive.
//
// Options: --no-install (skip step 1), --only unit,integration,e2e.
// Env: NUWSGI_TEST_CONCURRENCY_{UNIT,INTEGRATION,E2E}, NUWSGI_TEST_TIMEOUT_MS,
//      NUWSGI_TEST_ECHO=1 (servers' output to stderr), NUWSGI_TEST_TSCONFIG
//      (build another tsconfig; default tsconfig.json).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { debianLibpythonPackage, ensureDebPackages } from './lib/apt.mjs';
import { NUWSGI_CMDLINE, hasEnv, selfStartTicks, survivors } from './lib/procs.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);

/** What the tests use: venvs, the example apps' frameworks, nginx in front, the oracles, logrotate and systemd-analyze for the .deb test, /etc/mime.types (media-types) for static files, promtool (prometheus) and a browser (chromium) for the stats and dashboard tests. */
const TEST_PACKAGES = ['wrk', 'python3-venv', 'python3-flask', 'python3-django', 'python3-starlette', 'python3-fastapi', 'python3-uvloop', 'python3-websockets', 'nginx', 'uwsgi', 'uwsgi-plugin-python3', 'gunicorn', 'logrotate', 'systemd', 'media-types', 'prometheus', 'chromium'];

/**
 * Files run in parallel per phase. Measured on the 2-core machine (4 copies of
 * the harness tests: 41.5 s at 1, 25.6 s at 2, 23.0 s at 3): unit tests
 * are CPU-only and use both cores; integration and e2e files start servers
 * (each a master plus CPython workers), so more than 2 at once only adds
 * contention and startup timeouts.
 */
const PHASES = [
  { name: 'unit', concurrency: envInt('NUWSGI_TEST_CONCURRENCY_UNIT', 2) },
  { name: 'integration', concurrency: envInt('NUWSGI_TEST_CONCURRENCY_INTEGRATION', 2) },
  { name: 'e2e', concurrency: envInt('NUWSGI_TEST_CONCURRENCY_E2E', 1) },
];

/** One test may take this long before the runner fails it: a hang must not eat CI's 90 minutes. */
const TEST_TIMEOUT_MS = envInt('NUWSGI_TEST_TIMEOUT_MS', 300_000);

/**
 * Every process the tests start inherits this; leftovers are found by it. Not
 * NUWSGI_*: nuwsgi (as uWSGI) reads NUWSGI_X as the option --x, and `strict`
 * configs would refuse an unknown one.
 */
const RUN_MARKER = '_NUWSGI_TESTS_RUN_ID';
const runId = randomUUID();

const COUNTERS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

function envInt(name, dflt) {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

function parseArgs(argv) {
  const opts = { install: true, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-install') opts.install = false;
    else if (a === '--only') opts.only = new Set((argv[++i] ?? '').split(','));
    else if (a.startsWith('--only=')) opts.only = new Set(a.slice(7).split(','));
    else {
      console.error(`usage: node scripts/test.mjs [--no-install] [--only unit,integration,e2e]\nunknown argument: ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

function heading(text) {
  console.log(`\n# ===== ${text} =====`);
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) {
    console.error(`Node ${process.versions.node} is too old: nuwsgi needs Node 20 or later`);
    process.exit(1);
  }
}

function installPackages() {
  heading('system packages');
  const libpython = debianLibpythonPackage();
  const missing = ensureDebPackages(libpython ? [...TEST_PACKAGES, libpython] : TEST_PACKAGES, { label: 'test packages' });
  if (missing.length > 0) console.error(`warning: still missing ${missing.join(' ')}: the tests that need them will skip`);
}

function build() {
  // Override only to work around someone else's half-written files locally; CI never sets it.
  const tsconfig = process.env.NUWSGI_TEST_TSCONFIG || 'tsconfig.json';
  heading(`build (tsc -p ${tsconfig})`);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    console.error('typescript is not installed: run `npm ci` first');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [tsc, '-p', tsconfig], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('\nBUILD FAILED: fix the type errors above (tests were not run)');
    process.exit(1);
  }
  console.log('# build ok');
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * Compiled test files of a phase whose .ts source still exists: dist/ is not
 * cleaned (others may be running from it), so a deleted test's stale .js
 * must not run.
 */
function testFiles(phase) {
  return walk(join(ROOT, 'dist', 'test', phase))
    .filter((p) => p.endsWith('.test.js'))
    .filter((p) => existsSync(join(ROOT, relative(join(ROOT, 'dist'), p)).replace(/\.js$/, '.ts')))
    .sort();
}

/** Runs node --test on files, echoing its TAP output; resolves with its exit code and counters. */
function runPhase(phase, files) {
  const args = [
    '--test',
    '--test-reporter=tap',
    `--test-concurrency=${phase.concurrency}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files.map((f) => relative(ROOT, f)),
  ];
  console.log(`# node ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [RUN_MARKER]: runId },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, counts: parseCounts(out) }));
  });
}

/** The runner's closing "# pass N" etc. (the last ones: they are the run's totals). */
function parseCounts(tap) {
  const counts = {};
  for (const m of tap.matchAll(/^# (\w+) (\d+(?:\.\d+)?)$/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

/**
 * Processes still alive that the tests started (they carry RUN_MARKER), plus
 * nuwsgi servers started during the run without it. Killed after reporting.
 */
async function checkLeftovers(runStartTicks) {
  heading('leftover processes');
  const marked = await survivors((p) => hasEnv(p.pid, RUN_MARKER, runId), 5_000);
  // Other engineers may run nuwsgi on this machine meanwhile: unmarked ones only fail in CI.
  const unmarked = (await survivors((p) => p.startTicks >= runStartTicks && NUWSGI_CMDLINE.test(p.cmdline), 0)).filter(
    (p) => !marked.some((m) => m.pid === p.pid),
  );
  const failing = process.env.CI ? [...marked, ...unmarked] : marked;
  for (const p of [...marked, ...unmarked]) console.error(`warning: left behind: pid ${p.pid} ${p.cmdline}`);
  for (const p of failing) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (failing.length > 0) console.error(`FAILED: ${failing.length} process(es) started by the tests were still running (killed now)`);
  else if (unmarked.length > 0) console.error('(not failing: unmarked nuwsgi processes may be someone else\'s outside CI)');
  else console.log('# none');
  return failing.length === 0;
}

function printSummary(results, clean, totalMs) {
  const sum = Object.fromEntries(COUNTERS.map((k) => [k, results.reduce((n, r) => n + (r.counts[k] ?? 0), 0)]));
  const phases = results.map((r) => `${r.phase} ${r.code === 0 ? 'ok' : 'FAILED'}`).join(', ') || 'no tests found';
  heading(`summary: ${phases}; leftover processes: ${clean ? 'none' : 'FAILED'}`);
  for (const k of COUNTERS) console.log(`# ${k} ${sum[k]}`);
  console.log(`# duration_ms ${totalMs}`);
  console.log(`total: ${sum.pass} passed, ${sum.fail + sum.cancelled} failed, ${sum.skipped} skipped`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  checkNode();
  if (opts.install && process.env.NUWSGI_TEST_NO_INSTALL !== '1') installPackages();
  build();
  const runStartTicks = selfStartTicks();
  const results = [];
  for (const phase of PHASES) {
    if (opts.only && !opts.only.has(phase.name)) continue;
    const files = testFiles(phase.name);
    if (files.length === 0) {
      heading(`${phase.name}: no test files`);
      continue;
    }
    heading(`${phase.name} (${files.length} files, concurrency ${phase.concurrency})`);
    const r = await runPhase(phase, files);
    results.push({ phase: phase.name, ...r });
  }
  const clean = await checkLeftovers(runStartTicks);
  printSummary(results, clean, Date.now() - started);
  const ok = clean && results.every((r) => r.code === 0);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
