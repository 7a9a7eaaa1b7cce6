import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeBatch, afterTurnWrites, batchAgeMs, batchHolding, deferInTurn, endBatch, flushBatch, withWriteBatch, type BatchAction, type BatchTarget } from '../../src/worker/write-batch';

/** A target that records what reaches it, and whether a batch was open at that moment. */
function recorder(name: string, log: string[]): BatchTarget {
  return {
    writeNow(data: Buffer): boolean {
      log.push(`${name}:${data.toString()}${activeBatch() !== null ? ' (batch open)' : ''}`);
      return true;
    },
    settleNow(action: BatchAction): void {
      log.push(`${name}:${action}`);
    },
  };
}

test('writes are deferred to the end of the batch, in the order they were made, closes after their bytes', () => {
  const log: string[] = [];
  const a = recorder('a', log);
  const b = recorder('b', log);
  withWriteBatch(() => {
    activeBatch()?.push(a, Buffer.from('1'));
    activeBatch()?.push(b, Buffer.from('2'));
    activeBatch()?.push(a, 'close');
    activeBatch()?.push(b, Buffer.from('3'));
    assert.deepEqual(log, [], 'nothing written inside the batch');
  });
  assert.deepEqual(log, ['a:1', 'b:2', 'a:close', 'b:3']);
  assert.equal(activeBatch(), null);
});

test('flushBatch writes what waits and keeps batching; writes made during the flush are direct', () => {
  const log: string[] = [];
  const a = recorder('a', log);
  withWriteBatch(() => {
    activeBatch()?.push(a, Buffer.from('1'));
    assert.ok(batchAgeMs(performance.now()) >= 0);
    flushBatch();
    assert.deepEqual(log, ['a:1'], 'flushed with no batch open (a failing write may close at once)');
    assert.equal(batchAgeMs(performance.now()), 0, 'nothing waits after a flush');
    activeBatch()?.push(a, Buffer.from('2'));
    assert.deepEqual(log, ['a:1']);
  });
  assert.deepEqual(log, ['a:1', 'a:2']);
});

test('endBatch writes what waits and stops batching for the rest of the batch (streams need real writes)', () => {
  const log: string[] = [];
  const a = recorder('a', log);
  withWriteBatch(() => {
    activeBatch()?.push(a, Buffer.from('1'));
    endBatch();
    assert.equal(activeBatch(), null);
    assert.deepEqual(log, ['a:1']);
  });
  assert.deepEqual(log, ['a:1']);
});

test('a batch is flushed even when its function throws', () => {
  const log: string[] = [];
  const a = recorder('a', log);
  assert.throws(() =>
    withWriteBatch(() => {
      activeBatch()?.push(a, Buffer.from('1'));
      throw new Error('boom');
    }),
  );
  assert.deepEqual(log, ['a:1']);
  assert.equal(activeBatch(), null);
});

test('deferInTurn: writes made inside wait for the end of the loop turn; outside, the batch is closed to new writers', async () => {
  const log: string[] = [];
  const a = recorder('a', log);
  const b = recorder('b', log);
  deferInTurn(() => activeBatch()?.push(a, Buffer.from('1')));
  assert.equal(activeBatch(), null, 'closed between calls: a static file or a stream writes directly');
  assert.notEqual(batchHolding(), null, 'but a connection with deferred writes queues behind them');
  deferInTurn(() => activeBatch()?.push(b, Buffer.from('2')));
  batchHolding()?.push(a, 'close');
  assert.deepEqual(log, []);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ['a:1', 'b:2', 'a:close']);
  assert.equal(batchHolding(), null);
});

test('afterTurnWrites: runs once the turn\'s deferred writes are written (a threaded core is free only then); at once when none wait', async () => {
  const log: string[] = [];
  const a = recorder('a', log);
  afterTurnWrites(() => log.push('free (nothing deferred)'));
  assert.deepEqual(log, ['free (nothing deferred)']);
  log.length = 0;
  deferInTurn(() => activeBatch()?.push(a, Buffer.from('1')));
  afterTurnWrites(() => {
    log.push('core 0 free');
    // What it starts may defer again: that goes into the next turn's batch, and its own waiter after it.
    deferInTurn(() => activeBatch()?.push(a, Buffer.from('2')));
    afterTurnWrites(() => log.push('core 0 free again'));
  });
  assert.deepEqual(log, [], 'neither the write nor the release before the end of the turn');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ['a:1', 'core 0 free']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ['a:1', 'core 0 free', 'a:2', 'core 0 free again']);
});
