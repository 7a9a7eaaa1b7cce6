// The pure parts of src/master/socket-setup.ts: option values, passwd/group
// tables, IPv6 formatting, the somaxconn warning and log-line wording.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  describeInheritedSocket,
  formatIPv6,
  inheritedSystemdSockets,
  parseChmodSocket,
  parseNameTable,
  parseUmask,
  resolveOwner,
  somaxconnWarning,
  unixSocketOwnership,
} from '../../src/master/socket-setup';
import { ConfigError, NuwsgiError } from '../../src/util/errors';
import { makeTempDir } from '../helpers/tmp';

function configError(message: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof ConfigError && err.code === 'E_CONFIG' && message.test(err.message);
}

describe('parseChmodSocket (uWSGI chmod-socket)', () => {
  test('not set leaves the mode alone', () => {
    assert.equal(parseChmodSocket(undefined), undefined);
  });

  test('bare flag (and uWSGI\'s "1") is 0666', () => {
    assert.equal(parseChmodSocket(''), 0o666);
    assert.equal(parseChmodSocket('1'), 0o666);
  });

  test('exactly three octal digits', () => {
    assert.equal(parseChmodSocket('660'), 0o660);
    assert.equal(parseChmodSocket('600'), 0o600);
    assert.equal(parseChmodSocket('777'), 0o777);
    assert.equal(parseChmodSocket('000'), 0);
  });

  test('anything else fails with uWSGI\'s message', () => {
    // All of these were checked against uWSGI 2.0.21: "invalid chmod value: X", exit 1.
    for (const bad of ['66', '0660', '6a0', '999', '868', 'true', ' 660', 'rw-rw----']) {
      assert.throws(() => parseChmodSocket(bad), configError(new RegExp(`invalid chmod value: ${bad.replace(/[-[\]]/g, '\\$&')}$`)), bad);
    }
  });
});

describe('parseUmask', () => {
  test('1 to 4 octal digits', () => {
    assert.equal(parseUmask('022'), 0o022);
    assert.equal(parseUmask('0022'), 0o022);
    assert.equal(parseUmask('22'), 0o022); // uWSGI: "invalid umask: 22", then umask 0
    assert.equal(parseUmask('7'), 0o007);
    assert.equal(parseUmask('777'), 0o777);
  });

  test('non-octal values are rejected (uWSGI would set umask 0)', () => {
    for (const bad of ['', '08', 'abc', '12345', '-1', '0o22']) assert.throws(() => parseUmask(bad), configError(/invalid umask/), bad);
  });
});

describe('owner resolution (chown-socket)', () => {
  const PASSWD = [
    'root:x:0:0:root:/root:/bin/bash',
    '# a comment',
    '',
    'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
    '+nisuser::::::',
    'broken-line',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  ].join('\n');
  const GROUP = ['root:x:0:', 'www-data:x:33:', 'nogroup:x:65534:', 'adm:x:4:syslog,alice'].join('\n');

  function files(): { passwd: string; group: string } {
    const dir = makeTempDir('nuwsgi-owner-');
    writeFileSync(join(dir, 'passwd'), PASSWD);
    writeFileSync(join(dir, 'group'), GROUP);
    return { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
  }

  test('parseNameTable skips comments, NIS lines and malformed lines', () => {
    assert.deepEqual(parseNameTable(PASSWD), [
      { name: 'root', id: 0 },
      { name: 'www-data', id: 33 },
      { name: 'nobody', id: 65534 },
    ]);
    assert.deepEqual(parseNameTable(GROUP).map((e) => e.name), ['root', 'www-data', 'nogroup', 'adm']);
  });

  test('user only leaves the group unchanged (gid -1)', () => {
    assert.deepEqual(resolveOwner('www-data', files()), { uid: 33, gid: -1 });
  });

  test('user:group by name, by number, or mixed', () => {
    const f = files();
    assert.deepEqual(resolveOwner('www-data:www-data', f), { uid: 33, gid: 33 });
    assert.deepEqual(resolveOwner('nobody:nogroup', f), { uid: 65534, gid: 65534 });
    assert.deepEqual(resolveOwner('1000:1000', f), { uid: 1000, gid: 1000 });
    assert.deepEqual(resolveOwner('www-data:4', f), { uid: 33, gid: 4 });
  });

  test('unknown names fail with uWSGI\'s messages', () => {
    const f = files();
    assert.throws(() => resolveOwner('nosuchuser', f), configError(/unable to find user nosuchuser$/));
    assert.throws(() => resolveOwner('www-data:nosuchgroup', f), configError(/unable to find group nosuchgroup$/));
    assert.throws(() => resolveOwner('', f), configError(/unable to find user $/));
  });

  test('unixSocketOwnership validates both options up front and marks the bare chmod', () => {
    const f = files();
    assert.deepEqual(unixSocketOwnership('', 'www-data', f), { mode: 0o666, lazy: true, owner: 'www-data' });
    assert.deepEqual(unixSocketOwnership('660', undefined, f), { mode: 0o660, lazy: false, owner: undefined });
    assert.deepEqual(unixSocketOwnership(undefined, undefined, f), { mode: undefined, lazy: false, owner: undefined });
    assert.throws(() => unixSocketOwnership('66', undefined, f), configError(/invalid chmod value/));
    assert.throws(() => unixSocketOwnership(undefined, 'ghost', f), configError(/unable to find user ghost/));
  });
});

describe('somaxconnWarning', () => {
  test('nothing when the backlog fits, or when somaxconn is unknown', () => {
    assert.equal(somaxconnWarning(100, () => 4096), undefined);
    assert.equal(somaxconnWarning(4096, () => 4096), undefined);
    assert.equal(somaxconnWarning(100_000, () => undefined), undefined);
  });

  test('starts with uWSGI\'s sentence and says the kernel caps it', () => {
    const w = somaxconnWarning(5000, () => 4096);
    assert.ok(w !== undefined);
    assert.ok(w.startsWith('Listen queue size is greater than the system max net.core.somaxconn (4096).'), w);
    assert.match(w, /kernel caps the queue at 4096/);
  });

  test('reads the real /proc value by default', () => {
    // Whatever this machine's somaxconn is, one above it must warn.
    assert.equal(somaxconnWarning(1), undefined);
    assert.ok(somaxconnWarning(Number.MAX_SAFE_INTEGER) !== undefined);
  });
});

describe('systemd socket activation', () => {
  test('formatIPv6 compresses the longest zero run only', () => {
    assert.equal(formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), '2001:db8::1:0:0:1');
    assert.equal(formatIPv6([0xfe, 0x80, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7]), 'fe80:1:2:3:4:5:6:7');
  });

  test('LISTEN_PID must be ours, as sd_listen_fds() checks', () => {
    assert.deepEqual(inheritedSystemdSockets({}, 1234), []);
    assert.deepEqual(inheritedSystemdSockets({ LISTEN_PID: '999', LISTEN_FDS: '2' }, 1234), []);
    assert.deepEqual(inheritedSystemdSockets({ LISTEN_PID: '1234' }, 1234), []);
    assert.deepEqual(inheritedSystemdSockets({ LISTEN_PID: '1234', LISTEN_FDS: '0' }, 1234), []);
    assert.throws(
      () => inheritedSystemdSockets({ LISTEN_PID: '1234', LISTEN_FDS: 'two' }, 1234),
      (err: unknown) => err instanceof NuwsgiError && err.code === 'E_BIND' && /invalid LISTEN_FDS/.test(err.message),
    );
  });

  test('log lines match uWSGI\'s "attached to" lines', () => {
    assert.equal(describeInheritedSocket(0, { fd: 3, kind: 'tcp', address: '127.0.0.1:44345', port: 44345 }), 'nuwsgi socket 0 attached to INET address 127.0.0.1:44345 fd 3');
    assert.equal(describeInheritedSocket(1, { fd: 4, kind: 'tcp', address: '0.0.0.0:36819', port: 36819 }), 'nuwsgi socket 1 attached to INET address :36819 fd 4');
    assert.equal(describeInheritedSocket(2, { fd: 5, kind: 'tcp', address: '[::1]:50683', port: 50683 }), 'nuwsgi socket 2 attached to INET6 address [::1]:50683 fd 5');
    assert.equal(describeInheritedSocket(3, { fd: 6, kind: 'unix', address: '/tmp/sx/act.sock', port: 0 }), 'nuwsgi socket 3 attached to UNIX address /tmp/sx/act.sock fd 6');
  });
});
