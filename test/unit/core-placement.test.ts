// --threads-follow-loop: the cores move to the loop's CPU when, and only when, it changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreThreadPlacement } from '../../src/worker/core-placement';

function fake(cpus: number[], failWith = 0): { calls: Array<[number, number[]]>; logs: string[]; placement: CoreThreadPlacement } {
  const calls: Array<[number, number[]]> = [];
  const logs: string[] = [];
  let i = 0;
  const placement = new CoreThreadPlacement([101, 102], {
    getCpu: () => cpus[Math.min(i++, cpus.length - 1)] as number,
    setAffinity: (tid, size, mask) => {
      assert.equal(size, 128);
      const set: number[] = [];
      for (let cpu = 0; cpu < size * 8; cpu++) if (((mask[cpu >> 3] as number) >> (cpu & 7)) & 1) set.push(cpu);
      calls.push([tid, set]);
      return failWith === 0 ? 0 : -1;
    },
    errno: () => failWith,
  }, (line) => logs.push(line));
  return { calls, logs, placement };
}

test('the cores are pinned to the loop\'s CPU at the first hand-off, and not again while it stays there', () => {
  const { calls, placement } = fake([1, 1, 1]);
  placement.follow();
  placement.follow();
  placement.follow();
  assert.deepEqual(calls, [[101, [1]], [102, [1]]]);
  assert.equal(placement.moves, 1);
});

test('when the loop moves, every core follows it to its new CPU only', () => {
  const { calls, placement } = fake([0, 0, 9, 9, 0]);
  for (let k = 0; k < 5; k++) placement.follow();
  assert.deepEqual(calls, [[101, [0]], [102, [0]], [101, [9]], [102, [9]], [101, [0]], [102, [0]]]);
  assert.equal(placement.moves, 3);
});

test('a CPU number sched_getcpu cannot report (an error) changes nothing', () => {
  const { calls, placement } = fake([-1, 5000]);
  placement.follow();
  placement.follow();
  assert.deepEqual(calls, []);
});

test('a refused sched_setaffinity is logged once and the cores are left alone from then on', () => {
  const { calls, logs, placement } = fake([0, 1, 0], 1); // EPERM
  placement.follow();
  placement.follow();
  placement.follow();
  assert.deepEqual(calls, [[101, [0]]]);
  assert.equal(logs.length, 1);
  assert.match(logs[0] as string, /--threads-follow-loop: sched_setaffinity\(\) failed \(errno 1\)/);
});

test('core threads that have ended (ESRCH) are skipped without a log line', () => {
  const { calls, logs, placement } = fake([2], 3);
  placement.follow();
  assert.deepEqual(calls, [[101, [2]], [102, [2]]]);
  assert.deepEqual(logs, []);
  assert.equal(placement.moves, 1);
});
