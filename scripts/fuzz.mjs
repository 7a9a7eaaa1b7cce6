#!/usr/bin/env node
// `npm run fuzz -- --minutes N`: mutation fuzzing of both request parsers
// in-process, then of a whole nuwsgi server (master + 2 workers, HTTP and
// uwsgi sockets on loopback). Exits 1 on any failure, with the reproducing
// inputs saved in the directory it prints. See docs/fuzzing.md.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const USAGE = `usage: npm run fuzz -- [--minutes N] [--seed S] [--parsers-only | --server-only] [--concurrency C] [--python VENV]
  --minutes N      total time (default 5); the parsers get a quarter, the server the rest
  --seed S         PRNG seed (default: random, printed)
  --parsers-only   only the in-process parser fuzzer
  --server-only    only the whole-server fuzzer
  --concurrency C  connections in flight against the server (default 12)
  --python VENV    a virtualenv for the server's --home (default: nuwsgi's own choice)`;

function parseArgs(argv) {
  const o = { minutes: 5, seed: Math.floor(Math.random() * 2 ** 31), parsers: true, server: true, concurrency: 12, python: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--minutes') o.minutes = Number(value());
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--parsers-only') o.server = false;
    else if (a === '--server-only') o.parsers = false;
    else if (a === '--concurrency') o.concurrency = Number(value());
    else if (a === '--python') o.python = value();
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!(o.minutes > 0)) throw new Error('--minutes must be positive');
  return o;
}

function table(title, counts) {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const width = Math.max(10, ...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)} ${String(v).padStart(8)}`);
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  let parserFuzz, serverFuzz;
  try {
    parserFuzz = require(join(ROOT, 'dist/test/fuzz/parser-fuzz.js'));
    serverFuzz = require(join(ROOT, 'dist/test/fuzz/server-fuzz.js'));
  } catch {
    console.error('dist/ is missing or stale: run `npx tsc -p tsconfig.json` first (npm run fuzz does)');
    process.exit(2);
  }
  const outDir = mkdtempSync(join(tmpdir(), 'nuwsgi-fuzz-'));
  const totalMs = opts.minutes * 60_000;
  const parserMs = opts.parsers ? (opts.server ? totalMs / 4 : totalMs) : 0;
  const serverMs = opts.server ? totalMs - parserMs : 0;
  console.log(`nuwsgi fuzz: seed ${opts.seed}, ${opts.minutes} min, output in ${outDir}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const failures = [];
  const summary = { seed: opts.seed, minutes: opts.minutes, loadavgStart: loadavg() };

  if (opts.parsers) {
    console.log(`\n== parsers, in-process, ${Math.round(parserMs / 1000)} s`);
    const s = parserFuzz.runParserFuzz({ seed: opts.seed, durationMs: parserMs, maxFailures: 20 });
    console.log(`inputs: ${s.inputs.http} HTTP, ${s.inputs.uwsgi} uwsgi; parses (every split): ${s.parses}; failures: ${s.failures.length}`);
    table('outcome of each input (fed whole)', s.outcomes);
    s.failures.forEach((f, i) => {
      const base = join(outDir, `parser-failure-${i + 1}-${f.protocol}`);
      writeFileSync(base + '.bin', f.input);
      writeFileSync(base + '.txt', `${f.problem}\ninput (latin-1, JSON-escaped):\n${JSON.stringify(f.input.toString('latin1'))}\n`);
      console.log(`FAILURE (${f.protocol} parser): ${f.problem.split('\n')[0]} -> ${base}.bin`);
      failures.push(`${f.protocol} parser: ${f.problem.split('\n')[0]}`);
    });
    summary.parsers = { inputs: s.inputs, parses: s.parses, outcomes: s.outcomes, failures: s.failures.length };
  }

  if (opts.server) {
    console.log(`\n== whole server (master + 2 workers, HTTP + uwsgi on loopback), ${Math.round(serverMs / 1000)} s`);
    const s = await serverFuzz.runServerFuzz({
      seed: opts.seed, durationMs: serverMs, root: ROOT, outDir, concurrency: opts.concurrency, python: opts.python, log: (l) => console.log(l),
    });
    const total = s.connections.http + s.connections.uwsgi + s.connections.response;
    console.log(`connections: ${total} (${s.connections.http} HTTP, ${s.connections.uwsgi} uwsgi, ${s.connections.response} response-side)`);
    console.log(`requests seen by the reference parser: ${s.requests}; responses read: ${s.responses}`);
    console.log(`worker crashes: ${s.workerDeaths}; master: ${s.masterExit ?? 'alive until stopped'}; server log: ${s.serverLog}`);
    table('outcome per connection', s.outcomes);
    for (const f of s.failures) failures.push(`server: ${f.kind}: ${f.detail.split('\n')[0]}`);
    summary.server = { connections: s.connections, requests: s.requests, responses: s.responses, outcomes: s.outcomes, workerDeaths: s.workerDeaths, masterExit: s.masterExit, failures: s.failures.length };
  }

  summary.loadavgEnd = loadavg();
  summary.failures = failures;
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (failures.length > 0) {
    console.log(`\nFAILED: ${failures.length} failure(s); reproducers in ${outDir}`);
    for (const f of failures.slice(0, 20)) console.log(`  - ${f.slice(0, 300)}`);
    process.exit(1);
  }
  console.log(`\nOK: no failure (summary in ${outDir}/summary.json)`);
}

main().catch((err) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
