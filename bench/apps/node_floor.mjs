// The floor of any server built on Node's event loop: N processes (cluster, SCHED_NONE: each accepts from the
// shared socket itself, as nuwsgi's workers) that parse nothing, run no Python and answer every request with a fixed
// "Hello, World!". It counts requests by their "\r\n\r\n" (wrk's GETs have no body) and closes after the answer when
// the request asked for it (HTTP) or always (uwsgi packets from nginx). Whatever nuwsgi spends above this per request
// is parsing, Python and our own code; what it costs is the least Node's net layer and libuv can cost.
//
// usage: node bench/apps/node_floor.mjs PROCS http|uwsgi HOST:PORT|UNIX_PATH
import cluster from 'node:cluster';
import net from 'node:net';
const [procs, kind, where] = process.argv.slice(2);
const BODY = 'Hello, World!';
const HEAD = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n`;
const ONE = Buffer.from(HEAD + BODY);
cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary) {
  for (let i = 0; i < Number(procs); i++) cluster.fork();
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (kind === 'uwsgi') { sock.end(ONE); return; }
      let n = 0;
      for (let i = d.indexOf('\r\n\r\n'); i !== -1; i = d.indexOf('\r\n\r\n', i + 4)) n++;
      if (n === 0) return;
      const out = n === 1 ? ONE : Buffer.concat(Array(n).fill(ONE));
      if (d.includes('Connection: close')) sock.end(out); else sock.write(out);
    });
  });
  if (where.startsWith('/')) server.listen(where); else { const [h, p] = where.split(':'); server.listen(Number(p), h); }
}
