/**
 * The log file under logrotate and under several writers, with real processes.
 *
 * uWSGI 2.0.21 reference (uwsgi ... --master --logto u2.log --master-fifo fifo
 * --touch-logreopen trig; `mv u2.log u2.log.old; echo l > fifo`): the old file
 * ends with "[1795474947] logsize: 1832, triggering log-reopen..." and the new
 * one starts with "[1795474947] /tmp/logeng/u2.log reopened.".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFile } from '../../src/logging/log-file';

const LOG_FILE_JS = join(__dirname, '..', '..', 'src', 'logging', 'log-file.js');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-logging-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run a script in a fresh node process with LogFile in scope; resolves with its exit code. */
function runNode(script: string, args: string[]): Promise<number> {
  const prelude = `const { LogFile } = require(${JSON.stringify(LOG_FILE_JS)}); const fs = require('node:fs');\n`;
  const child = spawn(process.execPath, ['-e', prelude + script, '--', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

test('logrotate moved the file: reopen writes to a new file at the path, the old one keeps what it had', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'app.log');
  const file = LogFile.open(path);
  t.after(() => file.close());
  file.write('before the move\n');
  renameSync(path, `${path}.1`);
  file.write('still to the moved file\n');
  file.reopen(true);
  file.write('after the reopen\n');
  const old = readFileSync(`${path}.1`, 'utf8');
  const fresh = readFileSync(path, 'utf8');
  assert.match(old, /^before the move\nstill to the moved file\n\[\d+\] logsize: 40, triggering log-reopen\.\.\.\n$/);
  assert.match(fresh, new RegExp(`^\\[\\d+\\] ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} reopened\\.\\nafter the reopen\\n$`));
});

test('reopenIfMoved: nothing while the path is ours; reopens after a rename or an unlink', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'w.log');
  const file = LogFile.open(path);
  t.after(() => file.close());
  assert.equal(file.reopenIfMoved(), false);
  renameSync(path, `${path}.1`);
  assert.equal(file.reopenIfMoved(), true);
  file.write('one\n');
  unlinkSync(path);
  assert.equal(file.reopenIfMoved(), true);
  file.write('two\n');
  assert.equal(readFileSync(path, 'utf8'), 'two\n');
  assert.equal(readFileSync(`${path}.1`, 'utf8'), '');
});

test('four processes appending at once: every line arrives whole', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'shared.log');
  const writer = `
    const [path, id] = process.argv.slice(1);
    const file = LogFile.open(path);
    for (let i = 0; i < 1500; i++) file.write('P' + id + ' ' + i + ' ' + 'x'.repeat((i * 37) % 3000) + ' END\\n');
    file.close();`;
  const codes = await Promise.all([1, 2, 3, 4].map((id) => runNode(writer, [path, String(id)])));
  assert.deepEqual(codes, [0, 0, 0, 0]);
  const lines = readFileSync(path, 'latin1').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 6000);
  const next = new Map<string, number>();
  for (const line of lines) {
    const m = /^P(\d) (\d+) (x*) END$/.exec(line);
    assert.ok(m !== null, `torn line: ${line.slice(0, 80)}`);
    const [, id, seq, xs] = m;
    assert.equal(xs!.length, (Number(seq) * 37) % 3000);
    // Lines of one process stay in order.
    assert.equal(Number(seq), next.get(id!) ?? 0);
    next.set(id!, Number(seq) + 1);
  }
});

test('with stdioFds [1, 2], raw writes to fd 2 (what CPython does) follow the file across a reopen', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'stdio.log');
  const script = `
    const [path] = process.argv.slice(1);
    const file = LogFile.open(path, { stdioFds: [1, 2] });
    fs.writeSync(2, 'traceback before\\n');
    fs.writeSync(1, 'print before\\n');
    fs.renameSync(path, path + '.1');
    file.reopen();
    fs.writeSync(2, 'traceback after\\n');
    file.write('line after');
    file.close();
    fs.writeSync(2, 'fd 2 outlives close()\\n');`;
  assert.equal(await runNode(script, [path]), 0);
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'traceback before\nprint before\n');
  assert.equal(readFileSync(path, 'utf8'), 'traceback after\nline after\nfd 2 outlives close()\n');
});
