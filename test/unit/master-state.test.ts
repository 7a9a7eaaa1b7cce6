// The master's state machine with fake timers and fake worker processes: the
// timers attached to states (boot backoff, drain mercy, cheaper cycles) fire
// exactly when they should, and replacements always come up before the old
// workers drain. Real processes are exercised in test/integration/master*.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { Master, type MasterOptions } from '../../src/master/master';
import { SpareAlgorithm } from '../../src/master/cheaper';
import type { WorkerTemplate } from '../../src/contracts/worker-config';

class FakeChild extends EventEmitter {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  connected = true;
  kill(signal: string): boolean {
    this.signals.push(signal);
    return true;
  }
  send(): boolean {
    return true;
  }
  ready(): void {
    this.emit('message', { type: 'ready' });
  }
  exit(code: number | null, signal: string | null = null): void {
    this.connected = false;
    this.emit('exit', code, signal);
  }
}

interface Harness {
  master: Master;
  children: FakeChild[];
  logs: string[];
  allReady: number;
  stopped: Promise<number>;
}

function start(overrides: Partial<MasterOptions> = {}): Harness {
  const h = { children: [] as FakeChild[], logs: [] as string[], allReady: 0 } as Harness;
  const opts: MasterOptions = {
    processes: 2,
    workerReloadMercyMs: 60_000,
    harakiri: 0,
    touchReload: [],
    touchChainReload: [],
    touchWorkersReload: [],
    log: (line) => h.logs.push(line),
    reloadTemplate: () => ({}) as WorkerTemplate,
    onAllReady: () => h.allReady++,
    forkWorker: () => {
      const child = new FakeChild();
      h.children.push(child);
      return child as unknown as ChildProcess;
    },
    ...overrides,
  };
  h.master = new Master(opts, [], {} as WorkerTemplate);
  h.stopped = h.master.run();
  return h;
}

const alive = (h: Harness): FakeChild[] => h.children.filter((c) => c.connected);

describe('master state machine (fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
  afterEach(() => mock.timers.reset());

  test('boot: every worker is spawned at once; "all ready" fires when the last one is ready', () => {
    const h = start();
    assert.equal(h.children.length, 2);
    h.children[0]?.ready();
    assert.equal(h.allReady, 0);
    h.children[1]?.ready();
    assert.equal(h.allReady, 1);
  });

  test('firstWorkerFirst (an on-demand start): one worker, the others once it is ready; "all ready" after the last', () => {
    const h = start({ processes: 3, firstWorkerFirst: true });
    assert.equal(h.children.length, 1, 'the waiting connection gets one boot with the host to itself');
    h.children[0]?.ready();
    assert.equal(h.children.length, 3, 'the rest are spawned once the first is ready');
    assert.equal(h.allReady, 0);
    h.children[1]?.ready();
    h.children[2]?.ready();
    assert.equal(h.allReady, 1);
    assert.deepEqual(
      h.logs.filter((l) => l.startsWith('spawned nuwsgi worker')).map((l) => l.split(' (')[0]),
      ['spawned nuwsgi worker 1', 'spawned nuwsgi worker 2', 'spawned nuwsgi worker 3'],
    );
  });

  test('firstWorkerFirst: a first worker that dies while booting does not hold the others back', () => {
    const h = start({ processes: 2, firstWorkerFirst: true });
    h.children[0]?.exit(1);
    assert.equal(alive(h).length, 1, "worker 2 is spawned now (worker 1's respawn waits its backoff)");
    assert.match(h.logs.join('\n'), /spawned nuwsgi worker 2/);
  });

  test('firstWorkerFirst: a stop while the first boots spawns nothing more', () => {
    const h = start({ processes: 2, firstWorkerFirst: true });
    h.master.stopGracefully();
    h.children[0]?.ready();
    assert.equal(h.children.length, 1);
  });

  test('a worker dying during boot is respawned with a doubling backoff, never in a busy loop', () => {
    const h = start({ processes: 1 });
    h.children[0]?.ready(); // it booted once: exit 22 later is not "the app cannot load"
    h.children[0]?.exit(1);
    assert.equal(h.children.length, 2, 'a worker that dies after being ready is respawned at once');
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const before: number = h.children.length;
      h.children[before - 1]?.exit(1); // dies while booting
      let waited = 0;
      while (h.children.length === before) {
        mock.timers.tick(100);
        waited += 100;
        assert.ok(waited <= 30_000, 'respawned within the cap');
      }
      delays.push(waited);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000]);
    assert.match(h.logs.join('\n'), /failed to boot 4 time\(s\) in a row: respawning in 4000 ms/);
  });

  test('an app that never loads (exit 22 before any worker was ready) stops the master with 22', async () => {
    const h = start({ processes: 2 });
    h.children[0]?.exit(22);
    assert.ok(h.children[1]?.signals.includes('SIGINT'), 'the other worker is stopped');
    h.children[1]?.exit(0);
    assert.equal(await h.stopped, 22);
  });

  test('graceful reload: each replacement is ready before its old worker is told to drain; mercy ends in SIGKILL', () => {
    const h = start({ workerReloadMercyMs: 5000 });
    const [a, b] = h.children as [FakeChild, FakeChild];
    a.ready();
    b.ready();
    h.master.reload(false);
    assert.equal(h.children.length, 4, 'two replacements');
    assert.deepEqual([a.signals, b.signals], [[], []], 'nobody drains before a replacement is ready');
    h.children[2]?.ready();
    assert.deepEqual(a.signals, ['SIGTERM']);
    assert.deepEqual(b.signals, []);
    h.children[3]?.ready();
    assert.deepEqual(b.signals, ['SIGTERM']);
    assert.equal(h.allReady, 2);
    b.exit(0);
    mock.timers.tick(4999);
    assert.deepEqual(a.signals, ['SIGTERM']);
    mock.timers.tick(1);
    assert.deepEqual(a.signals, ['SIGTERM', 'SIGKILL'], 'the mercy ran out');
    assert.match(h.logs.join('\n'), /taking too much time to die\.\.\.NO MERCY/);
  });

  test('chain reload: one worker at a time', () => {
    const h = start({ processes: 3 });
    for (const c of h.children) c.ready();
    h.master.chainReload();
    assert.equal(h.children.length, 4, 'only the first victim is replaced');
    h.children[3]?.ready();
    assert.equal(h.children.length, 5, 'then the next');
    h.children[4]?.ready();
    h.children[5]?.ready();
    assert.match(h.logs.join('\n'), /chain reloading complete/);
    assert.deepEqual(h.children.slice(0, 3).map((c) => c.signals), [['SIGTERM'], ['SIGTERM'], ['SIGTERM']]);
  });

  test('graceful stop: SIGTERM to every worker, and run() resolves 0 once the last one exits', async () => {
    const h = start();
    for (const c of h.children) c.ready();
    h.master.stopGracefully();
    for (const c of h.children) assert.deepEqual(c.signals, ['SIGTERM']);
    h.children[0]?.exit(0);
    h.children[1]?.exit(0);
    assert.equal(await h.stopped, 0);
    assert.equal(alive(h).length, 0);
  });

  test('pause stops every worker; a graceful stop while paused resumes them first', () => {
    const h = start();
    for (const c of h.children) c.ready();
    h.master.togglePause();
    for (const c of h.children) assert.deepEqual(c.signals, ['SIGSTOP']);
    h.master.stopGracefully();
    for (const c of h.children) assert.deepEqual(c.signals, ['SIGSTOP', 'SIGCONT', 'SIGTERM']);
  });

  test('cheaper: only --cheaper-initial workers start; the FIFO + and - add and cheap one', () => {
    const h = start({ processes: 3, cheaper: { min: 1, max: 3, initial: 1, step: 1, overloadCycles: 3 } });
    assert.equal(h.children.length, 1);
    h.children[0]?.ready();
    assert.equal(h.allReady, 1, 'cheaped slots do not hold "all ready" back');
    h.master.addWorker();
    assert.equal(h.children.length, 2);
    h.children[1]?.ready();
    mock.timers.tick(10);
    h.master.removeWorker();
    assert.deepEqual(h.children[0]?.signals, ['SIGTERM'], 'the oldest worker is cheaped');
    h.children[0]?.exit(0);
    assert.equal(h.children.length, 2, 'a cheaped worker is not respawned');
    assert.match(h.logs.join('\n'), /nuwsgi worker 1 cheaped\./);
    h.master.removeWorker();
    assert.deepEqual(h.children[1]?.signals, [], 'never below --cheaper');
  });
});

describe('the spare algorithm (uWSGI cheaper default)', () => {
  const settings = { min: 1, max: 4, initial: 1, step: 2, overloadCycles: 3 };

  test('adds up to cheaper-step workers once every worker was busy for more than cheaper-overload cycles', () => {
    const spare = new SpareAlgorithm(settings);
    const busy = { active: 1, busy: 1, cheaped: 3 };
    assert.deepEqual([1, 2, 3].map(() => spare.decide(busy)), [0, 0, 0]);
    assert.equal(spare.decide(busy), 2);
    assert.equal(spare.decide({ active: 1, busy: 1, cheaped: 1 }), 0, 'the count starts again');
  });

  test('one idle worker is the stable state; more idle ones are cheaped one per cheaper-overload cycles, down to cheaper', () => {
    const spare = new SpareAlgorithm(settings);
    assert.equal(spare.decide({ active: 3, busy: 2, cheaped: 1 }), 0);
    const idle = { active: 3, busy: 0, cheaped: 1 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => spare.decide(idle)), [0, 0, -1, 0, 0, -1]);
    assert.equal(new SpareAlgorithm(settings).decide({ active: 1, busy: 0, cheaped: 3 }), 0);
  });

  test('an idle cycle undoes one overloaded cycle', () => {
    const spare = new SpareAlgorithm(settings);
    const busy = { active: 2, busy: 2, cheaped: 2 };
    spare.decide(busy);
    spare.decide(busy);
    spare.decide(busy);
    spare.decide({ active: 2, busy: 1, cheaped: 2 });
    assert.equal(spare.decide(busy), 0, 'back to 3: not yet above the threshold');
    assert.equal(spare.decide(busy), 2);
  });
});
