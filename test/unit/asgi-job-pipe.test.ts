import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readSync } from 'node:fs';
import { JobWriter, makeJobPipe } from '../../src/worker/asgi/job-pipe';
import { until } from '../helpers/load';

/** What the pipe holds now (a non-blocking read until EAGAIN), as the loop thread reads it. */
function drain(fd: number, into: Buffer[]): void {
  const chunk = Buffer.alloc(16384);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
      throw err;
    }
    if (n === 0) return;
    into.push(Buffer.from(chunk.subarray(0, n)));
  }
}

test('the commands of one turn go out in one write, in order', async () => {
  const [readFd, writeFd] = makeJobPipe();
  const jobs = new JobWriter(writeFd);
  try {
    jobs.push(1, 7);
    jobs.push(2, 300);
    const got: Buffer[] = [];
    drain(readFd, got);
    assert.equal(got.length, 0, 'nothing before the end of the turn');
    await new Promise((r) => setImmediate(r));
    drain(readFd, got);
    assert.deepEqual([...Buffer.concat(got)], [1, 0, 7, 0, 2, 0, 44, 1]);
  } finally {
    jobs.stop();
    closeSync(readFd);
    closeSync(writeFd);
  }
});

test('a full job pipe never blocks Node: the rest is written once the reader made room', async () => {
  const [readFd, writeFd] = makeJobPipe();
  const jobs = new JobWriter(writeFd);
  const count = 40000; // 160,000 bytes: more than a pipe holds (64 KiB by default)
  try {
    for (let i = 0; i < count; i++) jobs.push(1 + (i % 7), i % 65536);
    await new Promise((r) => setImmediate(r)); // returns: the write did not block on the full pipe
    const got: Buffer[] = [];
    await until(() => {
      drain(readFd, got);
      return got.reduce((n, b) => n + b.length, 0) >= count * 4;
    }, 10_000, 'every command');
    const all = Buffer.concat(got);
    assert.equal(all.length, count * 4);
    for (let i = 0; i < count; i++) {
      assert.equal(all[i * 4], 1 + (i % 7), `command ${i}`);
      assert.equal(all.readUInt16LE(i * 4 + 2), i % 65536, `slot of command ${i}`);
    }
  } finally {
    jobs.stop();
    closeSync(readFd);
    closeSync(writeFd);
  }
});
