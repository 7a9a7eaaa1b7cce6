// Where an on-demand vassal's socket name comes from (uWSGI's
// emperor_check_on_demand_socket), against real files and a real command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onDemandSocketName } from '../../src/emperor/on-demand';
import type { VassalFile } from '../../src/emperor/monitor';
import { makeTempDir } from '../helpers/tmp';

function vassal(dir: string, name: string): VassalFile {
  return { key: join(dir, name), name, configPath: name, cwd: dir, monitor: dir, mtimeMs: 0, ino: 0, uid: 0, gid: 0 };
}

test('no source: not on demand', () => {
  assert.equal(onDemandSocketName(undefined, vassal('/v', 'app.ini'), () => undefined), undefined);
});

test('extension: the first line of the side file; none, or an empty one, is not on demand', () => {
  const dir = makeTempDir();
  writeFileSync(join(dir, 'app.ini.socket'), '/run/app.sock\nignored\n');
  writeFileSync(join(dir, 'empty.ini.socket'), '\n');
  const source = { kind: 'extension', extension: '.socket' } as const;
  assert.equal(onDemandSocketName(source, vassal(dir, 'app.ini'), () => undefined), '/run/app.sock');
  assert.equal(onDemandSocketName(source, vassal(dir, 'empty.ini'), () => undefined), undefined);
  assert.equal(onDemandSocketName(source, vassal(dir, 'other.ini'), () => undefined), undefined);
});

test('directory: DIR/<name without its last extension>.socket', () => {
  const source = { kind: 'directory', directory: '/run/ondemand' } as const;
  assert.equal(onDemandSocketName(source, vassal('/v', 'blog.example.ini'), () => undefined), '/run/ondemand/blog.example.socket');
  assert.equal(onDemandSocketName(source, vassal('/v', 'noext'), () => undefined), undefined);
});

test('exec: the first line the command prints, given the vassal file; a failing command is logged', () => {
  const dir = makeTempDir();
  const logs: string[] = [];
  const source = { kind: 'exec', command: 'printf "/run/%s.sock\\nrest" "$(basename' } as const;
  // The command line is `CMD "<file>"`: close the $( ) after the quoted file name.
  const ok = { kind: 'exec', command: 'f() { printf "/run/%s.sock\\nrest" "$(basename "$1" .ini)"; }; f' } as const;
  assert.equal(onDemandSocketName(ok, vassal(dir, 'shop.ini'), (l) => logs.push(l)), '/run/shop.sock');
  assert.equal(onDemandSocketName(source, vassal(dir, 'shop.ini'), (l) => logs.push(l)), undefined);
  assert.equal(logs.length, 1);
  assert.match(logs[0] ?? '', /^\[emperor\] emperor-on-demand-exec: /);
});
