// Issue 16 (soak): what the emperor's observatory keeps per vassal name and
// per pid goes with the vassal. Under vassal churn (versioned vassal files
// written and removed by a deploy tool) the maps and the announce directory
// stay as big as the set of running vassals, however many came and went.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EmperorObservatory } from '../../src/emperor/observatory';
import type { EmperorStatsView } from '../../src/emperor/stats';
import type { Vassal } from '../../src/emperor/vassal';
import type { Family } from '../../src/stats/exposition';

/** The private once-a-second beat and the per-vassal summary, as the timer and the dashboard frame call them. */
interface ObservatoryInternals {
  beat(): Promise<void>;
  summarize(name: string, families: Family[], now: number): unknown;
  events: { all(): Array<{ text: string }> };
}

function fakeVassal(name: string, pid: number): Vassal {
  return { name, state: 'ready', proc: { pid }, respawns: 0, accepting: true, loyal: true, lastHeartbeatMs: 0 } as unknown as Vassal;
}

test('observatory: 200 vassals come and go; per-name state, per-name rates and announce files do not outlive them', async () => {
  let running: Vassal[] = [];
  const view = (): EmperorStatsView => ({ monitors: ['/v'], tyrant: false, vassals: running });
  const obs = new EmperorObservatory(view, () => undefined);
  const internals = obs as unknown as ObservatoryInternals;
  const announced = (pid: number): string => path.join(obs.announce.path, `${pid}.json`);
  try {
    const steady = fakeVassal('steady.ini', 90_000);
    writeFileSync(announced(90_000), '{"metrics":"127.0.0.1:1"}');
    for (let i = 0; i < 200; i++) {
      const pid = 100_000 + i;
      const v = fakeVassal(`app-v${i}.ini`, pid);
      running = [steady, v];
      writeFileSync(announced(pid), '{"metrics":"127.0.0.1:1"}'); // what the vassal's master writes
      writeFileSync(`${announced(pid)}.tmp`, '{}'); // one killed between its write and its rename
      await internals.beat();
      internals.summarize(v.name, [], Date.now()); // a dashboard frame while it ran
      internals.summarize(steady.name, [], Date.now());
      running = [steady]; // its file removed: the emperor forgot it
      await internals.beat();
    }
    assert.deepEqual(obs.remembered, { states: 1, requests: 1 });
    assert.deepEqual(readdirSync(obs.announce.path), ['90000.json'], 'only the running vassal keeps its announcement');
    assert.ok(existsSync(announced(90_000)));
    assert.match(internals.events.all().at(-1)?.text ?? '', /vassal app-v199\.ini: ready → removed/);
  } finally {
    obs.announce.remove();
  }
});
