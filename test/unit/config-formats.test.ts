import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIni } from '../../src/config/formats/ini';
import { parseJson } from '../../src/config/formats/json';
import { parseXml } from '../../src/config/formats/xml';
import { parseYaml } from '../../src/config/formats/yaml';
import { splitSection } from '../../src/config/files';
import { ConfigError } from '../../src/util/errors';

const fail = (message: string, line?: number): ConfigError => new ConfigError(message, { source: 'file', file: 'f', ...(line === undefined ? {} : { line }) });
const pairs = (result: { lines: ReadonlyArray<{ key: string; value: string }> }): string[] => result.lines.map((l) => `${l.key}=${l.value}`);

test('INI: default section, merged sections, whole-line comments only, no quote stripping, bare keys', () => {
  const text = '; c\n[uwsgi]\n# c\nmaster = true # inline\n"q" = "v"\n\tbare\r\n[other]\nx = 1\n[uwsgi]\nk=a=b\n';
  const result = parseIni(text, 'uwsgi');
  assert.deepEqual(pairs(result), ['master=true # inline', '"q"="v"', 'bare=', 'k=a=b']);
  assert.deepEqual(result.lines.map((l) => l.line), [4, 5, 6, 10]);
  assert.deepEqual(pairs(parseIni(text, 'other')), ['x=1']);
  assert.equal(parseIni(text, 'missing').found, false);
});

test('file:section splitting (last colon; schemes kept)', () => {
  assert.deepEqual(splitSection('a.ini:dev'), { path: 'a.ini', section: 'dev' });
  assert.deepEqual(splitSection(':dev'), { path: '', section: 'dev' });
  assert.deepEqual(splitSection('a.ini:'), { path: 'a.ini', section: undefined });
  assert.deepEqual(splitSection('/x/a.ini'), { path: '/x/a.ini', section: undefined });
});

test('YAML: libyaml-like subset', () => {
  const text = '# c\nuwsgi:\n  a: x # c\n  b: "x # y"\n  c: x#y\n  d: [1, 2]\n  e:\n    - p\n    - q\n  f: |\n    multi\n  g:\t4\n  bare:\n  i: \'it\'\'s\'\nother:\n  x: 1\n';
  assert.deepEqual(pairs(parseYaml(text, 'uwsgi', fail)), ['a=x', 'b=x # y', 'c=x#y', 'd=1', 'd=2', 'e=p', 'e=q', 'f=multi\n', 'g=4', "i=it's"]);
  assert.deepEqual(pairs(parseYaml(text, 'other', fail)), ['x=1']);
  assert.equal(parseYaml(text, 'none', fail).found, false);
});

test('JSON: true/false/null/numbers/arrays as uWSGI converts them', () => {
  const text = '{"uwsgi": {"m": true, "f": false, "n": null, "p": 4, "r": 1.5, "s": ["a", "b"], "o": {"x": 1}}}';
  assert.deepEqual(pairs(parseJson(text, 'uwsgi', fail)), ['m=1', 'f=0', 'n=0', 'p=4', 'r=1.5', 's=a', 's=b']);
  assert.throws(() => parseJson(text, 'dev', fail), /you must define a object named dev/);
  assert.throws(() => parseJson('{', 'uwsgi', fail), /error parsing JSON/);
});

test('XML: empty elements are 1, entities decoded, ids select, app mounts', () => {
  const text = '<?xml version="1.0"?>\n<uwsgi>\n<!-- c -->\n<master/>\n<env>A=&amp;B&#65;</env>\n<x id="a">1</x>\n<x id="b">2</x>\n<app mountpoint="/m">mod</app>\n<e></e>\n</uwsgi>';
  assert.deepEqual(pairs(parseXml(text, undefined, fail)), ['master=1', 'env=A=&BA', 'x=1', 'x=2', 'mount=/m=mod', 'app=', 'e=1']);
  assert.deepEqual(pairs(parseXml(text, 'b', fail)), ['master=1', 'env=A=&BA', 'x=2', 'mount=/m=mod', 'app=', 'e=1']);
  const multi = '<all><uwsgi id="dev"><p>1</p></uwsgi><uwsgi id="prod"><p>8</p></uwsgi></all>';
  assert.deepEqual(pairs(parseXml(multi, 'prod', fail)), ['p=8']);
  assert.throws(() => parseXml('<uwsgi><a></uwsgi>', undefined, fail), /could not parse XML/);
  assert.throws(() => parseXml('<other/>', undefined, fail), /<uwsgi> expected/);
});
