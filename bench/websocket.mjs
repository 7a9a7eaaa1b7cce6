#!/usr/bin/env node
// WebSocket echo, messages/s: nuwsgi --asgi vs uvicorn (Debian's python3-uvicorn
// with uvloop, httptools and websockets, the fastest way it runs), one worker
// each, same app (bench/apps/ws_echo.py), same client. The client is this
// process: C connections, each sending a message and waiting for its echo,
// as fast as it comes back, for S seconds. Frames are made and read with
// nuwsgi's own protocol layer (dist/src/protocol/websocket: run `npx tsc` first).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { fail, freePort, listOf, parseFlags } from './lib/cli.mjs';
import { processTree, readProcText, treeMemory } from './lib/proc-tree.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ws = require(join(ROOT, 'dist', 'src', 'protocol', 'websocket', 'index.js'));

const USAGE = `node bench/websocket.mjs [options]
  --servers LIST     nuwsgi,uvicorn (default both)
  --connections N    concurrent WebSockets (default 50)
  --size BYTES       message size (default 32)
  --seconds N        per server (default 10)
  --deflate BOOL     permessage-deflate on both servers and the client (default false)
  --python PATH      interpreter for both (default /usr/bin/python3)`;

const o = parseFlags(process.argv.slice(2), {
  servers: 'nuwsgi,uvicorn', connections: '50', size: '32', seconds: '10', deflate: 'false', python: '/usr/bin/python3',
}, USAGE);
const servers = listOf(o.servers, ['nuwsgi', 'uvicorn'], 'server');
const connections = Number(o.connections);
const size = Number(o.size);
const seconds = Number(o.seconds);
const deflate = o.deflate === 'true';
if (!(connections > 0 && size >= 0 && seconds > 0)) fail(USAGE);

function command(server, port) {
  const apps = join(ROOT, 'bench', 'apps');
  if (server === 'nuwsgi') {
    return [process.execPath, [join(ROOT, 'bin', 'nuwsgi'), '--master', '--processes', '1', '--http-socket', `127.0.0.1:${port}`,
      '--python', o.python, '--chdir', apps, '--asgi', 'ws_echo:app', '--disable-logging', `--ws-per-message-deflate=${deflate}`]];
  }
  return [o.python, ['-m', 'uvicorn', 'ws_echo:app', '--app-dir', apps, '--port', String(port), '--workers', '1', '--loop', 'uvloop',
    '--http', 'httptools', '--ws', 'websockets', '--no-access-log', '--ws-per-message-deflate', String(deflate), '--log-level', 'warning']];
}

async function startServer(server) {
  const port = await freePort();
  const [cmd, args] = command(server, port);
  const proc = spawn(cmd, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proc.stderr.on('data', (d) => (logs += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await openSocket(port).then((c) => c.close());
      return { proc, port, logs: () => logs };
    } catch {
      if (Date.now() > deadline || proc.exitCode !== null) fail(`${server} did not start:\n${logs}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function stopServer(s) {
  try {
    process.kill(-s.proc.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

/** One client WebSocket: handshake, then send() resolves with the echo. */
function openSocket(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const ext = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '';
    sock.on('connect', () => sock.write(`GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${ext}\r\n`));
    sock.on('error', reject);
    let head = Buffer.alloc(0);
    let parser = null;
    let waiting = null;
    sock.on('data', (chunk) => {
      if (parser === null) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        if (!text.startsWith('HTTP/1.1 101')) return reject(new Error(text.split('\r\n')[0]));
        const compressed = /permessage-deflate/i.test(text);
        parser = new ws.WebSocketParser({ maxMessageSize: Infinity, requireMask: false, inflater: compressed ? new ws.MessageInflater({ noContextTakeover: false }) : null });
        const deflater = compressed ? new ws.MessageDeflater({ windowBits: 15 }) : null;
        resolve({
          send(payload) {
            const compressedPayload = deflater?.compress(payload) ?? null;
            const body = compressedPayload ?? payload;
            sock.write(ws.encodeFrame(ws.Opcode.BINARY, body, { maskKey: randomBytes(4), rsv1: compressedPayload !== null }));
            return new Promise((r) => (waiting = r));
          },
          close: () => sock.destroy(),
        });
        chunk = head.subarray(end + 4);
        if (chunk.length === 0) return;
      }
      for (const ev of parser.feed(chunk)) {
        if (ev.type === 'binary' || ev.type === 'text') {
          const w = waiting;
          waiting = null;
          w?.();
        }
      }
    });
  });
}

/** CPU seconds (user + system) the server's process tree has used. */
function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const stat = readProcText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100; // USER_HZ
}

async function measure(port, forSeconds) {
  const clients = await Promise.all(Array.from({ length: connections }, () => openSocket(port)));
  const payload = randomBytes(size);
  const latencies = [];
  let messages = 0;
  const end = Date.now() + forSeconds * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(clients.map(async (c) => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint();
      await c.send(payload);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      messages++;
    }
  }));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(2);
  return { messagesPerSecond: Math.round(messages / elapsed), p50: pct(0.5), p99: pct(0.99) };
}

console.log(`WebSocket echo: ${connections} connections, ${size}-byte messages, ${seconds} s, permessage-deflate ${deflate ? 'on' : 'off'}, 1 worker`);
for (const name of servers) {
  const s = await startServer(name);
  try {
    await measure(s.port, 2); // warm-up
    const cpuBefore = treeCpuSeconds(s.proc.pid);
    const r = await measure(s.port, seconds);
    const cpuUs = ((treeCpuSeconds(s.proc.pid) - cpuBefore) * 1e6) / (r.messagesPerSecond * seconds);
    const mem = treeMemory(s.proc.pid);
    console.log(`${name.padEnd(8)} ${String(r.messagesPerSecond).padStart(8)} messages/s   p50 ${r.p50} ms   p99 ${r.p99} ms   ` +
      `server CPU ${cpuUs.toFixed(0)} µs/message   PSS ${mem.pssMb.toFixed(0)} MB (${mem.processes} processes)`);
  } finally {
    stopServer(s);
  }
}
process.exit(0);
