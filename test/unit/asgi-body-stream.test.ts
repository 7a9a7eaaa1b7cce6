import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyStream, STREAM_HIGH_WATER, STREAM_LOW_WATER } from '../../src/worker/asgi/body-stream';
import { BodyBudget, BodyCollector } from '../../src/worker/body';

function flowLog(): { log: string[]; stream: BodyStream } {
  const log: string[] = [];
  const stream = new BodyStream({ pause: () => log.push('pause'), resume: () => log.push('resume'), firstTake: () => log.push('first') });
  return { log, stream };
}

test('BodyStream pauses the socket at the high-water mark and resumes below the low one', async () => {
  const { log, stream } = flowLog();
  const piece = Buffer.alloc(16 * 1024, 1);
  for (let i = 0; i < STREAM_HIGH_WATER / piece.length; i++) stream.push(piece);
  assert.deepEqual(log, ['pause']);
  let taken = 0;
  while (STREAM_HIGH_WATER - taken >= STREAM_LOW_WATER) {
    const got = await stream.take(64 * 1024);
    assert.ok(got !== null && !got.last);
    taken += got.data.length;
  }
  assert.deepEqual(log, ['pause', 'first', 'resume']);
});

test('BodyStream.take joins small pieces up to its limit, splits large ones, and marks the last', async () => {
  const { stream } = flowLog();
  stream.push(Buffer.from('ab'));
  stream.push(Buffer.from('cdef'));
  assert.deepEqual(await stream.take(3), { data: Buffer.from('abc'), last: false });
  stream.end();
  assert.deepEqual(await stream.take(10), { data: Buffer.from('def'), last: true });
});

test('BodyStream.take waits for data; a failure (client gone) answers null', async () => {
  const { stream } = flowLog();
  const waiting = stream.take(10);
  stream.push(Buffer.from('x'));
  assert.deepEqual(await waiting, { data: Buffer.from('x'), last: false });
  const next = stream.take(10);
  stream.fail();
  assert.equal(await next, null);
  stream.push(Buffer.from('dropped'));
  assert.equal(await stream.take(10), null);
});

test('BodyStream.collectInto hands the rest to a collector (a WSGI app) and resolves at the end', async () => {
  const { log, stream } = flowLog();
  stream.push(Buffer.alloc(STREAM_HIGH_WATER, 2));
  const collector = new BodyCollector({ spoolAtBytes: 1 << 30, spoolWriteBytes: 8192 });
  const whole = stream.collectInto(collector);
  stream.push(Buffer.from('tail'));
  stream.end();
  assert.equal(await whole, true);
  assert.equal(collector.length, STREAM_HIGH_WATER + 4);
  assert.deepEqual(log, ['pause', 'first', 'resume']);
  collector.dispose();
});

function budgeted(budget: BodyBudget): { log: string[]; stream: BodyStream } {
  const log: string[] = [];
  const stream = new BodyStream({ pause: () => log.push('pause'), resume: () => log.push('resume'), firstTake: () => undefined }, budget);
  return { log, stream };
}

test('BodyStream counts what it holds in --body-buffer-budget and gives it back as the app takes it', async () => {
  const budget = new BodyBudget(1 << 20);
  const { log, stream } = budgeted(budget);
  stream.push(Buffer.alloc(1000, 1));
  stream.push(Buffer.alloc(500, 2));
  assert.equal(budget.usedBytes, 1500);
  assert.equal(budget.throughBytes, 1500);
  assert.equal((await stream.take(600))?.data.length, 600);
  assert.equal(budget.usedBytes, 900, 'what the app took is released');
  stream.end();
  stream.fail(); // the request is over with a part never taken
  assert.equal(budget.usedBytes, 0, 'released when the request ends, even after the whole body arrived');
  assert.equal(budget.peakBytes, 1500);
  assert.deepEqual(log, [], 'under the budget and the high-water mark: never paused');
});

test('BodyStream over a spent budget holds one read: it pauses after each piece and resumes once the app took all', async () => {
  const budget = new BodyBudget(10_000);
  const other = budgeted(budget);
  other.stream.push(Buffer.alloc(12_000)); // another request's body spent the budget
  assert.equal(budget.exceeded, true);
  const { log, stream } = budgeted(budget);
  stream.push(Buffer.alloc(4000, 3));
  assert.deepEqual(log, ['pause'], 'over the budget: no more reading');
  assert.equal(budget.streamHolds, 2, 'both streams held because of the budget, not the high-water mark');
  assert.equal((await stream.take(1000))?.data.length, 1000);
  assert.deepEqual(log, ['pause'], 'still over the budget and holding bytes: stays paused');
  assert.equal((await stream.take(10_000))?.data.length, 3000);
  assert.deepEqual(log, ['pause', 'resume'], 'all taken: reads again (a reading app always progresses)');
  other.stream.fail();
  stream.fail();
  assert.equal(budget.usedBytes, 0);
});

test('BodyStream.collectInto moves its share of the budget to the collector', async () => {
  const budget = new BodyBudget(1 << 20);
  const { stream } = budgeted(budget);
  stream.push(Buffer.alloc(3000));
  const collector = new BodyCollector({ spoolAtBytes: 1 << 30, spoolWriteBytes: 8192, budget });
  const whole = stream.collectInto(collector);
  assert.equal(budget.usedBytes, 3000, 'counted once');
  stream.push(Buffer.alloc(1000));
  stream.end();
  assert.equal(await whole, true);
  assert.equal(budget.usedBytes, 4000);
  collector.dispose();
  assert.equal(budget.usedBytes, 0);
});
