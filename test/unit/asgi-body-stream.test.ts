import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyStream, STREAM_HIGH_WATER, STREAM_LOW_WATER } from '../../src/worker/asgi/body-stream';
import { BodyCollector } from '../../src/worker/body';

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
