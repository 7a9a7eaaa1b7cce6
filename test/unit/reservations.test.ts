import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reservations } from '../../src/worker/reservations';
import { until } from '../helpers/load';

test('reservations: a promise counts until its connection ends it, or lapses after holdMs (then the worker is told)', async () => {
  let lapses = 0;
  const r = new Reservations<{ reserved: boolean }>(30, 0, () => lapses++);
  const a = { reserved: false };
  const b = { reserved: false };
  r.add(a);
  r.add(b);
  assert.equal(r.count, 2);
  assert.equal(a.reserved, true);
  // The connection clears its own flag, then ends the promise.
  b.reserved = false;
  r.end(b, true);
  assert.equal(r.count, 1);
  await until(() => lapses === 1, 5_000, 'the promise to lapse');
  assert.equal(r.count, 0);
  assert.equal(a.reserved, false, 'a lapsed promise clears the flag: the connection does not end it again');
});

test('reservations: promises lapse in order, each at its own time; none left means no call', async () => {
  let lapses = 0;
  const r = new Reservations<{ reserved: boolean }>(40, 0, () => lapses++);
  const first = { reserved: false };
  r.add(first);
  await until(() => lapses === 1, 5_000, 'the first promise to lapse');
  const second = { reserved: false };
  r.add(second);
  r.end(second, true);
  second.reserved = false;
  const third = { reserved: false };
  r.add(third);
  await until(() => lapses === 2, 5_000, 'the third promise to lapse');
  assert.equal(third.reserved, false);
  assert.equal(r.count, 0);
});

test('reservations: after a promise lapsed, none is made for suspendMs (a flood of silent connections cannot keep the cores promised)', async () => {
  let lapses = 0;
  const r = new Reservations<{ reserved: boolean }>(10, 150, () => lapses++);
  const kept = { reserved: false };
  assert.equal(r.add(kept), true);
  kept.reserved = false; // its request came: a kept promise suspends nothing
  r.end(kept, true);
  const silent = { reserved: false };
  assert.equal(r.add(silent), true);
  await until(() => lapses === 1, 5_000, 'the silent one to lapse');
  const next = { reserved: false };
  assert.equal(r.add(next), false, 'suspended right after a lapse');
  assert.equal(next.reserved, false);
  assert.equal(r.count, 0);
  await until(() => r.add(next), 5_000, 'promises to be made again');
  assert.equal(next.reserved, true);
});

test('reservations: a connection closed before its request also loses the bet', () => {
  const r = new Reservations<{ reserved: boolean }>(1_000, 60_000, () => undefined);
  const closed = { reserved: false };
  assert.equal(r.add(closed), true);
  closed.reserved = false;
  r.end(closed, false);
  assert.equal(r.add({ reserved: false }), false);
});
