import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleClock } from '../../src/master/idle';

describe('IdleClock (--idle)', () => {
  test('idle only after strictly more than N seconds without a new request', () => {
    const clock = new IdleClock(2);
    assert.equal(clock.observe(0, 0, false), false);
    assert.equal(clock.observe(1000, 0, false), false);
    assert.equal(clock.observe(2000, 0, false), false, 'exactly N seconds is not idle (uWSGI: more than)');
    assert.equal(clock.observe(3000, 0, false), true);
    assert.equal(clock.idleLine(3000), 'workers have been inactive for more than 2 seconds (3-0)');
  });

  test('a request restarts the clock; a busy worker pauses the check', () => {
    const clock = new IdleClock(1);
    clock.observe(0, 0, false);
    assert.equal(clock.observe(1500, 1, false), false, 'a new request');
    assert.equal(clock.observe(5000, 1, true), false, 'busy: never idle');
    assert.equal(clock.observe(6000, 1, false), true, 'the busy time counted as no activity, as in uWSGI');
  });

  test('restart(): the respawned workers count from 0 again', () => {
    const clock = new IdleClock(1);
    clock.observe(0, 7, false);
    clock.restart();
    assert.equal(clock.observe(10_000, 0, false), false);
    assert.equal(clock.observe(12_000, 0, false), true);
  });
});
