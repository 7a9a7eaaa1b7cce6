// YAML as Debian's uWSGI reads it: libyaml's scanner tokens and core/yaml.c's
// state machine. Every expected value below was checked against
// `uwsgi --plugin python3 --show-config --yaml FILE[:section]` (uWSGI
// 2.0.21-debian, libyaml 0.2.5); the uWSGI result is noted where nuwsgi
// deliberately refuses instead (docs/differences.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml } from '../../src/config/formats/yaml';
import { ConfigError } from '../../src/util/errors';

const fail = (message: string, line?: number): ConfigError => new ConfigError(message, { source: 'file', file: 't.yml', ...(line === undefined ? {} : { line }) });
const read = (text: string, section = 'uwsgi'): string[] => parseYaml(text, section, fail).lines.map((l) => `${l.key}=${l.value}`);
const lines = (text: string, section = 'uwsgi'): number[] => parseYaml(text, section, fail).lines.map((l) => l.line);

function errorOf(text: string, section = 'uwsgi'): ConfigError {
  try {
    parseYaml(text, section, fail);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('no error');
}

test('YAML: tab indentation is a syntax error, as libyaml reports it (found character that cannot start any token)', () => {
  const err = errorOf('uwsgi:\n\thttp-socket: x\n');
  assert.match(err.message, /^t\.yml:2: YAML syntax error: found character that cannot start any token: a tab/);
  assert.equal(err.origin?.line, 2);
  // A tab after `key:` is a separator, not indentation: uWSGI reads it.
  assert.deepEqual(read('uwsgi:\n  g:\t4\n  h:  spaced   \n'), ['g=4', 'h=spaced']);
});

test('YAML: a tag with no suffix is a syntax error (did not find expected tag URI)', () => {
  const err = errorOf('uwsgi:\n  uid: !USER!\n');
  assert.match(err.message, /^t\.yml:2: YAML syntax error: did not find expected tag URI .*quote it/);
});

test('YAML: a tag or an anchor on a scalar, where uWSGI silently stops reading, is refused at its line', () => {
  // uWSGI: `socket = s`, then "unsupported YAML token 21 in uwsgi block": uid and gid are lost.
  assert.match(errorOf('uwsgi:\n  socket: s\n  uid: !foo bar\n  gid: g\n').message, /^t\.yml:3: YAML tag '!foo' on a scalar: uWSGI .* would silently stop reading/);
  assert.match(errorOf('uwsgi:\n  socket: s\n  uid: &a val\n  gid: g\n').message, /^t\.yml:3: YAML anchor '&a' on a scalar/);
  // Before the section too: uWSGI stops there and never reaches it.
  assert.match(errorOf('x: &a v\nuwsgi:\n  gid: g\n').message, /^t\.yml:1: YAML anchor/);
  // An alias: uWSGI drops that value (`socket = s`, `gid = g`).
  assert.match(errorOf('uwsgi:\n  socket: s\n  uid: *a\n  gid: g\n').message, /^t\.yml:3: YAML alias '\*a': uWSGI ignores aliases/);
  // A tag or an anchor on a mapping is harmless: uWSGI reads the keys (`A = 1`).
  assert.deepEqual(read('base: &b\n  x: 1\nuwsgi:\n  env: !!map\n    A: 1\n'), ['A=1']);
});

test('YAML: a dedent that matches no open level, where uWSGI silently stops reading, is refused at its line', () => {
  // uWSGI: `socket = x` only.
  const err = errorOf('uwsgi:\n    socket: x\n  master: true\n');
  assert.match(err.message, /^t\.yml:3: YAML indentation: .*uWSGI would silently stop reading/);
  assert.match(errorOf('uwsgi:\n  a: 1\n b: 2\n').message, /^t\.yml:3: YAML indentation/);
  // A dedent back to the enclosing level ends the section: what follows is not read, not even checked.
  assert.deepEqual(read('uwsgi:\n  a: 1\nother:\n\tbad: x\n'), ['a=1']);
  // Inside the section, an odd dedent does not end it: uWSGI reads on (`A = 1`, `B = 2`, `c = 3`).
  assert.deepEqual(read('uwsgi:\n  env:\n      A: 1\n    B: 2\n  c: 3\n'), ['A=1', 'B=2', 'c=3']);
});

test('YAML: the keys of a nested block mapping become options (uWSGI counts only the depth)', () => {
  assert.deepEqual(read('uwsgi:\n  env:\n    A: 1\n    B:\n      C: 2\n  master: true\n'), ['A=1', 'C=2', 'master=true']);
});

test('YAML: a flow mapping value gives its own keys', () => {
  assert.deepEqual(read('uwsgi:\n  uid: {x: y, z: [1, 2]}\n  gid: g\n'), ['x=y', 'z=1', 'z=2', 'gid=g']);
  assert.deepEqual(read('uwsgi: {socket: a, master: b}\n'), []);
});

test('YAML: the section is the first block mapping under its key, at any depth', () => {
  assert.deepEqual(read('app:\n  uwsgi:\n    socket: x\n  other: y\nuwsgi:\n  socket: z\n'), ['socket=x']);
});

test('YAML: block sequences (indented or not) repeat their key', () => {
  const text = 'uwsgi:\n  socket:\n    - a\n    - "b"\n  import:\n  - m1\n  - m2\n  master: true\n';
  assert.deepEqual(read(text), ['socket=a', 'socket=b', 'import=m1', 'import=m2', 'master=true']);
  assert.deepEqual(lines(text), [3, 4, 6, 7, 8]);
  // A sequence of mappings as the section: uWSGI reads the first (`socket = a`) and stops.
  assert.match(errorOf('uwsgi:\n  - socket: a\n  - master: b\n').message, /^t\.yml:3: YAML sequence of mappings under the section/);
});

test('YAML: flow sequences, nested and over lines; a stray `]` is refused', () => {
  const text = 'uwsgi:\n  d: [1, \'2\', "3"]\n  e: [a, [b, c], {d: e}, f]\n  f: []\n  g: [x,\n     y]\n  h: after\n';
  // `f` after the nested mapping has no key left: uWSGI drops it too.
  assert.deepEqual(read(text), ['d=1', 'd=2', 'd=3', 'e=a', 'e=b', 'e=c', 'd=e', 'g=x', 'g=y', 'h=after']);
  assert.deepEqual(lines(text), [2, 2, 2, 3, 3, 3, 3, 5, 6, 7]);
  // An open `[` runs to the end of the file: a multi-line plain scalar, then a value (`a = x b`, `a = c`).
  assert.deepEqual(read('uwsgi:\n  a: [x\n  b: c\n'), ['a=x b', 'a=c']);
  // uWSGI counts the `]` as a block end and reads nothing.
  assert.match(errorOf('uwsgi:\n  a: ]\n  b: c\n').message, /^t\.yml:2: YAML '\]' with no '\['/);
});

test('YAML: quoted scalars: escapes, folding, an escaped NUL ends the value (a C string)', () => {
  const text = 'uwsgi:\n  d: "tab\\t \\"q\\" \\\\ \\x41 \\u00e9 \\U0001F600 \\/ \\N \\_"\n  s: \'it\'\'s \\n\'\n  m: "one\n    two\n\n    three"\n  e: "a\\\n    b"\n  z: "p\\0q"\n';
  assert.deepEqual(read(text), ['d=tab\t "q" \\ A é \u{1F600} / \u0085 \u00a0', "s=it's \\n", 'm=one two\nthree', 'e=ab', 'z=p']);
  assert.deepEqual(lines(text), [2, 3, 4, 8, 10]);
  assert.match(errorOf('uwsgi:\n  u: "\\q"\n').message, /^t\.yml:2: YAML syntax error: found unknown escape character/);
  // The error is where libyaml stops (the end of the file), naming where the scalar began.
  assert.match(errorOf('uwsgi:\n  a: "open\n  b: c\n').message, /^t\.yml:4: YAML syntax error: found unexpected end of stream \(while scanning a quoted scalar on line 2\)/);
});

test('YAML: plain scalars run over deeper lines, folded', () => {
  assert.deepEqual(read('uwsgi:\n  p: plain\n    continued\n\n    para\n  q: a:b c#d\n'), ['p=plain continued\npara', 'q=a:b c#d']);
});

test('YAML: block scalars, literal and folded, with chomping and indentation indicators', () => {
  const text = 'uwsgi:\n  lit: |\n    one\n      two\n\n    three\n\n  fold: >\n    a\n    b\n\n    c\n      d\n    e\n  strip: |-\n    x\n\n  keep: |+\n    y\n\n  ind: |2\n     z\n  after: ok\n';
  assert.deepEqual(read(text), ['lit=one\n  two\n\nthree\n', 'fold=a b\nc\n  d\ne\n', 'strip=x', 'keep=y\n\n', 'ind= z\n', 'after=ok']);
  assert.deepEqual(lines(text), [2, 8, 15, 18, 21, 23]);
});

test('YAML: comments: after a blank only, on their own line at any indentation', () => {
  const text = '# top\nuwsgi: # after key\n  # inside\n  a: x # c\n  b: "x # y"\n  c: x#y\n      # deeper comment\n# column 0 comment\n  d: 1\n';
  assert.deepEqual(read(text), ['a=x', 'b=x # y', 'c=x#y', 'd=1']);
});

test('YAML: a key with no value gives no option; empty quotes and ~ are values', () => {
  assert.deepEqual(read('uwsgi:\n  bare:\n  a: 1\n  e: ""\n  n: ~\n'), ['a=1', 'e=', 'n=~']);
});

test('YAML: file.yml:section picks the mapping under that key; a missing one is not found', () => {
  const text = 'uwsgi:\n  a: 1\ndev:\n  a: 2\n  b: 3\n';
  assert.deepEqual(read(text, 'dev'), ['a=2', 'b=3']);
  assert.deepEqual(lines(text, 'dev'), [4, 5]);
  assert.deepEqual(parseYaml(text, 'prod', fail), { lines: [], found: false });
  // The first document's section only: uWSGI stops at its end.
  assert.deepEqual(read('---\nuwsgi:\n  a: 1\n...\n---\nuwsgi:\n  b: 2\n'), ['a=1']);
});

test('YAML: CRLF line endings read as LF', () => {
  const text = 'uwsgi:\r\n  a: x # c\r\n  b:\r\n    - p\r\n    - q\r\n  f: |\r\n    l1\r\n    l2\r\n  g: "m\r\n    n"\r\n';
  assert.deepEqual(read(text), ['a=x', 'b=p', 'b=q', 'f=l1\nl2\n', 'g=m n']);
  assert.deepEqual(lines(text), [2, 4, 5, 6, 9]);
});

test('YAML: control characters are refused, as by libyaml\'s reader', () => {
  assert.match(errorOf('uwsgi:\n  a: \u0001\n').message, /^t\.yml:2: YAML syntax error: control characters are not allowed/);
});
