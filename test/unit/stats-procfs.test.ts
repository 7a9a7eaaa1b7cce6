import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import net from 'node:net';
import { bindSocket } from '../../src/master/sockets';
import { ListenQueueMonitor } from '../../src/stats/listen-queue';
import {
  effectiveBacklog,
  pageSize,
  parseProcNetTcp,
  parseProcNetUnix,
  parseStatm,
  readAcceptQueues,
  readProcessMemory,
  tcpAcceptQueue,
  unixAcceptQueue,
} from '../../src/stats/procfs';
import { makeTempDir } from '../helpers/tmp';

// Captured on Linux 6.x: a TCP listener with 4 connections not yet accepted,
// and a UNIX listener with 3 connects of which one was accepted.
const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   3: 0100007F:BA9B 00000000:0000 0A 00000000:00000004 00:00000000 00000000     0        0 749424 5 000000009b5366cc 100 0 0 10 0
  29: 0100007F:BA9B 0100007F:D1F6 01 00000000:00000000 00:00000000 00000000     0        0 0 1 00000000251666e4 20 0 0 10 -1
`;
const PROC_NET_UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
00000000e6ef6362: 00000003 00000000 00000000 0001 03 749422 /tmp/statsdev/q.sock
00000000e1d5c3fd: 00000003 00000000 00000000 0001 02     0 /tmp/statsdev/q.sock
00000000a9f07a35: 00000003 00000000 00000000 0001 02     0 /tmp/statsdev/q.sock
000000003d371d2c: 00000002 00000000 00010000 0001 01 749418 /tmp/statsdev/q.sock
0000000011111111: 00000002 00000000 00010000 0001 01 749500 @abstract
0000000022222222: 00000003 00000000 00000000 0001 03 749501
`;

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

test('/proc/net/tcp: the LISTEN row rx_queue is the accept queue', () => {
  const rows = parseProcNetTcp(PROC_NET_TCP);
  assert.equal(rows.length, 2);
  assert.equal(tcpAcceptQueue(rows, 749424), 4);
  assert.equal(tcpAcceptQueue(rows, 1), undefined);
});

test('/proc/net/unix: queued connections are inode-less state-02 rows with the listener path', () => {
  const rows = parseProcNetUnix(PROC_NET_UNIX);
  assert.equal(rows.length, 6);
  assert.equal(unixAcceptQueue(rows, '/tmp/statsdev/q.sock'), 2);
  assert.equal(unixAcceptQueue(rows, '@abstract'), 0);
  assert.equal(rows[5]?.path, '');
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

test('the real kernel: queued TCP and UNIX connections are counted, and the monitor logs a full queue', async () => {
  const dir = makeTempDir('nuwsgi-lq-');
  const path = join(dir, 'q.sock');
  const tcp = await bindSocket(0, 'http', '127.0.0.1:0', 16);
  const unix = await bindSocket(1, 'uwsgi', path, 16);
  const clients = [...(await connectClients({ host: '127.0.0.1', port: tcp.port }, 3)), ...(await connectClients({ path }, 2))];
  try {
    assert.deepEqual(
      readAcceptQueues([
        { kind: 'tcp', fd: tcp.fd },
        { kind: 'unix', fd: unix.fd, path },
      ]),
      [3, 2],
    );
    const logs: string[] = [];
    const monitor = new ListenQueueMonitor(
      [
        { kind: 'tcp', fd: tcp.fd, name: tcp.spec, proto: 'http', maxQueue: 16 },
        { kind: 'unix', fd: unix.fd, path, name: path, proto: 'uwsgi', maxQueue: 2 },
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
