// Same-minute A/B of server builds: every server is up at once and the wrk rounds are interleaved
// (A, B, uWSGI, A, B, uWSGI...), so load from the rest of the machine hits each alike; prints CPU
// µs per request (schedstat of the server's process tree, as run.mjs) per round and the medians, split into the
// processes' main threads (Node's, for nuwsgi) and their other threads (the ASGI loop thread, libuv's, V8's), with the
// voluntary and involuntary context switches per request over the same threads (/proc/PID/task/*/status):
// on a shared machine CPU µs move by ±50 % from round to round, switches per request much less.
//
// usage: node bench/ab.mjs MODE APP ROUNDS SECS SERVER...
//   MODE    keepalive | close | nginx (wrk -> nginx -> uwsgi_pass unix:; proxy_pass for uvicorn)
//   APP     hello | flask | io50 (WSGI) | asgi-hello | fastapi (ASGI: nuwsgi --asgi, and uvicorn as `uv`)
//   SERVER  uw (uWSGI, --http11-socket) | uwh (uWSGI, --http-socket: closes every connection) | uv (uvicorn, uvloop +
//           httptools; ASGI apps) | nu:TREE[:ENV=V,...] (nuwsgi from a built
//           checkout, e.g. nu:. and nu:/tmp/base) | floor (bench/apps/node_floor.mjs: bare Node, no parsing, no Python:
//           the least a server on Node's event loop can spend per request) | rawfloor (bench/apps/node_floor_raw.mjs:
//           the same without `net`, with nuwsgi's own accept4/read/write through koffi: Node's part alone)
//   env     PROCS (2), THREADS (1), CONNS (50), WARM (1: seconds of load before the rounds; V8 optimizes by work done,
//           so a slow app's loop stays cold for tens of seconds)
// e.g. THREADS=4 node bench/ab.mjs keepalive hello 5 3 uw nu:/tmp/base nu:.
// With /usr/bin/time (Debian's `time`) each line also gives wrk's own CPU per request: the client shares the 2 CPUs.
// `close` against `uw` is not like for like: uWSGI's --http11-socket ignores a request's `Connection: close` (no such
// header in its answer) and wrk sends its next request on the same connection (strace: 11 accept4 for 14,165
// requests); `uwh` closes after every response, as nuwsgi does. Ratios are printed against each reference server.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { ensureDebPackages } from '../scripts/lib/apt.mjs';
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const [mode, appName, roundsS, secsS, ...names] = process.argv.slice(2);
const rounds = Number(roundsS), secs = Number(secsS);
const APPS = { hello: ['examples/hello.py', '/'], flask: ['examples/flask_app.py', '/'], io50: ['bench/apps/bench_app.py', '/io'],
  'asgi-hello': ['asgi_hello:app', '/', true], fastapi: ['fastapi_app:app', '/', true] }; // ASGI modules are in bench/apps
const [appFile, path, asgi] = APPS[appName];
const appArgs = asgi ? ['--chdir', join(ROOT, 'bench/apps'), '--asgi', appFile] : ['--wsgi-file', join(ROOT, appFile)];
const procs = Number(process.env.PROCS ?? 2), threads = Number(process.env.THREADS ?? 1);
const conns = Number(process.env.CONNS ?? 50);
// What the servers named need, from Debian, where missing (as run.mjs; root only).
const needs = ['wrk', ...(mode === 'nginx' ? ['nginx'] : []), ...(names.some((n) => n.startsWith('uw')) ? ['uwsgi', 'uwsgi-plugin-python3'] : []),
  ...(names.some((n) => n.startsWith('uv')) ? ['python3-uvicorn', 'python3-uvloop', 'python3-httptools'] : []),
  ...(appName === 'flask' ? ['python3-flask'] : []), ...(appName === 'fastapi' ? ['python3-fastapi'] : [])];
ensureDebPackages(needs, { label: 'ab packages' });
/** /usr/bin/time (Debian's `time`) gives wrk's own CPU; without it that column is left out. */
const TIME = existsSync('/usr/bin/time');
const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-ab-'));
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function cfg(name, sock) {
  const th = threads > 1 ? ['--threads', String(threads)] : [];
  const [kind, tree, env] = name.split(':'); // e.g. nu:/tmp/base:PYTHONMALLOC=malloc
  const envObj = { ...process.env }; if (env) for (const kv of env.split(',')) { const at = kv.indexOf('='); envObj[kv.slice(0, at)] = kv.slice(at + 1); } // NODE_OPTIONS=--flag=1 keeps its '='
  if (kind === 'nu') return { cmd: process.execPath, args: [join(resolve(tree), 'bin/nuwsgi'), '--master', '--processes', String(procs), ...th, ...sock, ...appArgs, '--python', '/usr/bin/python3', '--disable-logging'], env: envObj };
  if (kind === 'floor' || kind === 'rawfloor') {
    const file = kind === 'floor' ? 'bench/apps/node_floor.mjs' : 'bench/apps/node_floor_raw.mjs';
    return { cmd: process.execPath, args: [join(ROOT, file), String(procs), sock[0] === '--socket' ? 'uwsgi' : 'http', sock[1]], env: envObj };
  }
  if (kind === 'uv') {
    const bind = sock[0] === '--socket' ? ['--uds', sock[1]] : ['--host', '127.0.0.1', '--port', sock[1].split(':')[1]];
    return { cmd: '/usr/bin/python3', args: ['-m', 'uvicorn', appFile, '--app-dir', join(ROOT, 'bench/apps'), '--workers', String(procs), ...bind, '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning'], env: envObj };
  }
  return { cmd: 'uwsgi', args: ['--plugin', 'python3', '--master', '--processes', String(procs), ...th, ...sock, '--wsgi-file', join(ROOT, appFile), '--disable-logging', '--die-on-term'], env: envObj };
}
function tree(root) { const out = [root]; for (let i = 0; i < out.length; i++) { try { const ch = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim(); if (ch) out.push(...ch.split(' ').map(Number)); } catch {} } return out; }
// CPU µs of the tree; `.main` = the processes' main threads (Node's for nuwsgi), the rest = other threads (the ASGI loop's).
function cpuUs(root) { let ns = 0, main = 0; for (const pid of tree(root)) { let t = []; try { t = readdirSync(`/proc/${pid}/task`); } catch { continue; } for (const tid of t) { try { const v = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); ns += v; if (Number(tid) === pid) main += v; } catch {} } } return { total: ns / 1000, main: main / 1000 }; }
function switches(root) { let vol = 0, inv = 0; for (const pid of tree(root)) { let t = []; try { t = readdirSync(`/proc/${pid}/task`); } catch { continue; } for (const tid of t) { try { const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'); vol += Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]); inv += Number(/\nnonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]); } catch {} } } return [vol, inv]; }
const servers = [];
process.on('exit', () => { for (const s of servers) { for (const pid of tree(s.pid).reverse()) { try { process.kill(pid, 'SIGKILL'); } catch {} } try { process.kill(-s.pid, 'SIGKILL'); } catch (e) { console.error('kill', s.pid, e.message); } try { if (s.nginx) process.kill(-s.nginx.pid, 'SIGKILL'); } catch {} } rmSync(dir, { recursive: true, force: true }); });
process.on('SIGINT', () => process.exit(1));
for (const [i, name] of names.entries()) {
  const port = await freePort();
  const unix = join(dir, `s${i}.sock`);
  const http = name === 'uw' || name.startsWith('uw:') ? '--http11-socket' : '--http-socket'; // uwh: uWSGI's --http-socket
  const sock = mode === 'nginx' ? ['--socket', unix] : [http, `127.0.0.1:${port}`];
  const c = cfg(name, sock);
  const p = spawn(c.cmd, c.args, { cwd: ROOT, env: c.env, detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
  const s = { name, pid: p.pid, port };
  if (mode === 'nginx') {
    const np = await freePort();
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t + i)};`).join(' ');
    // uvicorn speaks no uwsgi protocol: nginx proxies HTTP/1.1 to its unix socket, keep-alive off as uwsgi_pass.
    const pass = name.startsWith('uv') ? `proxy_http_version 1.1; proxy_set_header Host $host; proxy_pass http://unix:${unix}:;` : `include /etc/nginx/uwsgi_params; uwsgi_pass unix:${unix};`;
    writeFileSync(join(dir, `n${i}.conf`), `user root root;\ndaemon off;\nworker_processes 1;\npid ${join(dir, `n${i}.pid`)};\nerror_log ${join(dir, `n${i}.err`)} warn;\nevents { worker_connections 4096; }\nhttp { access_log off; ${temp} server { listen 127.0.0.1:${np}; location / { ${pass} } } }\n`);
    const n = spawn('/usr/sbin/nginx', ['-c', join(dir, `n${i}.conf`)], { detached: true, stdio: 'ignore' });
    s.nginx = n; s.port = np;
  }
  servers.push(s);
}
// wait ready
for (const s of servers) { for (let k = 0; k < 200; k++) { try { execFileSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${s.port}${path}`]); break; } catch { await sleep(100); } } }
await sleep(500);
const results = Object.fromEntries(servers.map((s) => [s.name, []]));
const wrkArgs = (s, d) => ['-t2', `-c${conns}`, `-d${d}s`, ...(mode === 'close' ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${s.port}${path}`];
const warm = Number(process.env.WARM ?? 1);
for (const s of servers) execFileSync('wrk', wrkArgs(s, warm)); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const s of servers) {
    const x0 = switches(s.pid), c0 = cpuUs(s.pid), n0 = s.nginx ? cpuUs(s.nginx.pid).total : 0;
    const run = spawnSync(TIME ? '/usr/bin/time' : 'wrk', TIME ? ['-f', 'WRKCPU %U %S', 'wrk', ...wrkArgs(s, secs)] : wrkArgs(s, secs), { encoding: 'utf8' });
    const out = run.stdout;
    const wrkCpu = /WRKCPU ([\d.]+) ([\d.]+)/.exec(run.stderr ?? '');
    const c1 = cpuUs(s.pid), x1 = switches(s.pid), n1 = s.nginx ? cpuUs(s.nginx.pid).total : 0;
    const reqs = Number(/(\d+) requests in/.exec(out)[1]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
    const errs = /Non-2xx|Socket errors/.test(out) ? ' ERR' : '';
    const us = (c1.total - c0.total) / reqs, main = (c1.main - c0.main) / reqs;
    const vol = (x1[0] - x0[0]) / reqs, inv = (x1[1] - x0[1]) / reqs;
    const nginx = (n1 - n0) / reqs;
    // wrk's own CPU per request (user + system, from /usr/bin/time): what the client takes of the 2 CPUs.
    const wrk = wrkCpu ? ((Number(wrkCpu[1]) + Number(wrkCpu[2])) * 1e6) / reqs : NaN;
    results[s.name].push({ us, rps, main, other: us - main, vol, inv, nginx, wrk });
    const ng = (s.nginx ? `  nginx ${nginx.toFixed(1)} us/req` : '') + (wrkCpu ? `  wrk ${wrk.toFixed(1)} us/req` : '');
    process.stdout.write(`r${r} ${s.name.padEnd(40)} ${us.toFixed(1).padStart(7)} us/req (main threads ${main.toFixed(1)} + others ${(us - main).toFixed(1)}) ${rps.toFixed(0).padStart(7)} req/s  cs ${vol.toFixed(2)}+${inv.toFixed(2)}${ng}${errs}\n`);
  }
}
const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]; };
console.log(`--- ${mode} ${appName} procs=${procs} threads=${threads} medians (cs: voluntary+involuntary context switches per request)`);
const refs = servers.filter((s) => !s.name.startsWith('nu:')).map((s) => s.name);
for (const s of servers) {
  const m = med(results[s.name].map((x) => x.us));
  const part = (k) => med(results[s.name].map((x) => x[k])).toFixed(k === 'vol' || k === 'inv' ? 2 : 1);
  const ratios = refs.filter((r) => r !== s.name).map((r) => `${(m / med(results[r].map((x) => x.us))).toFixed(2)}x ${r}`).join(' ');
  const ng = (s.nginx ? ` nginx ${part('nginx')} us/req` : '') + (TIME ? ` wrk ${part('wrk')} us/req` : '');
  console.log(`${s.name.padEnd(40)} ${m.toFixed(1).padStart(7)} us/req (main ${part('main')} + others ${part('other')})  ${med(results[s.name].map((x) => x.rps)).toFixed(0).padStart(7)} req/s  cs ${part('vol')}+${part('inv')}${ng} ${ratios}`);
}
process.exit(0);
