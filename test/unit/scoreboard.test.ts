import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROW_BYTES, ScoreboardReader, ScoreboardWriter } from '../../src/contracts/scoreboard';

test('each core has its own request start and description; the row reports the oldest', () => {
  const memory = new Float64Array((2 * ROW_BYTES) / 8);
  const writer = new ScoreboardWriter(memory, 1, 4);
  const reader = new ScoreboardReader(memory);
  writer.requestStarted(2, '127.0.0.1 - GET /slow', 1000);
  writer.requestStarted(0, '127.0.0.1 - GET /fast', 2000);
  let row = reader.read(1);
  assert.equal(row.cores.length, 4);
  assert.deepEqual(row.cores.map((c) => c.requestStartMs), [2000, 0, 1000, 0]);
  assert.equal(row.requestStartMs, 1000);
  assert.equal(row.current, '127.0.0.1 - GET /slow');
  writer.requestFinished(0, 0, 10, 500, false);
  row = reader.read(1);
  assert.equal(row.cores[0]?.requestStartMs, 0);
  assert.equal(row.cores[0]?.current, '');
  assert.equal(row.cores[0]?.requests, 1);
  assert.equal(row.cores[2]?.current, '127.0.0.1 - GET /slow', 'core 2 is still in its request');
  assert.equal(row.requests, 1);
  assert.equal(reader.read(0).pid, 0, 'other rows untouched');
});
