import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reservations } from '../../src/worker/reservations';
import { until } from '../helpers/load';

test('reservations: a promise counts until its connection ends it, or lapses after holdMs (then the worker is told)', async () => {
  let lapses = 0;
  const r = new Reservations<{ reserved: boolean }>(30, () => lapses++);
  const a = { reserved: false };
  const b = { reserved: false };
  r.add(a);
  r.add(b);
  assert.equal(r.count, 2);
  assert.equal(a.reserved, true);
  // The connection clears its own flag, then ends the promise.
  b.reserved = false;
  r.end(b);
  assert.equal(r.count, 1);
  await until(() => lapses === 1, 5_000, 'the promise to lapse');
  assert.equal(r.count, 0);
  assert.equal(a.reserved, false, 'a lapsed promise clears the flag: the connection does not end it again');
});

test('reservations: promises lapse in order, each at its own time; none left means no call', async () => {
  let lapses = 0;
  const r = new Reservations<{ reserved: boolean }>(40, () => lapses++);
  const first = { reserved: false };
  r.add(first);
  await until(() => lapses === 1, 5_000, 'the first promise to lapse');
  const second = { reserved: false };
  r.add(second);
  r.end(second);
  second.reserved = false;
  const third = { reserved: false };
  r.add(third);
  await until(() => lapses === 2, 5_000, 'the third promise to lapse');
  assert.equal(third.reserved, false);
  assert.equal(r.count, 0);
});
