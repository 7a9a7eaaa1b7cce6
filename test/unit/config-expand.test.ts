import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandValue } from '../../src/config/expand';
import { expandCustomOptions } from '../../src/config/custom';
import { djb33x, substituteMagic } from '../../src/config/magic';
import { resolvePlaceholder, strtoll } from '../../src/config/placeholder';
import { globSync } from '../../src/config/glob';
import { editDistance, suggestName } from '../../src/config/suggest';
import { isTrue } from '../../src/config/values';
import type { RawEntry } from '../../src/config/entry';
import { join } from 'node:path';

const values: Record<string, string> = { a: '1', b: '7', s: 'foo', y: '%(z)', z: '1' };
const lookup = (key: string): string | undefined => values[key];

test('placeholder math: left to right, concatenation, ++/--, division by zero', () => {
  assert.equal(resolvePlaceholder('a + b * 2', lookup), '16');
  assert.equal(resolvePlaceholder('a b', lookup), '17');
  assert.equal(resolvePlaceholder('a 5', lookup), '15');
  assert.equal(resolvePlaceholder('s s', lookup), 'foofoo');
  assert.equal(resolvePlaceholder('s + 1', lookup), '1');
  assert.equal(resolvePlaceholder('b / 0', lookup), '0');
  assert.equal(resolvePlaceholder('b - 10', lookup), '-3');
  assert.equal(resolvePlaceholder('b / 2', lookup), '3');
  assert.equal(resolvePlaceholder('b --', lookup), '6');
  assert.equal(resolvePlaceholder('a ++', lookup), '2');
  assert.equal(resolvePlaceholder('nope + 1', lookup), '1');
  assert.equal(resolvePlaceholder('a -1', lookup), '1'); // -1 is not a number token: an unknown name
  assert.equal(resolvePlaceholder('nope', lookup), undefined);
  assert.equal(resolvePlaceholder('  ', lookup), undefined);
  assert.equal(strtoll('12abc'), 12n);
  assert.equal(strtoll('99999999999999999999'), 2n ** 63n - 1n);
});

test("the scanner's quirks: innermost first, rescan from index 1", () => {
  const hook = (key: string): string | undefined => resolvePlaceholder(key, lookup);
  assert.equal(expandValue('%(y)', '%', hook), '%(z)');
  assert.equal(expandValue('A%(y)', '%', hook), 'A1');
  assert.equal(expandValue('%(z %(z))', '%', hook), '%(z 1)');
  assert.equal(expandValue('%()', '%', hook), '%()');
  assert.equal(expandValue('$(HOME)$(NOPE)', '$', (k) => ({ HOME: '/root' })[k]), '/root$(NOPE)');
  assert.throws(() => expandValue('x%(a)', '%', () => 'x%(a)'), /does not terminate/);
});

test('magic variables: %% and %( survive, unknown letters vanish', () => {
  assert.equal(substituteMagic('%n-%%-%(x)-%z-%', { n: 'app' }), 'app-%-%(x)--%');
});

test("djb33x prints the hash's bytes in memory order, like uWSGI", () => {
  assert.equal(djb33x('/tmp/uw/t/main.ini'), '91151E1E'); // observed with uwsgi 2.0.21
});

test('custom options expand $1..$n; a template without = only declares the name', () => {
  const entry = (key: string, value: string): RawEntry => ({ key, value, origin: { source: 'argv' }, immediate: false, template: false });
  const templates = new Map([['app', 'socket=/run/$1.sock;env=N=$2'], ['deb-confname', '$1']]);
  const derived = expandCustomOptions([entry('app', 'one two'), entry('deb-confname', 'x')], templates);
  assert.deepEqual(derived.map((d) => `${d.key}=${d.value}`), ['socket=/run/one.sock', 'env=N=two']);
});

test('glob for for-glob: sorted, directories marked, no match gives the pattern', () => {
  const dir = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config', 'logic');
  assert.deepEqual(globSync('glob/*.txt', dir), ['glob/a.txt', 'glob/b.txt']);
  assert.deepEqual(globSync('gl?b', dir), ['glob/']);
  assert.deepEqual(globSync('none/*.x', dir), ['none/*.x']);
});

test('did-you-mean suggestions and truthiness', () => {
  assert.equal(editDistance('procesess', 'processes'), 2);
  assert.equal(suggestName('procesess', ['processes', 'threads']), 'processes');
  assert.equal(suggestName('zzz', ['processes']), undefined);
  assert.equal(isTrue(''), true);
  assert.equal(isTrue(' OFF '), false);
});
