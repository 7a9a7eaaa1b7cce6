/**
 * Per-file magic variables, as Debian's uWSGI 2.0.21 printed them with
 * `--show-config` for the same files (checked by hand against the oracle).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileMagic } from '../../src/config/magic';

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-magic-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('%n and %e come from the file name: no dot means %n is the whole name and %e is empty, whatever the directory is called', () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'app'), '');
    writeFileSync(join(dir, 'conf.d', 'app.ini'), '');
    const plain = fileMagic('conf.d/app', '', dir);
    assert.equal(plain.n, 'app');
    assert.equal(plain.e, '');
    assert.equal(plain.s, 'app');
    const ini = fileMagic('conf.d/app.ini', 'dev', dir);
    assert.deepEqual([ini.n, ini.e, ini.s, ini.x, ini.c], ['app', 'ini', 'app.ini', 'dev', 'conf.d']);
  });
});

test('%i of a symlinked config is the link\'s own inode (lstat), as the Debian apps-enabled layout gives it', () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'apps-available'));
    mkdirSync(join(dir, 'apps-enabled'));
    writeFileSync(join(dir, 'apps-available', 'site.ini'), '');
    symlinkSync('../apps-available/site.ini', join(dir, 'apps-enabled', 'site.ini'));
    const magic = fileMagic('apps-enabled/site.ini', '', dir);
    assert.equal(magic.i, String(lstatSync(join(dir, 'apps-enabled', 'site.ini')).ino));
    assert.equal(magic.p, join(dir, 'apps-enabled', 'site.ini')); // the link keeps its own name
  });
});

test('a config that is not a file (-, fd://, exec://) has only %o: %d %p %s %n... expand to nothing', () => {
  for (const given of ['-', 'fd://3', 'exec://cat app.ini']) {
    assert.deepEqual(fileMagic(given, '', '/srv'), { o: given }, given);
  }
  // A scheme uWSGI does not register is opened as a path, and gets a path's variables.
  assert.equal(fileMagic('nope://x.ini', '', '/srv').s, 'x.ini');
});
