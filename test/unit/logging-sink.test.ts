/**
 * --logto targets, the log file and the UDP sink. Behaviour checked against
 * uWSGI 2.0.21:
 *
 *   uwsgi ... --master --logto /tmp/u.log --log-maxsize 1500
 *     -> u.log is -rw-r----- (0640 with umask 022); after it passed 1500 bytes uWSGI wrote
 *        "Mon Nov 23 23:02:20 2026 - logsize: 2598, triggering rotation to /tmp/logeng/u.log.1795474940..."
 *        as the last line of the old file and renamed it u.log.<epoch>
 *   uwsgi ... --logto 127.0.0.1:9520 --log-date -> one datagram per line, "\n" included:
 *        b'Mon Nov 23 23:05:14 2026 - *** Starting uWSGI 2.0.21-debian (64bit) on [Mon Nov 23 23:05:14 2026] ***\n'
 *   uwsgi ... --logto :9520 / --logto localhost:  -> "invalid udp address", exit 1
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
process.env['TZ'] = 'UTC';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFile } from '../../src/logging/log-file';
import { parseLogTarget } from '../../src/logging/log-target';
import { UdpLog } from '../../src/logging/log-udp';
import { openLogTarget } from '../../src/logging/index';
import { NuwsgiError } from '../../src/util/errors';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-logging-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a value with a colon is UDP, anything else a file', () => {
  assert.deepEqual(parseLogTarget('/var/log/app.log'), { kind: 'file', path: '/var/log/app.log' });
  assert.deepEqual(parseLogTarget('127.0.0.1:514'), { kind: 'udp', host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseLogTarget('loghost:514'), { kind: 'udp', host: 'loghost', port: 514 });
  assert.deepEqual(parseLogTarget('[::1]:514'), { kind: 'udp', host: '::1', port: 514 });
  for (const bad of [':9520', 'localhost:', 'host:0', 'host:abc', 'host:70000', '']) {
    assert.throws(() => parseLogTarget(bad), (e: unknown) => e instanceof NuwsgiError && e.code === 'E_LOG_TARGET', bad);
  }
});

test('the file is created 0640 minus the umask, appended to, and truncated only when asked', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, 'old\n');
  const appended = LogFile.open(path);
  appended.write('one');
  appended.write('two\n');
  appended.close();
  assert.equal(readFileSync(path, 'utf8'), 'old\none\ntwo\n');
  const truncated = LogFile.open(path, { truncate: true });
  truncated.write('fresh\n');
  truncated.close();
  assert.equal(readFileSync(path, 'utf8'), 'fresh\n');
  const created = join(dir, 'new.log');
  const umask = process.umask();
  LogFile.open(created).close();
  assert.equal(statSync(created).mode & 0o777, 0o640 & ~umask);
  assert.throws(() => LogFile.open(join(dir, 'missing', 'x.log')), (e: unknown) => e instanceof NuwsgiError && e.code === 'E_LOG_OPEN');
});

test('latin-1 lines are written back as the original bytes', (t) => {
  const path = join(tempDir(t), 'bytes.log');
  const file = LogFile.open(path);
  file.write('GET /caf\xc3\xa9\n', 'latin1');
  file.write('caf\u00e9\n');
  file.close();
  assert.deepEqual(readFileSync(path), Buffer.from('GET /caf\xc3\xa9\ncaf\xc3\xa9\n', 'latin1'));
});

test('--log-maxsize rotation: noted in the old file, renamed to <path>.<epoch> or the backup name', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'u.log');
  const file = LogFile.open(path);
  file.write('x'.repeat(99));
  assert.equal(file.rotateIfNeeded(100), false); // 100 bytes is not above 100
  file.write('y');
  const now = 1795474940_000;
  assert.equal(file.rotateIfNeeded(100, undefined, now), true);
  file.write('after\n');
  assert.equal(
    readFileSync(`${path}.1795474940`, 'utf8'),
    `${'x'.repeat(99)}\ny\nMon Nov 23 23:02:20 2026 - logsize: 102, triggering rotation to ${path}.1795474940...\n`,
  );
  assert.equal(readFileSync(path, 'utf8'), 'after\n');
  file.rotate(join(dir, 'backup.log'), now);
  file.write('latest\n');
  file.close();
  assert.match(readFileSync(join(dir, 'backup.log'), 'utf8'), /^after\n.* - logsize: 6, triggering rotation to .*backup\.log\.\.\.\n$/);
  assert.equal(readFileSync(path, 'utf8'), 'latest\n');
  assert.deepEqual(readdirSync(dir).sort(), ['backup.log', 'u.log', 'u.log.1795474940']);
});

test('UDP: one datagram per line, newline included', async (t) => {
  const server = createSocket('udp4');
  t.after(() => server.close());
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const got = new Promise<Buffer[]>((resolve) => {
    const seen: Buffer[] = [];
    server.on('message', (msg) => {
      seen.push(msg);
      if (seen.length === 2) resolve(seen);
    });
  });
  const sink = await openLogTarget(`127.0.0.1:${server.address().port}`);
  assert.ok(sink instanceof UdpLog);
  sink.write('Mon Nov 23 23:05:14 2026 - *** Starting uWSGI ***');
  sink.write('[pid: 1|app: 0|req: 1/1] caf\xc3\xa9\n', 'latin1');
  sink.close();
  sink.write('after close is dropped');
  const [first, second] = await got;
  assert.equal(first!.toString(), 'Mon Nov 23 23:05:14 2026 - *** Starting uWSGI ***\n');
  assert.deepEqual(second, Buffer.from('[pid: 1|app: 0|req: 1/1] caf\xc3\xa9\n', 'latin1'));
});

test('UDP: nobody listening is not an error; an unknown host is E_LOG_TARGET', async () => {
  const sink = await UdpLog.open('localhost', 9); // discard port: ECONNREFUSED comes back and is ignored
  sink.write('lost');
  await new Promise((resolve) => setTimeout(resolve, 50));
  sink.close();
  await assert.rejects(UdpLog.open('no-such-host.invalid', 514), (e: unknown) => e instanceof NuwsgiError && e.code === 'E_LOG_TARGET');
});
