// Issue 10: the pure parts of the master's extras — cron matching and
// parsing, key=value lists, daemon specs, process titles, hook lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CronTable, cronMatches, cronTime, parseCron, parseCron2, type CronTime } from '../../src/master/cron';
import { until } from '../helpers/load';
import { atoi, parseKvList } from '../../src/util/kvlist';
import { attachDaemon2, smartAttachDaemon } from '../../src/master/daemon-specs';
import { masterTitle, workerTitle, type ProcnameSettings } from '../../src/util/procname';
import { parseHook, runHooks } from '../../src/util/hooks';
import { NuwsgiError } from '../../src/util/errors';

const at = (minute: number, hour: number, day: number, month: number, week: number): CronTime => ({ minute, hour, day, month, week });
const every = { minute: -1, hour: -1, day: -1, month: -1, week: -1 };

describe('cron matching (uWSGI uwsgi_cron_task_needs_execution)', () => {
  test('-1 is every, -N is every N', () => {
    assert.equal(cronMatches(every, at(7, 3, 12, 5, 2)), true);
    const every5 = { ...every, minute: -5 };
    assert.equal(cronMatches(every5, at(10, 3, 12, 5, 2)), true);
    assert.equal(cronMatches(every5, at(11, 3, 12, 5, 2)), false);
    const everyOtherHour = { ...every, minute: 0, hour: -2 };
    assert.equal(cronMatches(everyOtherHour, at(0, 4, 1, 1, 0)), true);
    assert.equal(cronMatches(everyOtherHour, at(0, 5, 1, 1, 0)), false);
  });

  test('fixed fields must match; months are 1-12, 7 is Sunday', () => {
    const nightly = { minute: 30, hour: 2, day: -1, month: -1, week: -1 };
    assert.equal(cronMatches(nightly, at(30, 2, 9, 12, 3)), true);
    assert.equal(cronMatches(nightly, at(31, 2, 9, 12, 3)), false);
    assert.equal(cronMatches({ ...every, month: 12 }, at(0, 0, 1, 12, 2)), true);
    assert.equal(cronMatches({ ...every, week: 7 }, at(0, 0, 6, 12, 0)), true);
  });

  test('day and week day both given: either matches, as in cron', () => {
    const spec = { minute: 0, hour: 0, day: 1, month: -1, week: 1 };
    assert.equal(cronMatches(spec, at(0, 0, 1, 6, 4)), true, 'the 1st');
    assert.equal(cronMatches(spec, at(0, 0, 15, 6, 1)), true, 'a Monday');
    assert.equal(cronMatches(spec, at(0, 0, 15, 6, 2)), false);
  });

  test('cronTime breaks a local time down with months 1-12', () => {
    const t = cronTime(new Date(2026, 11, 1, 21, 5).getTime());
    assert.deepEqual(t, { minute: 5, hour: 21, day: 1, month: 12, week: 2 });
  });
});

describe('cron parsing', () => {
  test('cron: five numbers then the command, whitespace kept inside it', () => {
    assert.deepEqual(parseCron('cron', '-1 -1 -1 -1 -1 echo  hi >> /tmp/x', false), {
      minute: -1, hour: -1, day: -1, month: -1, week: -1, command: 'echo  hi >> /tmp/x', unique: false, harakiri: 0,
    });
    assert.equal(parseCron('unique-cron', '0 -2 -1 -1 -1 run', true).unique, true);
    assert.throws(() => parseCron('cron', '*/5 * * * * echo', false), (e: unknown) => e instanceof NuwsgiError && /invalid cron syntax/.test(e.message));
    assert.throws(() => parseCron('cron', '1 2 3 4', false), NuwsgiError);
  });

  test('cron2: key=value head, defaults -1, unique/harakiri; no keys = every minute', () => {
    const warnings: string[] = [];
    const spec = parseCron2('minute=-5,hour=3,unique=1,harakiri=30,legion=x /usr/bin/backup --all', 0, (l) => warnings.push(l));
    assert.deepEqual(spec, { minute: -5, hour: 3, day: -1, month: -1, week: -1, command: '/usr/bin/backup --all', unique: true, harakiri: 30 });
    assert.deepEqual(warnings, ['cron2: key "legion" ignored: no legions in nuwsgi (the task runs on this instance)']);
    assert.equal(parseCron2('echo hi', 0, () => {}).command, 'echo hi');
    assert.equal(parseCron2('echo hi', 0, () => {}).minute, -1);
    assert.throws(() => parseCron2('minute=1', 0, () => {}), NuwsgiError);
  });
});

describe('key=value lists', () => {
  test('split on commas, backslash escapes, first = splits', () => {
    assert.deepEqual(parseKvList('cmd=celery -Q a\\,b,freq=5'), [['cmd', 'celery -Q a,b'], ['freq', '5']]);
    assert.deepEqual(parseKvList('cmd=env A=1 run'), [['cmd', 'env A=1 run']]);
    assert.equal(typeof parseKvList('cmd'), 'string');
  });

  test('atoi reads leading digits as C does', () => {
    assert.equal(atoi('15'), 15);
    assert.equal(atoi(' -3x'), -3);
    assert.equal(atoi('true'), 0);
  });
});

describe('daemon specs', () => {
  test('smart-attach-daemon: PIDFILE[,FREQ] CMD', () => {
    const spec = smartAttachDaemon('smart-attach-daemon', '/tmp/celery.pid,3 celery -A proj worker --pidfile=/tmp/celery.pid', false);
    assert.equal(spec.pidfile, '/tmp/celery.pid');
    assert.equal(spec.freq, 3);
    assert.equal(spec.command, 'celery -A proj worker --pidfile=/tmp/celery.pid');
    assert.equal(spec.daemonize, false);
    assert.equal(smartAttachDaemon('smart-attach-daemon2', '/p cmd', true).daemonize, true);
    assert.throws(() => smartAttachDaemon('smart-attach-daemon', 'no-command', false), NuwsgiError);
  });

  test('attach-daemon2: keys real configs use; unknown and unsupported keys warn', () => {
    const warnings: string[] = [];
    const spec = attachDaemon2('cmd=python manage.py qcluster,stopsignal=2,reloadsignal=1,touch=/a;/b,max_throttle=10,control=1,uid=33,bogus=1', (l) => warnings.push(l));
    assert.equal(spec.command, 'python manage.py qcluster');
    assert.equal(spec.stopSignal, 2);
    assert.equal(spec.reloadSignal, 1);
    assert.deepEqual(spec.touch, ['/a', '/b']);
    assert.equal(spec.maxThrottle, 10);
    assert.equal(spec.control, true);
    assert.deepEqual(warnings, ['attach-daemon2: key "uid" ignored: the daemon runs as the master (after --uid)', 'attach-daemon2: unknown key "bogus" ignored']);
    assert.throws(() => attachDaemon2('pidfile=/x', () => {}), /you need to specify a 'command' key/);
  });
});

describe('process titles', () => {
  const base: ProcnameSettings = { auto: false, prefix: '', append: '', procname: undefined, master: undefined };

  test('off: the command line stays', () => {
    assert.equal(masterTitle(base), undefined);
    assert.equal(workerTitle(base, 1), undefined);
  });

  test("uWSGI's names, prefix and suffix; procname and procname-master replace them", () => {
    const auto = { ...base, auto: true, prefix: 'shop ', append: ' [prod]' };
    assert.equal(masterTitle(auto), 'shop uWSGI master [prod]');
    assert.equal(workerTitle(auto, 3), 'shop uWSGI worker 3 [prod]');
    assert.equal(masterTitle({ ...auto, procname: 'app' }), 'shop app [prod]');
    assert.equal(workerTitle({ ...auto, procname: 'app' }, 3), 'shop app [prod]');
    assert.equal(masterTitle({ ...auto, procname: 'app', master: 'boss' }), 'shop boss [prod]');
  });
});

describe('hooks', () => {
  test('parsed at startup: syntax, unknown and unsupported actions are errors', () => {
    assert.deepEqual(parseHook('hook-pre-app', 'exec:echo a:b'), { action: 'exec', arg: 'echo a:b', private: false, raw: 'exec:echo a:b' });
    assert.equal(parseHook('hook-pre-app', '!print:secret').private, true);
    assert.throws(() => parseHook('hook-pre-app', 'exec'), /invalid hook syntax, must be hook:args/);
    assert.throws(() => parseHook('hook-pre-app', 'frobnicate:x'), /hook action not found: frobnicate/);
    assert.throws(() => parseHook('hook-as-root', 'mount:proc none /proc'), /hook action "mount" is not supported by nuwsgi/);
    assert.throws(() => parseHook('hook-master-start', 'unix_signal:15 my_c_function'), /unix_signal function "my_c_function" is not available/);
    assert.throws(() => parseHook('hook-pre-app', 'unix_signal:15 gracefully_kill_them_all'), /use it in hook-master-start/);
    assert.equal(parseHook('hook-master-start', 'unix_signal:15 gracefully_kill_them_all').action, 'unix_signal');
  });

  test('run in order with uWSGI\'s lines; the first failure stops the phase', () => {
    const lines: string[] = [];
    const bound: Array<[number, string]> = [];
    const hooks = ['print:one', 'unix_signal:1 grace_them_all', 'exec:exit 4', 'print:never'].map((h) => parseHook('hook-master-start', h));
    const ok = runHooks(hooks, 'master-start', { log: (l) => lines.push(l), bindSignal: (n, a) => bound.push([n, a]) });
    assert.equal(ok, false);
    assert.deepEqual(bound, [[1, 'grace_them_all']]);
    assert.deepEqual(lines, [
      'running "print:one" (master-start)...',
      'one',
      'running "unix_signal:1 grace_them_all" (master-start)...',
      'running "exec:exit 4" (master-start)...',
      'command "exit 4" exited with non-zero code: 4',
      'FATAL hook failed, destroying instance',
    ]);
  });
});

describe('the cron table, with a fake clock', () => {
  const noon = new Date(2026, 5, 15, 12, 0, 5).getTime();

  test('a matching task runs at most once a minute; a non-matching one never', async () => {
    const lines: string[] = [];
    const table = new CronTable([parseCron('cron', '-1 -1 -1 -1 -1 true', false), parseCron('cron', '30 3 -1 -1 -1 true', false)], (l) => lines.push(l));
    table.check(noon);
    table.check(noon + 1000);
    table.check(noon + 59_000);
    table.check(noon + 60_000);
    const runs = lines.filter((l) => l.includes('[uwsgi-cron] running "true"'));
    assert.equal(runs.length, 2, lines.join('\n'));
    assert.equal(lines.filter((l) => l.includes('registered as cron task')).length, 2);
  });

  test('unique-cron skips a run while the previous one is still going', async () => {
    const lines: string[] = [];
    const table = new CronTable([parseCron('unique-cron', '-1 -1 -1 -1 -1 sleep 2', true)], (l) => lines.push(l));
    table.check(noon);
    table.check(noon + 60_000); // a minute later by the fake clock, but the real process still sleeps
    assert.equal(lines.filter((l) => l.includes('running "sleep 2"')).length, 1);
    await until(() => lines.some((l) => l.includes('[uwsgi-cron] command "sleep 2" running with pid')), 10_000, 'the run to end');
  });
});
