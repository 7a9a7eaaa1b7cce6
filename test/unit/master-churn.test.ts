// Issue 16 (soak): the master under worker churn. What it keeps per worker
// goes with the worker, and the memory the spawns leave behind is reclaimed
// at most once a minute, only after workers exited (src/master/reclaim.ts).
import { afterEach, beforeEach, test } from 'node:test';
import { mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { Master, type MasterOptions } from '../../src/master/master';
import { ChurnReclaimer } from '../../src/master/reclaim';
import type { WorkerTemplate } from '../../src/contracts/worker-config';

test('reclaimer: nothing without an exit; then at most once per interval', () => {
  let runs = 0;
  const r = new ChurnReclaimer(60_000, 0, () => runs++);
  assert.equal(r.tick(120_000), false, 'no worker exited: no full GC');
  r.workerExited();
  assert.equal(r.tick(30_000), false, 'too soon after the last');
  assert.equal(r.tick(60_000), true);
  r.workerExited();
  r.workerExited();
  assert.equal(r.tick(90_000), false);
  assert.equal(r.tick(120_000), true);
  assert.equal(r.tick(999_000), false, 'no exit since');
  assert.equal(runs, 2);
});

class FakeChild extends EventEmitter {
  static nextPid = 5000;
  readonly pid = FakeChild.nextPid++;
  connected = true;
  kill(): boolean {
    return true;
  }
  send(): boolean {
    return true;
  }
}

/** The master's private bookkeeping, read to check it stays bounded. */
interface MasterInternals {
  slots: Array<{ current: unknown; next: unknown; draining: unknown[] }>;
  scoreboard: { freeRows: number[] };
  chain: number[];
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

test('master: 300 recycles, reloads and kills leave the same bookkeeping as after boot', async () => {
  const children: FakeChild[] = [];
  const opts: MasterOptions = {
    processes: 2,
    workerReloadMercyMs: 60_000,
    harakiri: 0,
    touchReload: [],
    touchChainReload: [],
    touchWorkersReload: [],
    log: () => undefined,
    reloadTemplate: () => ({}) as WorkerTemplate,
    forkWorker: () => {
      const child = new FakeChild();
      children.push(child);
      return child as unknown as ChildProcess;
    },
  };
  const master = new Master(opts, [], {} as WorkerTemplate);
  const stopped = master.run();
  const internals = master as unknown as MasterInternals;
  const live = (): FakeChild[] => children.filter((c) => c.connected);
  const settle = (): void => {
    // Every new worker gets ready; every drained one exits.
    for (let i = 0; i < 4; i++) {
      for (const c of live()) c.emit('message', { type: 'ready' });
      for (const c of live()) {
        if (!isCurrent(internals, c)) {
          c.connected = false;
          c.emit('exit', 0, null);
        }
      }
    }
  };
  settle();
  const freeRowsAfterBoot = internals.scoreboard.freeRows.length;
  for (let i = 0; i < 300; i++) {
    const victim = live()[i % 2] as FakeChild;
    if (i % 3 === 0) victim.emit('message', { type: 'recycle', reason: 'max requests reached (20)' });
    else if (i % 3 === 1) master.reload(false);
    else {
      victim.connected = false;
      victim.emit('exit', null, 'SIGKILL');
    }
    settle();
    mock.timers.tick(1000);
  }
  assert.ok(children.length > 300, `workers spawned: ${children.length}`);
  assert.equal(live().length, 2);
  assert.equal(internals.scoreboard.freeRows.length, freeRowsAfterBoot, 'every dead worker gave its scoreboard row back');
  assert.deepEqual(
    internals.slots.map((s) => [s.next, s.draining.length]),
    [
      [null, 0],
      [null, 0],
    ],
  );
  assert.equal(internals.chain.length, 0);
  master.stopNow();
  for (const c of live()) {
    c.connected = false;
    c.emit('exit', 0, null);
  }
  assert.equal(await stopped, 0);
});

function isCurrent(internals: MasterInternals, c: FakeChild): boolean {
  return internals.slots.some((s) => (s.current as { child?: unknown } | null)?.child === c || (s.next as { child?: unknown } | null)?.child === c);
}
