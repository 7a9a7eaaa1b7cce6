// src/master/socket-setup.ts against real UNIX sockets, files and processes:
// stale/live detection, chmod/chown (as root), vacuum, umask, and systemd
// socket activation with real inherited descriptors in a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { AddressInfo, Server, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  applyUmask,
  applyUnixSocketOwnership,
  checkStaleUnixSocket,
  prepareUnixSocketPath,
  resolveOwner,
  socketIdentity,
  unixSocketOwnership,
  vacuum,
  type InheritedSocket,
} from '../../src/master/socket-setup';
import { NuwsgiError } from '../../src/util/errors';
import { repoRoot, runNuwsgi, runUwsgi } from '../helpers/server';
import { uwsgiSkipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

function listenUnix(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((sock) => sock.destroy());
    srv.once('error', reject);
    srv.listen(path, () => resolve(srv));
  });
}

function close(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/**
 * A socket file nobody listens on, as a crashed server leaves it: bind a
 * socket in a child process that is then SIGKILLed (Node's own close() would
 * unlink the file).
 */
async function staleSocket(path: string): Promise<void> {
  const script = `const s=require('net').createServer().listen(${JSON.stringify(path)},()=>process.stdout.write('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`socket child exited early (${code})`)));
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
  assert.ok(lstatSync(path).isSocket(), 'the killed child left its socket file');
}

function isBindError(message: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof NuwsgiError && err.code === 'E_BIND' && message.test(err.message);
}

const logs: string[] = [];
const log = (line: string): void => {
  logs.push(line);
};

describe('checkStaleUnixSocket / prepareUnixSocketPath', () => {
  test('no file: absent', async () => {
    assert.equal(await checkStaleUnixSocket(join(makeTempDir(), 'none.sock')), 'absent');
  });

  test('a listener accepting on it: live, and prepare refuses to start', async () => {
    const path = join(makeTempDir(), 'live.sock');
    const srv = await listenUnix(path);
    try {
      assert.equal(await checkStaleUnixSocket(path), 'live');
      await assert.rejects(prepareUnixSocketPath(path, log), isBindError(/another instance is accepting on .*live\.sock/));
      assert.ok(existsSync(path), 'a live socket must never be removed');
    } finally {
      await close(srv);
    }
  });

  test('a socket file whose listener died: stale, and prepare removes it', async () => {
    const path = join(makeTempDir(), 'stale.sock');
    await staleSocket(path);
    assert.equal(await checkStaleUnixSocket(path), 'stale');
    logs.length = 0;
    await prepareUnixSocketPath(path, log);
    assert.equal(existsSync(path), false);
    assert.deepEqual(logs, [`removed stale unix socket ${path} (nobody was accepting on it)`]);
    // Now it can be bound again.
    await close(await listenUnix(path));
  });

  test('a regular file (or directory) at the path is refused, never removed', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'oops.txt');
    writeFileSync(file, 'keep me');
    await assert.rejects(checkStaleUnixSocket(file), isBindError(/exists and is not a socket/));
    await assert.rejects(prepareUnixSocketPath(file, log), isBindError(/exists and is not a socket/));
    assert.ok(existsSync(file));
    const sub = join(dir, 'subdir');
    mkdirSync(sub);
    await assert.rejects(checkStaleUnixSocket(sub), isBindError(/exists and is not a socket/));
  });

  test('abstract sockets: live or absent, no file involved', async () => {
    const name = `@nuwsgi-test-${process.pid}-${Date.now()}`;
    assert.equal(await checkStaleUnixSocket(name), 'absent');
    const srv = await listenUnix('\0' + name.slice(1));
    try {
      assert.equal(await checkStaleUnixSocket(name), 'live');
    } finally {
      await close(srv);
    }
  });
});

describe('applyUnixSocketOwnership', () => {
  test('chmod-socket=660 and the bare flag (with uWSGI\'s log line)', async () => {
    const path = join(makeTempDir(), 'mode.sock');
    const srv = await listenUnix(path);
    try {
      logs.length = 0;
      applyUnixSocketOwnership(path, unixSocketOwnership('660', undefined), log);
      assert.equal(statSync(path).mode & 0o777, 0o660);
      assert.deepEqual(logs, []);
      applyUnixSocketOwnership(path, unixSocketOwnership('', undefined), log);
      assert.equal(statSync(path).mode & 0o777, 0o666);
      assert.deepEqual(logs, ['chmod() socket to 666 for lazy and brave users']);
      // Nothing set: nothing changes.
      applyUnixSocketOwnership(path, {}, log);
      assert.equal(statSync(path).mode & 0o777, 0o666);
    } finally {
      await close(srv);
    }
  });

  test('abstract sockets are skipped (no file to chmod)', () => {
    assert.doesNotThrow(() => applyUnixSocketOwnership('@whatever', { mode: 0o600, owner: 'root' }, log));
  });

  const isRoot = process.getuid?.() === 0;
  const owners = ['www-data', 'nobody'].filter((u) => {
    try {
      resolveOwner(u);
      return true;
    } catch {
      return false;
    }
  });
  const skip = !isRoot ? 'needs root to chown' : owners.length === 0 ? 'no www-data or nobody user on this machine' : false;

  test('chown-socket to user, user:group and numeric ids (as root)', { skip }, async () => {
    const path = join(makeTempDir(), 'owner.sock');
    const srv = await listenUnix(path);
    try {
      for (const user of owners) {
        const { uid } = resolveOwner(user);
        const groupBefore = statSync(path).gid;
        applyUnixSocketOwnership(path, { owner: user }, log);
        assert.equal(statSync(path).uid, uid, `${user}: uid`);
        assert.equal(statSync(path).gid, groupBefore, `${user}: a bare user leaves the group alone`);
      }
      applyUnixSocketOwnership(path, { mode: 0o660, owner: '33:65534' }, log);
      const st = statSync(path);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [33, 65534, 0o660]);
      const [first] = owners;
      if (first === 'www-data' && existsSync('/etc/group')) {
        applyUnixSocketOwnership(path, { owner: 'www-data:www-data' }, log);
        assert.equal(statSync(path).gid, resolveOwner('www-data:www-data').gid);
      }
    } finally {
      await close(srv);
    }
  });

  test('unknown user: config error, socket untouched', async () => {
    const path = join(makeTempDir(), 'ghost.sock');
    const srv = await listenUnix(path);
    try {
      const before = statSync(path);
      assert.throws(() => applyUnixSocketOwnership(path, { owner: 'no-such-user-xyz' }, log), /unable to find user no-such-user-xyz/);
      assert.equal(statSync(path).uid, before.uid);
    } finally {
      await close(srv);
    }
  });
});

describe('vacuum', () => {
  test('removes our socket and pidfile with uWSGI\'s lines; missing ones are fine', async () => {
    const dir = makeTempDir();
    const sock = join(dir, 'v.sock');
    const pid = join(dir, 'pid');
    await staleSocket(sock);
    writeFileSync(pid, '123\n');
    logs.length = 0;
    vacuum([{ kind: 'pidfile', path: pid }, { kind: 'unix-socket', path: sock, identity: socketIdentity(sock) }, { kind: 'pidfile', path: join(dir, 'never') }], log);
    assert.equal(existsSync(sock), false);
    assert.equal(existsSync(pid), false);
    assert.deepEqual(logs, ['VACUUM: pidfile removed.', `VACUUM: unix socket ${sock} removed.`]);
  });

  test('a socket path taken over by another instance (new inode) is left alone', async () => {
    const dir = makeTempDir();
    const sock = join(dir, 'v.sock');
    await staleSocket(sock);
    const ours = socketIdentity(sock);
    // Another instance removed it and bound its own. (Filesystems reuse the
    // freed inode number at once, so this is also the inode-reuse case.)
    vacuum([sock]);
    const theirs = await listenUnix(sock);
    try {
      logs.length = 0;
      vacuum([{ kind: 'unix-socket', path: sock, identity: ours }], log);
      assert.ok(existsSync(sock));
      assert.deepEqual(logs, [`VACUUM WARNING: unix socket ${sock} changed inode. Skip removal`]);
    } finally {
      await close(theirs);
    }
  });

  test('bare paths: sockets and files removed, ENOENT ignored', async () => {
    const dir = makeTempDir();
    const sock = join(dir, 's.sock');
    const file = join(dir, 'app.pid');
    await staleSocket(sock);
    writeFileSync(file, '1');
    vacuum([sock, file, join(dir, 'gone.sock')]);
    assert.equal(existsSync(sock), false);
    assert.equal(existsSync(file), false);
  });
});

describe('applyUmask', () => {
  test('sockets are created with the mask', async () => {
    const before = process.umask();
    try {
      assert.equal(applyUmask('077'), 0o077);
      const path = join(makeTempDir(), 'masked.sock');
      const srv = await listenUnix(path);
      try {
        assert.equal(statSync(path).mode & 0o077, 0, `group/other bits must be cleared: ${(statSync(path).mode & 0o777).toString(8)}`);
      } finally {
        await close(srv);
      }
      assert.throws(() => applyUmask('8'), /invalid umask: 8/);
      assert.equal(process.umask(), 0o077, 'a rejected value changes nothing');
    } finally {
      process.umask(before);
    }
  });
});

describe('inheritedSystemdSockets (real inherited fds)', () => {
  /** The descriptor of a listening net.Server (libuv's handle), to pass to a child as fd 3, 4, ... */
  function fdOf(srv: Server): number {
    const handle = (srv as unknown as { _handle: { fd?: number } | null })._handle;
    assert.ok(handle !== null && typeof handle.fd === 'number' && handle.fd >= 0, 'server has no fd');
    return handle.fd;
  }

  function listenTcp(host: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const srv = createServer((sock) => sock.destroy());
      srv.once('error', reject);
      srv.listen(0, host, () => resolve(srv));
    });
  }

  /**
   * Runs a child with `fds` at 3, 4, ...; the child plays systemd's part of
   * setting LISTEN_PID to its own pid (systemd sets it after fork) and prints
   * what inheritedSystemdSockets finds.
   */
  async function inChild(fds: number[]): Promise<InheritedSocket[] | string> {
    const modulePath = join(repoRoot(), 'dist', 'src', 'master', 'socket-setup.js');
    const script = [
      `const m = require(${JSON.stringify(modulePath)});`,
      `const env = { ...process.env, LISTEN_PID: String(process.pid), LISTEN_FDS: '${fds.length}' };`,
      `try { process.stdout.write(JSON.stringify(m.inheritedSystemdSockets(env, process.pid))); }`,
      `catch (e) { process.stdout.write(JSON.stringify(String(e.message))); }`,
    ].join('\n');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit', ...fds] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    return JSON.parse(out) as InheritedSocket[] | string;
  }

  test('TCP (v4, v6) and UNIX listeners are found with their addresses', async () => {
    const dir = makeTempDir();
    const v4 = await listenTcp('127.0.0.1');
    const v6 = await listenTcp('::1').catch(() => undefined); // no IPv6 loopback on some CI
    const unixPath = join(dir, 'activated.sock');
    const ux = await listenUnix(unixPath);
    try {
      const servers = [v4, ux, ...(v6 !== undefined ? [v6] : [])];
      const found = await inChild(servers.map(fdOf));
      assert.ok(typeof found !== 'string', `child failed: ${String(found)}`);
      const expected: InheritedSocket[] = [
        { fd: 3, kind: 'tcp', address: `127.0.0.1:${(v4.address() as AddressInfo).port}`, port: (v4.address() as AddressInfo).port },
        { fd: 4, kind: 'unix', address: unixPath, port: 0 },
      ];
      if (v6 !== undefined) expected.push({ fd: 5, kind: 'tcp', address: `[::1]:${(v6.address() as AddressInfo).port}`, port: (v6.address() as AddressInfo).port });
      assert.deepEqual(found, expected);
    } finally {
      await Promise.all([v4, ux, ...(v6 !== undefined ? [v6] : [])].map(close));
    }
  });

  test('an abstract UNIX listener keeps its @name; a datagram socket and a connected one are refused (asked of the socket, not /proc/net)', async () => {
    const name = `nuwsgi-test-${process.pid}-${Date.now()}`;
    const abstract = await listenUnix(`\0${name}`);
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const udpFd = (udp as unknown as { _handle: { fd: number } })._handle.fd;
    const peer = connect(`\0${name}`);
    await new Promise<void>((resolve) => peer.once('connect', () => resolve()));
    const peerFd = (peer as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      const [found] = (await inChild([fdOf(abstract)])) as InheritedSocket[];
      // Node binds the whole sun_path (NUL-padded), which /proc/net/unix shows as '@'s, as this does.
      assert.match(found?.address ?? '', new RegExp(`^@${name}@*$`));
      assert.deepEqual({ ...found, address: '' }, { fd: 3, kind: 'unix', address: '', port: 0 });
      assert.match(String(await inChild([udpFd])), /LISTEN_FDS: fd 3 is not a TCP or UNIX stream socket/);
      assert.match(String(await inChild([peerFd])), /LISTEN_FDS: fd 3 \(.*\) is not a listening socket/);
    } finally {
      peer.destroy();
      udp.close();
      await close(abstract);
    }
  });

  test('an fd that is not a socket is refused', async () => {
    const found = await inChild([0]); // our stdin (/dev/null or a pipe), certainly not a listening socket
    assert.equal(typeof found, 'string');
    assert.match(found as string, /LISTEN_FDS: fd 3 (\(.*\) )?is not (a socket|a TCP or UNIX stream socket|a listening socket)/);
  });
});

describe('bind errors name the real errno, in the C library words uWSGI prints', () => {
  const hello = (): string => join(repoRoot(), 'examples', 'hello.py');
  const cases: Array<{ label: string; args: (dir: string) => string[]; says: string }> = [
    { label: 'a missing directory', args: (dir) => ['--socket', join(dir, 'missing', 'x.sock')], says: 'No such file or directory' },
    { label: 'a file as directory', args: (dir) => ['--socket', join(dir, 'file', 'x.sock')], says: 'Not a directory' },
    { label: 'an address not on this host', args: () => ['--http-socket', '192.0.2.1:0'], says: 'Cannot assign requested address' },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const dir = makeTempDir();
      writeFileSync(join(dir, 'file'), '');
      const run = await runNuwsgi([...c.args(dir), '--wsgi-file', hello()]);
      assert.notEqual(run.code, 0);
      assert.ok(run.logs.includes(`: ${c.says}`), run.logs);
      assert.doesNotMatch(run.logs, /internal error|    at /);
      const skip = uwsgiSkipReason();
      if (skip !== undefined) return;
      const oracle = await runUwsgi([...c.args(dir), '--wsgi-file', hello()]);
      assert.ok(oracle.logs.includes(`bind(): ${c.says}`), `uWSGI says the same: ${oracle.logs}`);
    });
  }
});
