// Issue 10: uWSGI's busyness and backlog cheaper algorithms, fed numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BacklogAlgorithm, busynessSettings, cheaperSettings, type CheaperSettings, type LoadSample } from '../../src/master/cheaper';
import { BusynessAlgorithm } from '../../src/master/cheaper-busyness';

const settings = (over: Partial<CheaperSettings> = {}): CheaperSettings => ({
  min: 1, max: 4, initial: 1, step: 1, overloadCycles: 1, algo: 'busyness', busyness: busynessSettings({ multiplier: 2 }), ...over,
});

/** A sample at second `s` with workers that have spent `busyUs[i]` µs in requests so far. */
function sample(s: number, busyUs: number[], extra: Partial<LoadSample> = {}): LoadSample {
  const workers = busyUs.map((us, i) => ({ id: i + 1, busyUs: us, busyNow: false }));
  return { active: workers.length, busy: 0, cheaped: 4 - workers.length, nowMs: s * 1000, workers, backlog: 0, ...extra };
}

test('busyness: uWSGI defaults and its settings lines', () => {
  const lines: string[] = [];
  new BusynessAlgorithm(settings({ busyness: busynessSettings({}) }), (l) => lines.push(l));
  assert.deepEqual(lines, [
    '[busyness] settings: min=25%, max=50%, overload=1, multiplier=10, respawn penalty=2',
    '[busyness] backlog alert is set to 33 request(s), step is 1',
    '[busyness] backlog non-zero alert is set to 60 second(s)',
  ]);
});

test('busyness: above max spawns cheaper-step workers; below min cheaps one once the timer allows', () => {
  const lines: string[] = [];
  const algo = new BusynessAlgorithm(settings(), (l) => lines.push(l));
  // 100 s in, the first period: the worker was 90% busy in the last second.
  assert.equal(algo.decide(sample(100, [900_000])), 1);
  assert.match(lines.at(-1) as string, /^\[busyness\] 1s average busyness is at 90%, will spawn 1 new worker\(s\)$/);
  // Two idle workers: 0% < 25%, but the cheap timer (overload 1 × multiplier 2) runs until 102.
  assert.equal(algo.decide(sample(101, [900_000, 0])), 0);
  assert.equal(algo.decide(sample(102, [900_000, 0])), -1);
  assert.match(lines.at(-1) as string, /cheap one of 2 running workers$/);
});

test('busyness: a worker stuck in one long request counts as 100% busy', () => {
  const algo = new BusynessAlgorithm(settings({ overloadCycles: 2 }), () => {});
  algo.decide(sample(10, [0])); // the first period sets the baseline
  const stuck = sample(11, [0]);
  (stuck.workers as Array<{ busyNow: boolean }>)[0]!.busyNow = true;
  assert.equal(algo.decide(stuck), 0, 'sampled busy between periods');
  const next = sample(11, [0]);
  next.nowMs = 12_000;
  assert.equal(algo.decide(next), 1);
});

test('busyness: respawning a worker soon after cheaping it raises the multiplier by the penalty', () => {
  const lines: string[] = [];
  const algo = new BusynessAlgorithm(settings(), (l) => lines.push(l));
  algo.decide(sample(100, [0, 0])); // idle, timer starts
  algo.decide(sample(101, [0, 0]));
  assert.equal(algo.decide(sample(102, [0, 0])), -1);
  assert.equal(algo.decide(sample(103, [1_000_000])), 1);
  assert.ok(lines.includes('[busyness] worker(s) respawned to fast, increasing cheaper multiplier to 4 (+2)'), lines.join('\n'));
});

test('busyness: a long listen queue spawns emergency workers at once', () => {
  const lines: string[] = [];
  const algo = new BusynessAlgorithm(settings(), (l) => lines.push(l));
  algo.decide(sample(100, [0]));
  const s = sample(100.5, [0], { backlog: 40 });
  assert.equal(algo.decide(s), 1);
  assert.equal(lines.at(-1), '[busyness] 40 requests in listen queue, spawning 1 emergency worker(s) (1)!');
});

test('busyness: a queue that stays non-empty for backlog-nonzero seconds spawns one', () => {
  const algo = new BusynessAlgorithm(settings({ overloadCycles: 100, busyness: busynessSettings({ backlogNonzero: 5 }) }), () => {});
  algo.decide(sample(1000, [0]));
  assert.equal(algo.decide(sample(1001, [0], { backlog: 2 })), 0);
  assert.equal(algo.decide(sample(1004, [0], { backlog: 2 })), 0);
  assert.equal(algo.decide(sample(1006, [0], { backlog: 2 })), 1);
});

test('backlog: a worker more above cheaper-overload queued connections, one fewer below', () => {
  const algo = new BacklogAlgorithm(settings({ algo: 'backlog', overloadCycles: 3, step: 2 }));
  assert.equal(algo.decide({ active: 1, busy: 0, cheaped: 3, backlog: 4 }), 2);
  assert.equal(algo.decide({ active: 3, busy: 0, cheaped: 1, backlog: 3 }), 0);
  assert.equal(algo.decide({ active: 3, busy: 0, cheaped: 1, backlog: 0 }), -1);
  assert.equal(algo.decide({ active: 1, busy: 0, cheaped: 3, backlog: 0 }), 0, 'never below --cheaper');
});

test('cheaper-algo: an unknown name falls back to spare, as uWSGI says', () => {
  const lines: string[] = [];
  const s = cheaperSettings({ cheaper: 1, processes: 3, initial: undefined, step: 1, overload: 3, algo: 'nope' }, (l) => lines.push(l));
  assert.equal(typeof s === 'string' ? s : s.algo, 'spare');
  assert.deepEqual(lines, ['unable to find requested cheaper algorithm, falling back to spare']);
});
