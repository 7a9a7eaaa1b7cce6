// Issue 16: the soft open-file limit is raised to the hard one at start (a
// login shell's 1024 would cap the clients a worker can hold; Node does it as
// it starts), and --max-fd sets both, as uWSGI's does. Workers inherit the
// master's limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendants } from '../helpers/procs';
import { nuwsgiBin, repoRoot, startServer } from '../helpers/server';

/** "Max open files  SOFT  HARD  files" from /proc/PID/limits. */
function openFileLimit(pid: number): [string, string] {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
  assert.ok(m !== null, `limits of ${pid}`);
  return [m[1] as string, m[2] as string];
}

/** nuwsgi started under `prlimit --nofile=SOFT:HARD`, which execs it (same pid). */
function startLimited(limit: string, extra: string[] = []) {
  const args = ['--http-socket', '127.0.0.1:0', '--wsgi-file', join(repoRoot(), 'examples', 'hello.py'), '--master', '--processes', '1', ...extra];
  return startServer('nuwsgi', 'prlimit', [`--nofile=${limit}`, process.execPath, nuwsgiBin(), ...args]);
}

test('the soft limit is raised to the hard one, in the master and its workers', async () => {
  const server = await startLimited('512:4096');
  try {
    assert.deepEqual(openFileLimit(server.pid), ['4096', '4096']);
    const workers = descendants(server.pid);
    assert.ok(workers.length >= 1);
    for (const pid of workers) assert.deepEqual(openFileLimit(pid), ['4096', '4096']);
    assert.match(server.logs(), /^detected max file descriptor number: 4096$/m);
  } finally {
    await server.stop('SIGTERM');
  }
});

test('--max-fd sets soft and hard; one it may not set is logged and serving goes on', async () => {
  const lowered = await startLimited('512:4096', ['--max-fd', '2000']);
  try {
    assert.deepEqual(openFileLimit(lowered.pid), ['2000', '2000']);
  } finally {
    await lowered.stop('SIGTERM');
  }
  const root = process.getuid?.() === 0;
  const raised = await startLimited('512:4096', ['--max-fd', '8192']);
  try {
    // root may raise its hard limit (CAP_SYS_RESOURCE); elsewhere setrlimit fails, as for uWSGI.
    const [soft] = openFileLimit(raised.pid);
    if (soft !== '8192') {
      assert.match(raised.logs(), /^setrlimit\(\): Operation not permitted \(--max-fd 8192\)$/m);
      assert.equal(soft, '4096', 'still raised to the hard limit');
    } else {
      assert.ok(root);
    }
  } finally {
    await raised.stop('SIGTERM');
  }
});
