// Connections taken with our own accept4 (transport.ts acceptQueued) start
// without a libuv handle: read, written and closed on the bare descriptor,
// a handle made only when the loop is needed. The listening sockets here are
// made with koffi and watched by no loop, so every connection waits in the
// kernel's queue for acceptQueued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptQueued, type RawTransport, type TransportEvents } from '../../src/worker/transport';
import { socketCalls } from '../../src/util/socket-calls';
import { libc } from '../../src/util/libc';

interface Recorder extends TransportEvents {
  chunks: Buffer[];
  ended: boolean;
  closes: number;
  closedAt: Promise<void>;
}

function recorder(): Recorder {
  let resolve!: () => void;
  const closedAt = new Promise<void>((r) => (resolve = r));
  const r: Recorder = {
    chunks: [],
    ended: false,
    closes: 0,
    closedAt,
    data: (c) => void r.chunks.push(c),
    end: () => void (r.ended = true),
    drain: () => undefined,
    close: () => {
      r.closes++;
      resolve();
    },
  };
  return r;
}

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000; // as the worker's listeners: accept4 must never wait

/**
 * A listening socket no event loop watches (socket/bind/listen through
 * koffi), shaped as acceptQueued wants a net.Server: every connection waits
 * in the kernel's queue for it.
 */
function quietListener(family: 'tcp4' | 'tcp6' | 'unix', unixPath = ''): { port: number; take(): RawTransport[]; close(): void } {
  const c = socketCalls();
  const domain = family === 'tcp4' ? AF_INET : family === 'tcp6' ? AF_INET6 : AF_UNIX;
  const fd = c.socket(domain, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert.ok(fd >= 0, 'socket()');
  let addr: Buffer;
  if (family === 'tcp4') {
    addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    Buffer.from([127, 0, 0, 1]).copy(addr, 4);
  } else if (family === 'tcp6') {
    addr = Buffer.alloc(28);
    addr.writeUInt16LE(AF_INET6, 0);
    addr[23] = 1; // ::1
  } else {
    addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    addr.write(unixPath, 2);
  }
  if (c.bind(fd, addr, addr.length) !== 0 || libc().listen(fd, 16) !== 0) {
    c.close(fd);
    throw new Error(`bind/listen failed (errno ${c.errno()})`);
  }
  const name = Buffer.alloc(128);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(128, 0);
  c.getsockname(fd, name, length);
  const port = family === 'unix' ? 0 : name.readUInt16BE(2);
  const bindings = process as unknown as { binding(n: string): { TCP: unknown; Pipe: unknown } };
  const HandleClass = family === 'unix' ? bindings.binding('pipe_wrap').Pipe : bindings.binding('tcp_wrap').TCP;
  const fake = { _handle: { fd, constructor: HandleClass } } as unknown as net.Server;
  return {
    port,
    take: () => {
      const out: RawTransport[] = [];
      acceptQueued(fake, (t) => out.push(t));
      return out;
    },
    close: () => void c.close(fd),
  };
}

/** The first connection the listener can take. */
async function takeOne(l: { take(): RawTransport[] }): Promise<RawTransport> {
  let taken: RawTransport[] = [];
  await until(() => (taken = taken.concat(l.take())).length > 0);
  assert.equal(taken.length, 1);
  return taken[0] as RawTransport;
}

async function connected(port: number, host: string): Promise<net.Socket> {
  const client = net.connect(port, host);
  await once(client, 'connect');
  return client;
}

async function until(what: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a request already there is read, answered and closed without a handle; the address is the peer', async () => {
  const l = quietListener('tcp4');
  const client = await connected(l.port, '127.0.0.1');
  const received: Buffer[] = [];
  client.on('data', (c: Buffer) => received.push(c));
  // The write's callback: the kernel took the bytes, and on loopback they are in the peer's queue.
  await new Promise((r) => client.write('ping', r));
  const t = await takeOne(l);
  assert.equal(t.remoteAddress, '127.0.0.1');
  assert.equal(t.remotePort, client.localPort);
  assert.equal(t.localAddress, '127.0.0.1');
  assert.equal(t.localPort, l.port);
  const events = recorder();
  t.start(events);
  assert.equal(Buffer.concat(events.chunks).toString(), 'ping');
  assert.equal(t.write(Buffer.from('pong')), true);
  t.closeWhenWritten();
  assert.equal(t.destroyed, true);
  assert.equal(events.closes, 0, 'the close event comes after the call, never inside it');
  await events.closedAt;
  assert.equal(events.closes, 1);
  await once(client, 'end');
  assert.equal(Buffer.concat(received).toString(), 'pong');
  client.destroy();
  l.close();
});

test('a request that comes later is read once the transport resumes (a handle is made then)', async () => {
  const l = quietListener('tcp4');
  const client = await connected(l.port, '127.0.0.1');
  const t = await takeOne(l);
  const events = recorder();
  t.start(events); // nothing there yet: EAGAIN, no error
  assert.equal(events.chunks.length, 0);
  assert.equal(t.destroyed, false);
  t.resume();
  client.write('late');
  await until(() => Buffer.concat(events.chunks).toString() === 'late');
  client.end();
  await until(() => events.ended);
  t.destroy();
  await events.closedAt;
  assert.equal(events.closes, 1);
  client.destroy();
  l.close();
});

test('pause before the deferred read start keeps the transport from reading', async () => {
  const l = quietListener('tcp4');
  const client = await connected(l.port, '127.0.0.1');
  const t = await takeOne(l);
  const events = recorder();
  t.start(events);
  t.resume();
  t.pause();
  await new Promise((r) => client.write('held', r));
  // Loop turns, not time: the deferred start runs in an immediate, a read in the next poll.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(events.chunks.length, 0);
  t.resume();
  await until(() => Buffer.concat(events.chunks).toString() === 'held');
  t.destroy();
  await events.closedAt;
  client.destroy();
  l.close();
});

test('IPv6 peers get the address Node gives them', async (t) => {
  let l: ReturnType<typeof quietListener>;
  try {
    l = quietListener('tcp6');
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  const client = await connected(l.port, '::1');
  const tr = await takeOne(l);
  assert.equal(tr.remoteAddress, client.localAddress);
  assert.equal(tr.remotePort, client.localPort);
  tr.destroy();
  client.destroy();
  l.close();
});

test('a unix socket peer has no address, as Node reports it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raw-transport-'));
  const path = join(dir, 's.sock');
  const l = quietListener('unix', path);
  const client = net.connect(path);
  await once(client, 'connect');
  const tr = await takeOne(l);
  assert.equal(tr.remoteAddress, '');
  assert.equal(tr.remotePort, 0);
  const events = recorder();
  tr.start(events);
  tr.destroy();
  await events.closedAt;
  client.destroy();
  l.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the peer's address is the one accept4 wrote: known after the connection closed, without getpeername", async () => {
  const l = quietListener('tcp4');
  const client = await connected(l.port, '127.0.0.1');
  const tr = await takeOne(l);
  const events = recorder();
  tr.start(events);
  tr.destroy(); // getpeername on a closed descriptor could not tell it any more
  await events.closedAt;
  assert.equal(tr.remoteAddress, '127.0.0.1');
  assert.equal(tr.remotePort, client.localPort);
  client.destroy();
  l.close();
});

test('reads through a handle: a receiver that keeps chunks owns each; a borrowing one gets the bytes during the call', async () => {
  const l = quietListener('tcp4');
  const owner = await connected(l.port, '127.0.0.1');
  const borrower = await connected(l.port, '127.0.0.1');
  let taken: RawTransport[] = [];
  await until(() => (taken = taken.concat(l.take())).length === 2);
  const [ownerT, borrowerT] = taken as [RawTransport, RawTransport];
  const owned = recorder();
  const seen: string[] = [];
  const views: Buffer[] = [];
  const borrowing: TransportEvents = {
    borrowsInput: true,
    data: (c) => {
      seen.push(c.toString());
      views.push(c);
    },
    end: () => undefined,
    drain: () => undefined,
    close: () => undefined,
  };
  ownerT.start(owned);
  borrowerT.start(borrowing);
  ownerT.resume();
  borrowerT.resume();
  // Both read into the same shared buffer, one after the other.
  for (const word of ['first', 'again', 'third']) {
    owner.write(word);
    borrower.write(word.toUpperCase());
    await until(() => owned.chunks.length > 0 && Buffer.concat(owned.chunks).toString().endsWith(word) && seen.join('').endsWith(word.toUpperCase()));
  }
  assert.equal(Buffer.concat(owned.chunks).toString(), 'firstagainthird', 'owned chunks keep their bytes after later reads');
  assert.equal(seen.join(''), 'FIRSTAGAINTHIRD');
  // Same-length reads through the handle get the same view again (no object per read); its bytes are the
  // last read's. (The first word may come through the eager read of the deferred start, another buffer.)
  assert.equal(views.length, 3);
  assert.equal(views[1], views[2]);
  assert.equal(views[2]?.toString(), 'THIRD');
  ownerT.destroy();
  borrowerT.destroy();
  await owned.closedAt;
  owner.destroy();
  borrower.destroy();
  l.close();
});

test('the first read: a borrowing receiver gets a view of the shared buffer, an owner a copy', async () => {
  const l = quietListener('tcp4');
  const a = await connected(l.port, '127.0.0.1');
  const b = await connected(l.port, '127.0.0.1');
  await new Promise((r) => a.write('owned', r));
  await new Promise((r) => b.write('BORROWED', r));
  let taken: RawTransport[] = [];
  await until(() => (taken = taken.concat(l.take())).length === 2);
  const owned = recorder();
  let during = '';
  let view: Buffer | undefined;
  (taken[0] as RawTransport).start(owned);
  (taken[1] as RawTransport).start({
    borrowsInput: true,
    data: (c) => {
      during = c.toString();
      view = c;
    },
    end: () => undefined,
    drain: () => undefined,
    close: () => undefined,
  });
  assert.equal(Buffer.concat(owned.chunks).toString(), 'owned');
  assert.equal(during, 'BORROWED');
  assert.notEqual(view?.buffer, owned.chunks[0]?.buffer, 'the owner got its own memory');
  for (const t of taken) t.destroy();
  a.destroy();
  b.destroy();
  l.close();
});
