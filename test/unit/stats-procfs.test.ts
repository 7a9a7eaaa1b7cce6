import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import net from 'node:net';
import { bindSocket } from '../../src/master/sockets';
import { ListenQueueMonitor } from '../../src/stats/listen-queue';
import { effectiveBacklog, pageSize, parseStatm, readProcessMemory } from '../../src/stats/procfs';
import { parseUnixDiagReply, readListenQueues, unixDiagRequest } from '../../src/stats/socket-queue';
import { makeTempDir } from '../helpers/tmp';

test('statm: pages to bytes', () => {
  assert.deepEqual(parseStatm('2000 300 100 1 0 500 0\n', 4096), { vsz: 2000 * 4096, rss: 300 * 4096 });
  assert.equal(parseStatm('', 4096), undefined);
});

test('page size comes from the auxiliary vector; our own memory is readable, a dead pid is not', () => {
  assert.ok([4096, 16384, 65536].includes(pageSize()));
  const mem = readProcessMemory(process.pid);
  assert.ok(mem !== undefined && mem.rss > 1_000_000 && mem.vsz >= mem.rss);
  assert.equal(readProcessMemory(2 ** 22 + 12345), undefined);
});

test('sock_diag: the request asks for one inode; the UNIX_DIAG_RQLEN rqueue of the reply is the queue', () => {
  const req = unixDiagRequest(749418);
  assert.equal(req.length, 40);
  assert.equal(req.readUInt32LE(0), 40);
  assert.equal(req.readUInt16LE(4), 20); // SOCK_DIAG_BY_FAMILY
  assert.equal(req.readUInt32LE(24), 749418);
  // nlmsghdr(16) + unix_diag_msg(16) + rtattr RQLEN {rqueue 2, wqueue 16} + an attribute before it.
  const reply = Buffer.alloc(16 + 16 + 8 + 12);
  reply.writeUInt32LE(reply.length, 0);
  reply.writeUInt16LE(20, 4);
  reply.writeUInt16LE(8, 32); // some other attribute, 4 bytes of payload
  reply.writeUInt16LE(99, 34);
  reply.writeUInt16LE(12, 40);
  reply.writeUInt16LE(4, 42); // UNIX_DIAG_RQLEN
  reply.writeUInt32LE(2, 44);
  reply.writeUInt32LE(16, 48);
  assert.equal(parseUnixDiagReply(reply), 2);
  const error = Buffer.from(reply);
  error.writeUInt16LE(2, 4); // NLMSG_ERROR
  assert.equal(parseUnixDiagReply(error), undefined);
});

test('effective backlog is capped by somaxconn', () => {
  assert.equal(effectiveBacklog(100, 4096), 100);
  assert.equal(effectiveBacklog(8192, 4096), 4096);
  assert.equal(effectiveBacklog(100, undefined), 100);
});

/** n clients connected to a socket the master bound (it listens but never accepts: they stay queued). */
async function connectClients(target: net.NetConnectOpts, n: number): Promise<net.Socket[]> {
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = net.connect(target);
    c.on('error', () => undefined);
    clients.push(c);
    await new Promise((r) => c.once('connect', r));
  }
  return clients;
}

test('the real kernel: queued TCP and UNIX connections are counted from the sockets themselves, and the monitor logs a full queue', async () => {
  const dir = makeTempDir('nuwsgi-lq-');
  const path = join(dir, 'q.sock');
  const tcp = await bindSocket(0, 'http', '127.0.0.1:0', 16);
  const unix = await bindSocket(1, 'uwsgi', path, 16);
  const clients = [...(await connectClients({ host: '127.0.0.1', port: tcp.port }, 3)), ...(await connectClients({ path }, 2))];
  try {
    assert.deepEqual(
      readListenQueues([
        { kind: 'tcp', fd: tcp.fd },
        { kind: 'unix', fd: unix.fd },
      ]),
      [3, 2],
    );
    const logs: string[] = [];
    const monitor = new ListenQueueMonitor(
      [
        { kind: 'tcp', fd: tcp.fd, name: tcp.spec, proto: 'http', maxQueue: 16 },
        { kind: 'unix', fd: unix.fd, name: path, proto: 'uwsgi', maxQueue: 2 },
      ],
      (l) => logs.push(l),
    );
    monitor.check();
    assert.equal(monitor.listenQueue, 3);
    assert.equal(monitor.listenQueueErrors, 1);
    assert.equal(logs.length, 1);
    assert.ok(logs[0]?.endsWith(`- *** nuwsgi listen queue of socket "${path}" (fd: ${unix.fd}) full !!! (2/2) ***`), logs[0]);
    assert.deepEqual(
      monitor.socketSnapshots().map((s) => [s.queue, s.maxQueue]),
      [
        [3, 16],
        [2, 2],
      ],
    );
  } finally {
    for (const c of clients) c.destroy();
    for (const s of [tcp, unix]) (s.handle as { close(): void }).close();
  }
});
