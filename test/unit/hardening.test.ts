// Issue 16: the per-worker body budget, the accept back-off and the memory trimmer (pure parts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BodyBudget, BodyCollector } from '../../src/worker/body';
import { AcceptBackoff } from '../../src/worker/accept-backoff';
import { MemoryTrimmer } from '../../src/worker/memory-trim';
import { collectAllGarbage, dropPages } from '../../src/util/reclaim';
import { libc } from '../../src/util/libc';
import { viewOfPointer } from '../../src/worker/python/libpython';

test('bodies share a budget: the one that goes over is spooled, and every byte is given back', () => {
  const budget = new BodyBudget(1000);
  const policy = { spoolAtBytes: 1 << 20, spoolWriteBytes: 64, budget };
  const a = new BodyCollector(policy);
  const b = new BodyCollector(policy);
  a.push(Buffer.alloc(600, 97));
  assert.equal(budget.usedBytes, 600);
  b.push(Buffer.alloc(300, 98));
  assert.equal(a.spooled || b.spooled, false, 'under the budget: both in memory');
  b.push(Buffer.alloc(300, 98));
  assert.equal(b.spooled, true, 'over the budget: the growing body goes to disk');
  assert.equal(budget.overflows, 1);
  assert.equal(budget.usedBytes, 600, 'the spooled body no longer counts');
  const c = new BodyCollector(policy);
  c.push(Buffer.alloc(100, 99));
  assert.equal(c.spooled, false, 'room again below the budget');
  assert.deepEqual(a.finish(), Buffer.alloc(600, 97));
  assert.equal(budget.usedBytes, 100, 'a body handed on is released');
  const spooled = b.finish() as { spooledPath: string };
  assert.equal(readFileSync(spooled.spooledPath, 'latin1'), 'b'.repeat(600));
  b.dispose();
  c.dispose();
  c.dispose();
  assert.equal(budget.usedBytes, 0, 'released once');
  assert.equal(budget.peakBytes, 1200, 'the chunk that went over counted until it was spooled');
  assert.equal(budget.throughBytes, 1300);
});

test('a budget of 0 never spools by itself', () => {
  const budget = new BodyBudget(0);
  const body = new BodyCollector({ spoolAtBytes: 1 << 20, spoolWriteBytes: 64, budget });
  body.push(Buffer.alloc(100_000));
  assert.equal(body.spooled, false);
  body.dispose();
});

test('accept failures: one log line per interval with the count, listeners paused, resumed when a connection closes', () => {
  const lines: string[] = [];
  let paused = 0;
  let resumed = 0;
  const backoff = new AcceptBackoff({ log: (l) => lines.push(l), pause: () => paused++, resume: () => resumed++ });
  backoff.failed(-24, '127.0.0.1:8000');
  assert.deepEqual(lines, ['accept(): Too many open files [socket 127.0.0.1:8000]\n']);
  assert.equal(backoff.backingOff, true);
  assert.equal(paused, 1);
  for (let i = 0; i < 100; i++) backoff.failed(-24, '127.0.0.1:8000');
  assert.equal(lines.length, 1, 'no flood');
  assert.equal(paused, 1, 'paused once while backing off');
  backoff.fdFreed();
  assert.equal(backoff.backingOff, false);
  assert.equal(resumed, 1);
  backoff.fdFreed();
  assert.equal(resumed, 1, 'nothing to resume');
});

test('the trimmer waits for a burst, a quiet second and most bodies gone', () => {
  const trimmer = new MemoryTrimmer(1000);
  const budget = { usedBytes: 0, peakBytes: 0, throughBytes: 0 };
  assert.equal(trimmer.maybeTrim(budget), false, 'nothing happened');
  budget.throughBytes = 5000;
  budget.usedBytes = 900;
  budget.peakBytes = 900;
  assert.equal(trimmer.maybeTrim(budget), false, 'bytes still arriving');
  assert.equal(trimmer.maybeTrim(budget), false, 'quiet, but the bodies are still held');
  budget.usedBytes = 0;
  assert.equal(trimmer.maybeTrim(budget), true, 'quiet and released');
  assert.equal(trimmer.maybeTrim(budget), false, 'once per burst');
  for (let n = 1; n <= 100; n++) trimmer.connections(n);
  trimmer.connections(10);
  assert.equal(trimmer.maybeTrim(budget), true, 'most of many connections gone');
});

test('a burst gets one follow-up trim five quiet sweeps later (what was freed after the first), and no more', () => {
  const trimmer = new MemoryTrimmer(1000);
  const budget = { usedBytes: 0, peakBytes: 0, throughBytes: 5000 };
  assert.equal(trimmer.maybeTrim(budget), false, 'bytes arrived since the last sweep');
  assert.equal(trimmer.maybeTrim(budget), true, 'the burst is over');
  for (let i = 1; i <= 4; i++) assert.equal(trimmer.maybeTrim(budget), false, `sweep ${i} after it`);
  budget.throughBytes += 10; // a small body arrives at the fifth: the follow-up waits for a quiet sweep
  assert.equal(trimmer.maybeTrim(budget), false, 'not while bytes arrive');
  assert.equal(trimmer.maybeTrim(budget), true, 'the follow-up');
  for (let i = 0; i < 10; i++) assert.equal(trimmer.maybeTrim(budget), false, 'then nothing until the next burst');
});

test('every trim, the follow-up too, first gives back what idle slots hold (the release hook)', () => {
  let released = 0;
  const trimmer = new MemoryTrimmer(1000, () => released++);
  const budget = { usedBytes: 0, peakBytes: 0, throughBytes: 5000 };
  assert.equal(trimmer.maybeTrim(budget), false);
  assert.equal(released, 0, 'no trim, no release');
  assert.equal(trimmer.maybeTrim(budget), true, 'the burst is over');
  assert.equal(released, 1);
  for (let i = 0; i < 5; i++) trimmer.maybeTrim(budget);
  assert.equal(released, 2, 'the follow-up');
});

/** Resident memory of this process, bytes. */
function rssBytes(): number {
  return Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]) * 4096;
}

test('dropPages gives back the whole pages inside a buffer (read as zeros after), not the partial pages at its ends', () => {
  // Memory from malloc, as a slot's region is; offsets that fall inside pages at both ends.
  const size = 32 << 20;
  const pointer = libc().malloc(size);
  try {
    const region = viewOfPointer(pointer, size).subarray(1, size - 1);
    region.fill(7);
    const before = rssBytes();
    assert.equal(dropPages(region), true);
    const freed = before - rssBytes();
    assert.ok(freed >= 30 << 20, `${(freed / 1048576).toFixed(1)} MiB given back of 32`);
    assert.equal(region[region.length >> 1], 0, 'a dropped page reads as zeros');
    assert.equal(region[0], 7, 'the first partial page is kept (it may hold the allocator\'s header)');
    assert.equal(region[region.length - 1], 7, 'the last partial page is kept');
    region.fill(9);
    assert.equal(region[region.length >> 1], 9, 'and the memory is usable again');
  } finally {
    libc().free(pointer);
  }
});

test('a trim collects dead Buffers and frees their bytes before it returns (one gc() leaves them to a V8 helper thread)', () => {
  // 50 MiB in 64 KiB Buffers, as socket reads and body pieces are.
  let held: Buffer[] | null = Array.from({ length: 800 }, () => Buffer.alloc(64 * 1024, 1));
  const before = process.memoryUsage().arrayBuffers;
  assert.equal(held.length, 800);
  held = null;
  assert.equal(collectAllGarbage(), true, 'gc() is reachable');
  const freed = before - process.memoryUsage().arrayBuffers;
  assert.ok(freed >= 48 * 1048576, `${(freed / 1048576).toFixed(1)} MiB freed when it returned`);
});
