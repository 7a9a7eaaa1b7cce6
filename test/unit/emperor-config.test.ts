// What a vassal reads: its file plus the emperor's vassals-include /
// vassals-inherit / vassal-set, with %n naming the include and %N the vassal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { vassalArgv } from '../../src/emperor/command';
import { emperorSettings } from '../../src/emperor/settings';
import { NuwsgiError } from '../../src/util/errors';
import { makeTempDir } from '../helpers/tmp';

function setup(): { dir: string; templates: string } {
  const dir = makeTempDir('nuwsgi-vassal-config-');
  const templates = makeTempDir('nuwsgi-vassal-templates-');
  writeFileSync(join(dir, 'blog.ini'), '[uwsgi]\nprocesses = 3\n');
  writeFileSync(join(templates, 'defaults.ini'), '[uwsgi]\nsocket = /run/%N.sock\nenv = FROM=%n\n');
  writeFileSync(join(templates, 'base.ini'), '[uwsgi]\nprocesses = 1\nharakiri = 30\n');
  return { dir, templates };
}

const NO_ARGS = { inheritBefore: [], includeBefore: [], set: [], inherit: [], include: [] };

test('vassals-include: read after the vassal file; %n is the include, %N the vassal', () => {
  const { dir, templates } = setup();
  const argv = vassalArgv('blog.ini', { ...NO_ARGS, include: [join(templates, 'defaults.ini')] });
  const { options } = loadConfig(argv, {}, dir);
  assert.deepEqual(options.list('socket'), ['/run/blog.sock']);
  assert.deepEqual(options.list('env'), ['FROM=defaults']);
});

test('vassals-inherit: a template read after everything (uWSGI: its scalars win); vassal-set comes before the file', () => {
  const { dir, templates } = setup();
  const inherit = { ...NO_ARGS, inherit: [join(templates, 'base.ini')] };
  const inherited = loadConfig(vassalArgv('blog.ini', inherit), {}, dir).options;
  assert.equal(inherited.int('processes'), 1, 'inherit templates are read last, and the last scalar wins');
  assert.equal(inherited.int('harakiri'), 30);
  const setProcesses = loadConfig(vassalArgv('blog.ini', { ...NO_ARGS, set: ['processes=7', 'harakiri=5'] }), {}, dir).options;
  assert.equal(setProcesses.int('processes'), 3, 'the vassal file, read after --set, wins');
  assert.equal(setProcesses.int('harakiri'), 5);
});

test('vassals-include-before: read first, so the vassal file overrides it', () => {
  const { dir, templates } = setup();
  const argv = vassalArgv('blog.ini', { ...NO_ARGS, includeBefore: [join(templates, 'base.ini')] });
  assert.equal(loadConfig(argv, {}, dir).options.int('processes'), 3);
});

test('emperor settings: defaults as uWSGI, max below base refused', () => {
  const defaults = emperorSettings(loadConfig(['--emperor', '/etc/vassals'], {}, '/').options);
  assert.equal(defaults.freqMs, 3000);
  assert.equal(defaults.throttleMs, 1000);
  assert.equal(defaults.maxThrottleMs, 180_000);
  assert.equal(defaults.curseToleranceMs, 30_000);
  assert.equal(defaults.requiredHeartbeatMs, 30_000);
  assert.equal(defaults.gracefulShutdown, true);
  const pidfiles = emperorSettings(loadConfig(['--emperor', '/e', '--pidfile', '/run/a.pid', '--emperor-pidfile', '/run/b.pid'], {}, '/').options).pidfiles;
  assert.deepEqual(pidfiles, ['/run/b.pid', '/run/a.pid']);
  assert.throws(
    () => emperorSettings(loadConfig(['--emperor', '/e', '--emperor-throttle', '5000', '--emperor-max-throttle', '100'], {}, '/').options),
    (e: unknown) => e instanceof NuwsgiError && e.code === 'E_EMPEROR',
  );
  // uWSGI takes 0 (atoi); nuwsgi keeps its minimum of 1 and says so.
  const zero = loadConfig(['--emperor', '/e', '--emperor-freq', '0'], {}, '/');
  assert.equal(zero.options.int('emperor-freq'), 1);
  assert.match(zero.warnings.join('\n'), /option 'emperor-freq' 0 is below nuwsgi's minimum: using 1/);
});
