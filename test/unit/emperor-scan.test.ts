// Finding vassal files (directories, globs, symlinks) and building their
// command lines and environments as uWSGI's emperor does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMonitor, isVassalName } from '../../src/emperor/monitor';
import { configFlag, vassalArgv, vassalEnv } from '../../src/emperor/command';
import { heartbeatIntervalMs } from '../../src/emperor/protocol';
import { Throttle } from '../../src/emperor/throttle';
import { NuwsgiError } from '../../src/util/errors';
import { makeTempDir } from '../helpers/tmp';

const RULES = { nofollow: false, tyrantNofollow: false, extraExtensions: [] as string[] };

function vassalsDir(): string {
  const dir = makeTempDir('nuwsgi-emperor-scan-');
  for (const name of ['a.ini', 'b.yml', 'c.yaml', 'd.json', 'e.js', 'f.xml', 'g.txt', 'h.conf', '.hidden.ini']) writeFileSync(join(dir, name), '');
  mkdirSync(join(dir, 'sub.ini'));
  writeFileSync(join(dir, 'real.cfg'), '');
  symlinkSync(join(dir, 'real.cfg'), join(dir, 'link.ini'));
  symlinkSync(join(dir, 'missing.cfg'), join(dir, 'dangling.ini'));
  return dir;
}

test('vassal names: uWSGI extensions, extra extensions, no overlong names', () => {
  for (const name of ['a.ini', 'a.yml', 'a.yaml', 'a.json', 'a.js', 'a.xml']) assert.ok(isVassalName(name, []), name);
  assert.ok(!isVassalName('a.conf', []));
  assert.ok(isVassalName('a.conf', ['.conf']));
  assert.ok(!isVassalName(`${'x'.repeat(251)}.ini`, []));
});

test('a directory monitor: regular files with vassal extensions, symlinks followed, names relative to the directory', () => {
  const dir = vassalsDir();
  const monitor = buildMonitor(dir, '/', RULES);
  assert.equal(monitor.kind, 'dir');
  assert.equal(monitor.watchDir, dir);
  const files = monitor.scan() ?? [];
  assert.deepEqual(
    files.map((f) => f.name),
    ['.hidden.ini', 'a.ini', 'b.yml', 'c.yaml', 'd.json', 'e.js', 'f.xml', 'link.ini'],
  );
  const a = files.find((f) => f.name === 'a.ini');
  assert.equal(a?.key, join(dir, 'a.ini'));
  assert.equal(a?.configPath, 'a.ini');
  assert.equal(a?.cwd, dir);
  assert.equal(a?.monitor, dir);
});

test('emperor-nofollow: symlinks count as themselves (dangling ones too), their own mtime', () => {
  const dir = vassalsDir();
  const names = (buildMonitor(`dir://${dir}`, '/', { ...RULES, nofollow: true }).scan() ?? []).map((f) => f.name);
  assert.ok(names.includes('link.ini') && names.includes('dangling.ini'));
});

test('extra extensions are found, and read as INI', () => {
  const dir = vassalsDir();
  const names = (buildMonitor(dir, '/', { ...RULES, extraExtensions: ['.conf'] }).scan() ?? []).map((f) => f.name);
  assert.ok(names.includes('h.conf'));
  assert.equal(configFlag('h.conf'), '--ini');
});

test('a glob monitor: matches as names, the emperor cwd as the vassals cwd, its static directory watched', () => {
  const dir = vassalsDir();
  const monitor = buildMonitor(`${dir}/[ab]*`, '/tmp', RULES);
  assert.equal(monitor.kind, 'glob');
  assert.equal(monitor.watchDir, dir);
  const files = monitor.scan();
  assert.deepEqual(
    files?.map((f) => [f.name, f.cwd]),
    [
      [`${dir}/a.ini`, '/tmp'],
      [`${dir}/b.yml`, '/tmp'],
    ],
  );
  assert.equal(buildMonitor(`glob://${dir}/*.json`, '/', RULES).kind, 'glob');
});

test('an unreadable directory makes the scan "unknown" (running vassals stay), not empty', { skip: process.getuid?.() === 0 && 'root reads any directory' }, () => {
  const dir = vassalsDir();
  const monitor = buildMonitor(dir, '/', RULES);
  chmodSync(dir, 0);
  try {
    assert.equal(monitor.scan(), undefined);
  } finally {
    chmodSync(dir, 0o755);
  }
});

test('bad monitors fail at start with E_EMPEROR: a missing directory, an unknown scheme', () => {
  const expectEmperorError = (fn: () => unknown, re: RegExp): void =>
    assert.throws(fn, (e: unknown) => e instanceof NuwsgiError && e.code === 'E_EMPEROR' && re.test(e.message));
  expectEmperorError(() => buildMonitor('/nonexistent-nuwsgi-vassals', '/', RULES), /no such directory/);
  expectEmperorError(() => buildMonitor('zmq://127.0.0.1:5555', '/', RULES), /unsupported monitor "zmq:\/\/"/);
  expectEmperorError(() => buildMonitor('dir:///nonexistent-nuwsgi-vassals', '/', RULES), /ENOENT/);
});

test('vassal command line in uWSGI order: inherit-before, include-before, set, the file, inherit, include', () => {
  const argv = vassalArgv('app.yaml', {
    inheritBefore: ['/t/ib.ini'],
    includeBefore: ['/t/cb.ini'],
    set: ['a=1', 'b=2'],
    inherit: ['/t/i.ini'],
    include: ['/t/c.ini'],
  });
  assert.deepEqual(argv, ['--inherit', '/t/ib.ini', '--include', '/t/cb.ini', '--set', 'a=1', '--set', 'b=2', '--yaml', 'app.yaml', '--inherit', '/t/i.ini', '--include', '/t/c.ini']);
  for (const [name, flag] of [['x.ini', '--ini'], ['x.yml', '--yaml'], ['x.js', '--json'], ['x.json', '--json'], ['x.xml', '--xml']]) {
    assert.equal(configFlag(name as string), flag);
  }
});

test('vassal environment: UWSGI_VASSAL_X becomes UWSGI_X, NOTIFY_SOCKET and emperor options dropped, the channel named', () => {
  const env = vassalEnv(
    {
      PATH: '/bin',
      UWSGI_VASSAL_PROCESSES: '4',
      NUWSGI_VASSAL_HARAKIRI: '9',
      UWSGI_SOCKET: '/s',
      UWSGI_EMPEROR: '/etc/vassals',
      NUWSGI_EMPEROR_FREQ: '1',
      UWSGI_VASSALS_INCLUDE: '/x.ini',
      NOTIFY_SOCKET: '/run/systemd/notify',
      UWSGI_RELOADS: '3',
    },
    '/etc/vassals',
  );
  assert.deepEqual(env, {
    PATH: '/bin',
    UWSGI_PROCESSES: '4',
    NUWSGI_HARAKIRI: '9',
    UWSGI_SOCKET: '/s',
    UWSGI_EMPEROR_FD: '3',
    UWSGI_VASSALS_DIR: '/etc/vassals',
  });
  // The emperor's heartbeat tolerance reaches the vassal, which beats three times per tolerance (at most every 10 s).
  assert.equal(vassalEnv({}, undefined, 5000)['NUWSGI_EMPEROR_HEARTBEAT'], '5');
  assert.equal(heartbeatIntervalMs('5'), 1666);
  assert.equal(heartbeatIntervalMs('30'), 10_000);
  assert.equal(heartbeatIntervalMs(undefined), 10_000);
  assert.equal(heartbeatIntervalMs('1'), 333);
});

test('throttle: doubling from the base up to the maximum, the second death flagged, reset by loyalty', () => {
  const t = new Throttle(1000, 180_000);
  const steps = Array.from({ length: 10 }, (_, i) => t.next(i));
  assert.deepEqual(
    steps.map((s) => s.delayMs),
    [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 180000, 180000],
  );
  assert.deepEqual(
    steps.map((s) => s.badBehaving),
    [false, true, false, false, false, false, false, false, false, false],
  );
  assert.equal(steps[9]?.maxReached, true);
  assert.equal(steps[8]?.maxReached, false);
  assert.deepEqual(t.entry(), { attempt: 10, levelMs: 180000, firstAttemptMs: 0, lastAttemptMs: 9 });
  t.reset();
  assert.equal(t.entry(), undefined);
  assert.equal(t.next(0).delayMs, 1000);
});
