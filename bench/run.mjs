#!/usr/bin/env node
// `npm run bench`: nuwsgi vs uWSGI vs gunicorn (WSGI apps), nuwsgi --asgi vs
// uvicorn vs hypercorn (ASGI apps), side by side, with wrk.
//
// One server at a time (the machine has 2 cores), each with 2 workers, on
// the same apps and the same interpreter; prints a table with ratios against
// uWSGI and writes bench/results/<timestamp>.json. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { debianLibpythonPackage, ensureDebPackages } from '../scripts/lib/apt.mjs';
import { buildDjangoSite } from './lib/django-site.mjs';
import { fail, freePort, listOf, parseFlags } from './lib/cli.mjs';
import { processTree, readProcText, treeMemory } from './lib/proc-tree.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL_SERVERS = ['nuwsgi', 'uwsgi', 'gunicorn', 'uvicorn', 'hypercorn'];
/** Which servers serve which kind of app; a pair that does not fit is skipped. */
const WSGI_SERVERS = ['nuwsgi', 'uwsgi', 'gunicorn'];
const ASGI_SERVERS = ['nuwsgi', 'uvicorn', 'hypercorn'];
/** Servers that speak the uwsgi protocol to nginx (uwsgi_pass); the others get proxy_pass. */
const UWSGI_PROTOCOL = ['nuwsgi', 'uwsgi'];
const APPS = {
  hello: { file: 'examples/hello.py', module: 'hello:application', path: '/' },
  flask: { file: 'examples/flask_app.py', module: 'flask_app:app', path: '/' },
  // A view rendering a template from a model query on SQLite (bench/lib/django-site.mjs); built at start.
  django: { build: buildDjangoSite, path: '/' },
  // Concurrency scenarios (bench/apps/bench_app.py): an app that waits 50 ms per request...
  io50: { file: 'bench/apps/bench_app.py', module: 'bench_app:application', chdir: 'bench/apps', path: '/io' },
  // ...and hello beside a back-to-back 0.5 s request (mode hol).
  hol: { file: 'bench/apps/bench_app.py', module: 'bench_app:application', chdir: 'bench/apps', path: '/' },
  // ASGI apps (nuwsgi --asgi, uvicorn, hypercorn): a raw ASGI hello, and a FastAPI JSON endpoint.
  'asgi-hello': { asgi: true, module: 'asgi_hello:app', chdir: 'bench/apps', path: '/' },
  fastapi: { asgi: true, module: 'fastapi_app:app', chdir: 'bench/apps', path: '/' },
};
/** Mode hol: the path one client requests back to back while wrk loads the app's path. */
const SLOW_PATH = '/slow';
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 15_000;

// ---------------------------------------------------------------------------
// Options: flags win over BENCH_* environment variables.

const USAGE = `usage: node bench/run.mjs [options]
  --servers LIST      nuwsgi,uwsgi,gunicorn,uvicorn,hypercorn (default all; env BENCH_SERVERS);
                      WSGI apps run on the first three, ASGI apps on nuwsgi (--asgi), uvicorn
                      (--loop uvloop --http httptools) and hypercorn (-k uvloop)
  --apps LIST         hello,flask,django,io50,hol,asgi-hello,fastapi (default hello,flask; env BENCH_APPS)
                      asgi-hello: a raw ASGI 3 hello; fastapi: a FastAPI JSON endpoint (python3-fastapi)
                      django: a template rendered from a 10-row query on SQLite (python3-django)
                      io50: waits 50 ms per request; hol: hello, with /slow for mode hol
  --duration SECS     measured wrk run per case (default 10; env BENCH_DURATION)
  --warmup SECS       wrk warm-up before each measurement (default 2; env BENCH_WARMUP)
  --connections N     wrk -c (default 50; env BENCH_CONNECTIONS)
  --threads N         wrk -t (default 2; env BENCH_THREADS)
  --processes N       workers per server (default 2; env BENCH_PROCESSES)
  --worker-threads N  --threads per worker for nuwsgi and uWSGI, gunicorn -k gthread --threads N
                      (default 1: sync workers; env BENCH_WORKER_THREADS)
  --modes LIST        keepalive,close,nginx,hol (default the first three; env BENCH_MODES)
                      keepalive: wrk straight to the server's HTTP socket, keep-alive
                      close:     the same with 'Connection: close' (one request per connection)
                      nginx:     wrk -> nginx -> unix socket; uwsgi_pass for nuwsgi and uWSGI,
                                 proxy_pass for gunicorn, uvicorn, hypercorn (no uwsgi protocol)
                      hol:       as nginx, while one more client requests /slow (0.5 s) back to
                                 back: head-of-line blocking (use with --apps hol --connections 4)
  --python PATH       interpreter for nuwsgi (default /usr/bin/python3, as Debian's uWSGI and gunicorn use)
  --uwsgi-socket F    auto (default): --http11-socket for keepalive, --http-socket for close (http11 ignores
                      'Connection: close' and keeps the connection: wrk would reuse it); or always
                      http11 (--http11-socket) or http (--http-socket, closes each time)
  --no-install        do not apt-get missing packages
  --no-save           do not write bench/results/*.json`;

function parseOptions(argv) {
  const env = process.env;
  const o = {
    servers: env.BENCH_SERVERS ?? ALL_SERVERS.join(','),
    apps: env.BENCH_APPS ?? 'hello,flask',
    duration: env.BENCH_DURATION ?? '10',
    warmup: env.BENCH_WARMUP ?? '2',
    connections: env.BENCH_CONNECTIONS ?? '50',
    threads: env.BENCH_THREADS ?? '2',
    processes: env.BENCH_PROCESSES ?? '2',
    'worker-threads': env.BENCH_WORKER_THREADS ?? '1',
    modes: env.BENCH_MODES ?? 'keepalive,close,nginx',
    python: env.BENCH_PYTHON ?? '/usr/bin/python3',
    'uwsgi-socket': env.BENCH_UWSGI_SOCKET ?? 'auto',
    install: true,
    save: true,
  };
  parseFlags(argv, o, USAGE);
  const num = (s, what) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) fail(`${what} must be a positive number, got "${s}"`);
    return n;
  };
  return {
    servers: listOf(o.servers, ALL_SERVERS, 'server'),
    apps: listOf(o.apps, Object.keys(APPS), 'app'),
    modes: listOf(o.modes, ['keepalive', 'close', 'nginx', 'hol'], 'mode'),
    duration: num(o.duration, '--duration'),
    warmup: num(o.warmup, '--warmup'),
    connections: num(o.connections, '--connections'),
    threads: num(o.threads, '--threads'),
    processes: num(o.processes, '--processes'),
    workerThreads: num(o['worker-threads'], '--worker-threads'),
    python: o.python,
    uwsgiSocket: listOf(o['uwsgi-socket'], ['auto', 'http11', 'http'], 'uwsgi socket flavour')[0],
    install: o.install,
    save: o.save,
  };
}


// ---------------------------------------------------------------------------
// Servers: spawned in their own process group, killed as a group.

const started = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

process.on('exit', () => {
  for (const s of started) killGroup(s.pid, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const s of started) killGroup(s.pid, 'SIGKILL');
    process.exit(130);
  });
}

/**
 * Command line per server. `unixPath` undefined: one HTTP socket on port 0 (the real port is read
 * from the log). Otherwise one unix socket there, speaking the uwsgi protocol (gunicorn: HTTP).
 */
function serverCommand(server, app, opts, unixPath, port) {
  const n = String(opts.processes);
  const threads = opts.workerThreads > 1 ? ['--threads', String(opts.workerThreads)] : [];
  if (server === 'nuwsgi') {
    const socket = unixPath === undefined ? ['--http-socket', '127.0.0.1:0'] : ['--socket', unixPath];
    const appArgs = app.asgi ? ['--chdir', join(ROOT, app.chdir), '--asgi', app.module] : ['--wsgi-file', app.file];
    return {
      cmd: process.execPath,
      args: [join(ROOT, 'bin', 'nuwsgi'), '--master', '--processes', n, ...threads, ...socket,
        ...appArgs, '--python', opts.python, '--disable-logging'],
    };
  }
  if (server === 'uvicorn') {
    // Debian's python3-uvicorn, the fastest way it runs: uvloop and httptools.
    const bind = unixPath === undefined ? ['--host', '127.0.0.1', '--port', String(port)] : ['--uds', unixPath];
    return {
      cmd: '/usr/bin/python3',
      args: ['-m', 'uvicorn', app.module, '--app-dir', join(ROOT, app.chdir), '--workers', n, ...bind,
        '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning'],
    };
  }
  if (server === 'hypercorn') {
    // Debian's python3-hypercorn with its uvloop worker class; it imports the app from its cwd.
    const bind = unixPath === undefined ? `127.0.0.1:${port}` : `unix:${unixPath}`;
    return {
      cmd: '/usr/bin/python3',
      args: ['-m', 'hypercorn', app.module, '--workers', n, '-k', 'uvloop', '--bind', bind, '--log-level', 'warning'],
      cwd: join(ROOT, app.chdir),
    };
  }
  if (server === 'uwsgi') {
    // --http11-socket: uWSGI's keep-alive capable variant, to compare like with like.
    const socket = unixPath === undefined ? [`--${opts.uwsgiSocket}-socket`, '127.0.0.1:0'] : ['--socket', unixPath];
    return {
      cmd: 'uwsgi',
      args: ['--plugin', 'python3', '--master', '--processes', n, ...threads, ...socket,
        '--wsgi-file', app.file, '--disable-logging', '--die-on-term'],
    };
  }
  // Debian's gunicorn (runs on /usr/bin/python3): sync workers, or gthread with --worker-threads.
  const gthread = opts.workerThreads > 1 ? ['-k', 'gthread', '--threads', String(opts.workerThreads)] : [];
  return {
    cmd: 'gunicorn',
    args: ['-w', n, ...gthread, '-b', unixPath === undefined ? '127.0.0.1:0' : `unix:${unixPath}`, '--chdir', app.chdir ?? 'examples',
      '--access-logfile', '/dev/null', app.module],
  };
}

const PORT_PATTERNS = [
  /(?:nuwsgi|uwsgi) socket 0 bound to TCP address [^\s]*:(\d+)/, // nuwsgi, uWSGI
  /Listening at: http:\/\/[^\s]*:(\d+)/, // gunicorn
];

/** `port`: the TCP port for servers that cannot bind port 0 and log it (uvicorn, hypercorn). */
function startServer(name, app, opts, unixPath, port) {
  const { cmd, args, cwd } = serverCommand(name, app, opts, unixPath, port);
  const proc = spawn(cmd, args, { cwd: cwd ?? ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { name, proc, pid: proc.pid, logs: '', exit: undefined, commandLine: [cmd, ...args].join(' '), port };
  started.add(s);
  const onData = (d) => {
    s.logs += d;
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.on('exit', (code, signal) => {
    s.exit = { code, signal };
  });
  proc.on('error', (err) => {
    s.exit = { code: null, signal: null, error: err.message };
  });
  return s;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function httpGet(port, path, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The server's own HTTP port, once its log names it. */
function loggedPort(s) {
  if (s.port !== undefined) return s.port;
  const port = PORT_PATTERNS.map((re) => re.exec(s.logs)?.[1]).find(Boolean);
  return port === undefined ? undefined : Number(port);
}

/**
 * Polls (with a deadline) until `portOf()` knows the port to load, then for a 2xx answer there.
 * Every process in `watched` must stay alive meanwhile.
 */
async function waitReady(watched, path, portOf) {
  const deadline = Date.now() + START_DEADLINE_MS;
  let last = 'no port yet';
  while (Date.now() < deadline) {
    for (const s of watched) {
      if (s.exit) throw new Error(`${s.name} exited during startup (${JSON.stringify(s.exit)})\n${s.logs.slice(-3000)}`);
    }
    const port = portOf();
    if (port !== undefined) {
      try {
        const status = await httpGet(port, path, Math.max(1, deadline - Date.now()));
        if (status >= 200 && status < 300) return port;
        last = `HTTP ${status}`;
      } catch (err) {
        last = err.message;
      }
    }
    await sleep(50);
  }
  const logs = watched.map((s) => `--- ${s.name}\n${s.logs.slice(-3000)}`).join('\n');
  throw new Error(`not ready after ${START_DEADLINE_MS} ms (${last})\n${logs}`);
}

/** SIGTERM (nginx: SIGQUIT), wait (bounded), then SIGKILL the whole group either way. */
async function stopServer(s, signal = 'SIGTERM') {
  if (!s.exit) process.kill(s.pid, signal);
  const deadline = Date.now() + STOP_DEADLINE_MS;
  while (!s.exit && Date.now() < deadline) await sleep(50);
  const graceful = s.exit !== undefined;
  killGroup(s.pid, 'SIGKILL');
  started.delete(s);
  return graceful;
}

// ---------------------------------------------------------------------------
// Memory and CPU of a process tree, from /proc (processTree, treeMemory: bench/lib/proc-tree.mjs).

/**
 * CPU time of every thread of the tree, in microseconds (/proc/PID/task/TID/schedstat, ns).
 * Divided by the requests served, it is the server's cost per request: unlike req/s it does not
 * depend on how much of the 2 cores wrk and everything else took meanwhile.
 */
function treeCpuUs(root) {
  let ns = 0;
  for (const pid of processTree(root)) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) ns += Number((readProcText(`/proc/${pid}/task/${tid}/schedstat`) ?? '0').split(' ')[0]);
  }
  return ns / 1000;
}

// ---------------------------------------------------------------------------
// wrk

function toMs(value, unit) {
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit];
  return Number(value) * factor;
}

/** Parses wrk's --latency report. */
export function parseWrk(out) {
  const lat = (pct) => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : undefined;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1] ?? NaN),
    requests: Number(/^\s+(\d+) requests in/m.exec(out)?.[1] ?? NaN),
    p50Ms: lat(50),
    p75Ms: lat(75),
    p90Ms: lat(90),
    p99Ms: lat(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

/** Runs wrk (async, so the probe below can run meanwhile); resolves with its report. */
function runWrk(port, path, seconds, opts, mode) {
  const args = [`-t${opts.threads}`, `-c${opts.connections}`, `-d${seconds}s`, '--latency'];
  if (mode === 'close') args.push('-H', 'Connection: close');
  args.push(`http://127.0.0.1:${port}${path}`);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // wrk stops by itself after -d; this only guards against a wedged run.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk failed (${code ?? signal}): ${out}`));
    });
  });
}

const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * While wrk runs, one request at a time on a fresh connection, every 100 ms.
 * wrk's latency only covers connections that got answers: a server that
 * serves a few keep-alive connections and starves the rest (uWSGI's
 * --http11-socket with one core per worker) looks fast to wrk, and shows
 * here as probe timeouts.
 */
async function probeWhile(port, path, running) {
  const latencies = [];
  let timeouts = 0;
  let errors = 0;
  while (running()) {
    const t0 = performance.now();
    try {
      await httpGet(port, path, PROBE_TIMEOUT_MS);
      latencies.push(performance.now() - t0);
    } catch (err) {
      if (err.message === 'timeout') timeouts++;
      else errors++;
    }
    const wait = PROBE_INTERVAL_MS - (performance.now() - t0);
    if (wait > 0 && running()) await sleep(wait);
  }
  latencies.sort((a, b) => a - b);
  const pct = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : undefined);
  return { count: latencies.length + timeouts + errors, timeouts, errors, p50Ms: pct(0.5), maxMs: latencies.at(-1) };
}

/** The measured wrk run with the probe alongside (and, in mode hol, the back-to-back slow client). */
async function measure(port, path, opts, mode) {
  let done = false;
  const wrk = runWrk(port, path, opts.duration, opts, mode).finally(() => {
    done = true;
  });
  const slow = mode === 'hol' ? slowClientWhile(port, () => !done) : Promise.resolve(0);
  const [raw, probe, slowRequests] = await Promise.all([wrk, probeWhile(port, path, () => !done), slow]);
  return { raw, probe, slowRequests };
}

/** Mode hol: one client keeps a slow request running, back to back, while wrk runs. */
async function slowClientWhile(port, running) {
  let served = 0;
  while (running()) {
    try {
      await httpGet(port, SLOW_PATH, 10_000);
      served++;
    } catch {
      await sleep(10);
    }
  }
  return served;
}

// ---------------------------------------------------------------------------

/** Modes grouped by what the server listens on: its own HTTP socket, or a unix socket behind nginx. */
function transports(modes) {
  const out = [];
  const direct = modes.filter((m) => m !== 'nginx' && m !== 'hol');
  if (direct.length > 0) out.push({ behindNginx: false, modes: direct });
  const behind = modes.filter((m) => m === 'nginx' || m === 'hol');
  if (behind.length > 0) out.push({ behindNginx: true, modes: behind });
  return out;
}

/**
 * uWSGI's --http11-socket ignores a request's "Connection: close" (it keeps the connection and wrk
 * sends its next request on it): with --uwsgi-socket auto, close mode runs uWSGI on --http-socket,
 * which closes after each response as nuwsgi does.
 */
function uwsgiSocketSplit(server, transport, opts) {
  if (server !== 'uwsgi' || transport.behindNginx || opts.uwsgiSocket !== 'auto') return [transport];
  const close = transport.modes.filter((m) => m === 'close');
  const rest = transport.modes.filter((m) => m !== 'close');
  return [
    ...(rest.length > 0 ? [{ ...transport, modes: rest, uwsgiSocket: 'http11' }] : []),
    ...(close.length > 0 ? [{ ...transport, modes: close, uwsgiSocket: 'http' }] : []),
  ];
}

async function benchOne(serverName, appName, opts, transport) {
  const app = APPS[appName];
  const dir = transport.behindNginx ? mkdtempSync(join(tmpdir(), 'nuwsgi-bench-')) : undefined;
  const unixPath = dir === undefined ? undefined : join(dir, 'app.sock');
  const fixedPort = unixPath === undefined && !UWSGI_PROTOCOL.includes(serverName) && serverName !== 'gunicorn'
    ? await freePort() : undefined;
  const s = startServer(serverName, app, opts, unixPath, fixedPort);
  let nginx;
  try {
    let port;
    if (dir === undefined) {
      port = await waitReady([s], app.path, () => loggedPort(s));
    } else {
      nginx = await startNginx(dir, unixPath, UWSGI_PROTOCOL.includes(serverName) ? 'uwsgi' : 'http');
      port = await waitReady([s, nginx], app.path, () => (existsSync(unixPath) ? nginx.port : undefined));
    }
    const rows = [];
    for (const mode of transport.modes) {
      await runWrk(port, app.path, opts.warmup, opts, mode); // warm-up: imports, caches, JIT, TCP
      const cpuBefore = treeCpuUs(s.pid);
      const nginxBefore = nginx === undefined ? 0 : treeCpuUs(nginx.pid);
      const { raw, probe, slowRequests } = await measure(port, app.path, opts, mode);
      const cpuUs = treeCpuUs(s.pid) - cpuBefore;
      const nginxUs = nginx === undefined ? undefined : treeCpuUs(nginx.pid) - nginxBefore;
      const memory = treeMemory(s.pid); // right after the load, before anything is freed
      const parsed = parseWrk(raw);
      const perRequest = (us) => (parsed.requests > 0 && us !== undefined ? us / parsed.requests : undefined);
      rows.push({
        app: appName, server: serverName, mode, ...parsed, cpuUsPerRequest: perRequest(cpuUs),
        nginxCpuUsPerRequest: perRequest(nginxUs), probe, memory, command: s.commandLine,
        ...(mode === 'hol' ? { slowRequests } : {}),
      });
    }
    const graceful = await stopServer(s);
    for (const r of rows) r.gracefulStop = graceful;
    return rows;
  } catch (err) {
    await stopServer(s);
    return [{ app: appName, server: serverName, mode: transport.modes.join(','), error: String(err.message ?? err), command: s.commandLine }];
  } finally {
    if (nginx !== undefined) await stopServer(nginx, 'SIGQUIT');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// nginx in front (Debian's package), as deployments run it: one worker process,
// the stock uwsgi_params, no access log (the servers log nothing either).

const NGINX_BIN = '/usr/sbin/nginx';


/** `upstream`: 'uwsgi' (uwsgi_pass) or 'http' (proxy_pass, for gunicorn). */
async function startNginx(dir, unixPath, upstream) {
  const port = await freePort();
  const pass = upstream === 'uwsgi'
    ? `include /etc/nginx/uwsgi_params; uwsgi_pass unix:${unixPath};`
    : `include /etc/nginx/proxy_params; proxy_pass http://unix:${unixPath};`;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`).join(' ');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `${process.getuid?.() === 0 ? 'user root root;\n' : ''}daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp}
  server {
    listen 127.0.0.1:${port};
    location / { ${pass} }
  }
}
`);
  const proc = spawn(NGINX_BIN, ['-c', conf], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const n = { name: 'nginx', proc, pid: proc.pid, logs: '', exit: undefined, port, commandLine: `${NGINX_BIN} -c ${conf}` };
  started.add(n);
  const onData = (d) => {
    n.logs += d;
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.on('exit', (code, signal) => {
    n.exit = { code, signal };
    n.logs += readProcText(join(dir, 'error.log')) ?? '';
  });
  proc.on('error', (err) => {
    n.exit = { code: null, signal: null, error: err.message };
  });
  return n;
}

function fmt(n, digits = 1) {
  return n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
}

function ratio(a, b) {
  return a === undefined || b === undefined || !b ? '-' : `${(a / b).toFixed(2)}x`;
}

function printTable(rows) {
  const header = ['app', 'server', 'mode', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'sock err', 'probe p50', 'probe t/o',
    'cpu us/req', 'nginx us/req', 'procs', 'RSS MB', 'PSS MB', 'PSS master/worker',
    'req/s vs uwsgi', 'p99 vs uwsgi', 'cpu/req vs uwsgi', 'PSS vs uwsgi', 'req/s vs gunicorn', 'cpu/req vs gunicorn',
    'req/s vs uvicorn', 'p99 vs uvicorn', 'cpu/req vs uvicorn'];
  const lines = [header];
  for (const r of rows) {
    if (r.error) {
      lines.push([r.app, r.server, r.mode, `ERROR: ${r.error.split('\n')[0]}`]);
      continue;
    }
    const same = (server) => rows.find((b) => b.server === server && b.app === r.app && b.mode === r.mode && !b.error);
    const base = same('uwsgi');
    const gunicorn = same('gunicorn');
    const uvicorn = same('uvicorn');
    const errs = Object.values(r.socketErrors).reduce((a, b) => a + b, 0);
    const master = r.memory.perProcess.find((p) => p.role === 'master');
    const workers = r.memory.perProcess.filter((p) => p.role === 'worker');
    const perWorker = workers.length > 0 ? workers.reduce((a, p) => a + p.pssMb, 0) / workers.length : undefined;
    lines.push([
      r.app, r.server, r.mode, fmt(r.requestsPerSec, 0), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), String(r.non2xx), String(errs),
      fmt(r.probe.p50Ms, 2), `${r.probe.timeouts}/${r.probe.count}`, fmt(r.cpuUsPerRequest, 1), fmt(r.nginxCpuUsPerRequest, 1),
      String(r.memory.processes), fmt(r.memory.rssMb), fmt(r.memory.pssMb), `${fmt(master?.pssMb)}/${fmt(perWorker)}`,
      ratio(r.requestsPerSec, base?.requestsPerSec), ratio(r.p99Ms, base?.p99Ms), ratio(r.cpuUsPerRequest, base?.cpuUsPerRequest),
      ratio(r.memory.pssMb, base?.memory.pssMb), ratio(r.requestsPerSec, gunicorn?.requestsPerSec),
      ratio(r.cpuUsPerRequest, gunicorn?.cpuUsPerRequest), ratio(r.requestsPerSec, uvicorn?.requestsPerSec),
      ratio(r.p99Ms, uvicorn?.p99Ms), ratio(r.cpuUsPerRequest, uvicorn?.cpuUsPerRequest),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.filter((l) => l.length > 4).map((l) => (l[i] ?? '').length)));
  for (const l of lines) {
    console.log(l.length > 4 ? l.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') : l.join('  '));
  }
}

function versions() {
  const first = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim().split('\n')[0] : undefined;
  };
  return {
    node: process.version,
    uwsgi: first('uwsgi', ['--version']),
    gunicorn: first('gunicorn', ['--version']),
    uvicorn: first('/usr/bin/python3', ['-m', 'uvicorn', '--version']),
    hypercorn: first('/usr/bin/python3', ['-c', 'import importlib.metadata as m; print("hypercorn", m.version("hypercorn"))']),
    python: first('/usr/bin/python3', ['--version']),
    wrk: first('wrk', ['--version']),
  };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.install) {
    const libpython = debianLibpythonPackage();
    const nginx = opts.modes.includes('nginx') || opts.modes.includes('hol') ? ['nginx'] : [];
    const django = opts.apps.includes('django') ? ['python3-django'] : [];
    const asgi = opts.apps.some((a) => APPS[a].asgi)
      ? ['python3-uvicorn', 'python3-uvloop', 'python3-httptools', 'python3-hypercorn', 'python3-fastapi'] : [];
    const pkgs = ['wrk', 'uwsgi', 'uwsgi-plugin-python3', 'gunicorn', 'python3-flask', ...nginx, ...django, ...asgi, ...(libpython ? [libpython] : [])];
    const missing = ensureDebPackages(pkgs, { label: 'bench packages' });
    if (missing.includes('wrk')) fail('wrk is required: apt-get install wrk');
  }
  const startedAt = new Date();
  console.log(`bench: servers ${opts.servers.join(',')}; apps ${opts.apps.join(',')}; modes ${opts.modes.join(',')}; ` +
    `wrk -t${opts.threads} -c${opts.connections} -d${opts.duration}s (warm-up ${opts.warmup}s); ${opts.processes} workers each` +
    (opts.workerThreads > 1 ? `, ${opts.workerThreads} threads each` : ''));
  const rows = [];
  for (const app of opts.apps) {
    if (APPS[app].build !== undefined) {
      const site = APPS[app].build('/usr/bin/python3'); // Debian's Django, for every server
      process.once('exit', site.cleanup);
      Object.assign(APPS[app], { file: site.file, module: site.module, chdir: site.dir });
    }
    for (const shared of transports(opts.modes)) {
      for (const server of opts.servers) {
        if (!(APPS[app].asgi ? ASGI_SERVERS : WSGI_SERVERS).includes(server)) continue;
        for (const transport of uwsgiSocketSplit(server, shared, opts)) {
          console.log(`- ${app} on ${server} (${transport.modes.join(', ')}) ...`);
          rows.push(...(await benchOne(server, app, { ...opts, uwsgiSocket: transport.uwsgiSocket ?? opts.uwsgiSocket }, transport)));
        }
      }
    }
  }
  console.log('');
  printTable(rows);
  if (opts.save) {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release() };
    writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), machine, versions: versions(), options: opts, results: rows }, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
  }
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
