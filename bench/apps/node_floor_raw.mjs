// The floor of a server that does its I/O on Node's event loop the way nuwsgi's workers do (no `net.Socket`): N
// processes share one listening socket; each watches it with a koffi poll handle (uv_poll_t, libuv's own watcher
// stopped) and takes connections with its own accept4(2), reads and writes them with read(2)/write(2) through koffi,
// parses nothing, runs no Python and answers every request with a fixed "Hello, World!". A connection whose bytes have
// not arrived yet, or that stays open (HTTP keep-alive), gets a koffi poll handle of its own. Against
// bench/apps/node_floor.mjs (Node's `net`), this is what is left of Node per request once nuwsgi's own I/O paths
// (src/worker/listener-gate.ts, transport.ts) have taken `net` out: a wake-up of the event loop, the JS calls around
// each system call, and the process's footprint. Whatever nuwsgi spends above it is parsing, Python and our own code.
//
// usage: node bench/apps/node_floor_raw.mjs PROCS http|uwsgi HOST:PORT|UNIX_PATH
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
const koffi = createRequire(import.meta.url)('koffi');
const [procs, kind, where] = process.argv.slice(2);
const BODY = 'Hello, World!';
const ONE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
const LISTEN_FD = 3;

if (process.env.NODE_FLOOR_RAW_CHILD === '1') serve();
else primary();

/** Bind with socket(2)/bind(2)/listen(2) (libuv must not watch it here) and hand the socket to PROCS children as fd 3. */
function primary() {
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int, int, int)');
  const bind = libc.func('int bind(int, const void*, int)');
  const listen = libc.func('int listen(int, int)');
  const setsockopt = libc.func('int setsockopt(int, int, int, const void*, int)');
  let fd, addr;
  if (where.startsWith('/')) {
    fd = socket(1, 1, 0); // AF_UNIX, SOCK_STREAM
    addr = Buffer.alloc(110);
    addr.writeUInt16LE(1, 0);
    addr.write(where, 2);
  } else {
    const [host, port] = where.split(':');
    fd = socket(2, 1, 0); // AF_INET
    setsockopt(fd, 1, 2, Buffer.from([1, 0, 0, 0]), 4); // SOL_SOCKET, SO_REUSEADDR
    setsockopt(fd, 6, 9, Buffer.from([4, 0, 0, 0]), 4); // TCP_DEFER_ACCEPT, 4 s: accept(2) once the request is there (uWSGI and nuwsgi set it)
    addr = Buffer.alloc(16);
    addr.writeUInt16LE(2, 0);
    addr.writeUInt16BE(Number(port), 2);
    host.split('.').forEach((b, i) => addr.writeUInt8(Number(b), 4 + i));
  }
  if (fd < 0 || bind(fd, addr, addr.length) !== 0 || listen(fd, 100) !== 0) throw new Error(`cannot listen on ${where} (errno ${koffi.errno()})`);
  const children = [];
  for (let i = 0; i < Number(procs); i++) {
    children.push(spawn(process.execPath, [fileURLToPath(import.meta.url), procs, kind, where], {
      env: { ...process.env, NODE_FLOOR_RAW_CHILD: '1' }, stdio: ['ignore', 'inherit', 'inherit', fd],
    }));
  }
  process.on('SIGTERM', () => { for (const c of children) c.kill('SIGKILL'); process.exit(0); });
  setInterval(() => {}, 1 << 30);
}

function serve() {
  const libc = koffi.load('libc.so.6');
  const accept4 = libc.func('int accept4(int, void*, void*, int)');
  const read = libc.func('long read(int, void*, size_t)');
  const write = libc.func('long write(int, const void*, size_t)');
  const close = libc.func('int close(int)');
  const NONBLOCK_CLOEXEC = 0o4000 | 0o2000000;
  const buf = Buffer.alloc(65536);
  const CRLF2 = Buffer.from('\r\n\r\n');
  const CLOSE = Buffer.from('Connection: close');
  /** Answer what `n` bytes hold; true when the connection is to close. */
  const answer = (fd, n) => {
    if (kind === 'uwsgi') { write(fd, ONE, ONE.length); return true; }
    const d = buf.subarray(0, n);
    let count = 0;
    for (let i = d.indexOf(CRLF2); i !== -1; i = d.indexOf(CRLF2, i + 4)) count++;
    if (count === 1) write(fd, ONE, ONE.length);
    else if (count > 1) { const out = Buffer.concat(Array(count).fill(ONE)); write(fd, out, out.length); }
    return d.includes(CLOSE);
  };
  /** read → answer; false when the connection is done (closed by us or the peer), true when it waits for more. */
  const step = (fd) => {
    const n = read(fd, buf, buf.length);
    if (n > 0) return !answer(fd, n);
    return n < 0 && koffi.errno() === 11; // EAGAIN: its bytes are not there yet
  };
  const handles = new Map(); // koffi's poll handles must stay referenced to keep watching
  const take = (fd) => {
    if (!step(fd)) { close(fd); return; }
    handles.set(fd, koffi.node.poll(fd, { readable: true }, () => {
      if (step(fd)) return;
      handles.get(fd).close();
      handles.delete(fd);
      close(fd);
    }));
  };
  handles.set(LISTEN_FD, koffi.node.poll(LISTEN_FD, { readable: true }, () => {
    for (let i = 0; i < 8; i++) {
      const fd = accept4(LISTEN_FD, null, null, NONBLOCK_CLOEXEC);
      if (fd < 0) return;
      take(fd);
    }
  }));
}
