import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResolvedOptions, type ResolvedEntry } from '../../src/config/options-impl';
import { ConfigError, type ConfigOrigin } from '../../src/util/errors';

const at = (line: number): ConfigOrigin => ({ source: 'file', file: 'app.ini', line });
const options = (pairs: Array<[string, string | null]>): ResolvedOptions =>
  new ResolvedOptions(pairs.map(([key, value], i): ResolvedEntry => ({ key, value, origin: at(i + 1) })));

test('booleans follow uWSGI: only false/off/no/0 are false, empty is true', () => {
  for (const value of ['true', '1', 'yes', 'on', '', 'True # inline', 'whatever']) assert.equal(options([['master', value]]).bool('master'), true, value);
  for (const value of ['false', 'FALSE', 'off', 'No', '0']) assert.equal(options([['master', value]]).bool('master'), false, value);
  assert.equal(options([['master', null]]).bool('master'), true);
});

test('defaults apply when unset, including nuwsgi defaults', () => {
  const o = options([]);
  assert.equal(o.int('processes'), 1);
  assert.equal(o.bool('need-app'), true);
  assert.equal(o.bool('die-on-term'), true);
  assert.equal(o.bool('master'), false);
  assert.equal(o.int('max-vars'), 512);
  assert.equal(o.str('callable'), 'application');
  assert.equal(o.str('module'), undefined);
  assert.deepEqual(o.list('socket'), []);
  assert.equal(o.has('processes'), false);
});

test('scalars are last-wins, lists append; aliases land on the canonical name', () => {
  const o = options([['workers', '2'], ['processes', '4'], ['socket', ':1'], ['uwsgi-socket', ':2'], ['pp', 'a'], ['pythonpath', 'b']]);
  assert.equal(o.int('processes'), 4);
  assert.equal(o.int('workers'), 4);
  assert.deepEqual(o.list('socket'), [':1', ':2']);
  assert.deepEqual(o.list('pythonpath'), ['a', 'b']);
  assert.equal(o.has('processes'), true);
});

test('bad values fail at load time naming file:line and option', () => {
  assert.throws(
    () => options([['master', 'true'], ['processes', '-1']]),
    (e: unknown) => e instanceof ConfigError && e.message === "app.ini:2: option 'processes': must not be negative, got '-1'" && e.option === 'processes' && e.origin?.line === 2,
  );
  assert.throws(() => options([['limit-post', '-1']]), /must not be negative/);
  assert.throws(() => options([['env', 'NOEQUALS']]), /expected KEY=VALUE/);
});

test('numbers are read with C atoi() as uWSGI does, with a warning when the value was not a number', () => {
  const read = (key: string, value: string): [number, string[]] => {
    const o = options([[key, value]]);
    return [o.int(key), o.warnings];
  };
  assert.deepEqual(read('cheaper', 'true'), [0, ["app.ini:1: option 'cheaper' expects a number, got 'true': read as 0, as uWSGI's atoi() does"]]);
  assert.deepEqual(read('harakiri', ' 30'), [30, []]);
  assert.deepEqual(read('harakiri', '+30'), [30, []]);
  assert.equal(read('harakiri', '30s')[0], 30);
  assert.equal(read('harakiri', '30s')[1].length, 1);
  assert.equal(read('max-requests', 'x1')[0], 0);
  // Out of nuwsgi's bounds, where uWSGI would have started: clamped, with a warning.
  assert.deepEqual(read('buffer-size', '70000'), [65535, ["app.ini:1: option 'buffer-size' 70000 is above the maximum: using 65535"]]);
  assert.deepEqual(read('processes', 'many'), [1, ["app.ini:1: option 'processes' expects a number, got 'many': read as 0, as uWSGI's atoi() does; 0 is below nuwsgi's minimum: using 1"]]);
});

test('implied options: stats implies master, threads implies enable-threads; explicit false wins', () => {
  assert.equal(options([['stats', ':9191']]).bool('master'), true);
  assert.equal(options([['stats', ':9191'], ['master', 'false']]).bool('master'), false);
  assert.equal(options([['touch-reload', '/x']]).bool('master'), true);
});

test('asking for an unknown option is a programming error', () => {
  assert.throws(() => options([]).bool('no-such-option'), /unknown option name/);
});

test('octal and flags as numbers', () => {
  assert.equal(options([['chmod-socket', '660']]).int('chmod-socket'), 0o660);
  assert.equal(options([['master', 'yes']]).int('master'), 1);
});

test('toJSON lists set and defaulted options with typed values', () => {
  const json = options([['processes', '3'], ['socket', ':1']]).toJSON();
  assert.equal(json['processes'], 3);
  assert.deepEqual(json['socket'], [':1']);
  assert.equal(json['need-app'], true);
  assert.equal('harakiri' in json, true); // default 0
  assert.equal('uid' in json, false);
});

test("optional-argument options treat 'true' as no value, as uWSGI does", () => {
  const o = options([['chmod-socket', 'true']]);
  assert.equal(o.has('chmod-socket'), true);
  assert.equal(o.str('chmod-socket'), '');
  assert.equal(options([['http-keepalive', 'TRUE']]).str('http-keepalive'), '');
});
