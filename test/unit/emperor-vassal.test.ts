// The emperor's per-vassal state machine, driven by a fake process: every
// transition and every timer attached to a state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vassal, type OnDemandSocket, type VassalHooks, type VassalPolicy } from '../../src/emperor/vassal';
import type { VassalFile } from '../../src/emperor/monitor';
import type { VassalProcessEvents, SpawnRequest } from '../../src/emperor/spawn';
import { TO_EMPEROR, TO_VASSAL } from '../../src/emperor/protocol';
import { vassalStats } from '../../src/emperor/stats';
import { until } from '../helpers/load';

class FakeProcess {
  readonly sent: number[] = [];
  readonly signals: NodeJS.Signals[] = [];
  channelOpen = true;
  constructor(
    readonly pid: number,
    readonly events: VassalProcessEvents,
  ) {}
  send(byte: number): boolean {
    if (!this.channelOpen) return false;
    this.sent.push(byte);
    return true;
  }
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }
}

interface Rig {
  vassal: Vassal;
  procs: FakeProcess[];
  requests: SpawnRequest[];
  logs: string[];
  gone: Vassal[];
  last(): FakeProcess;
}

const FILE: VassalFile = { key: '/v/app.ini', name: 'app.ini', configPath: 'app.ini', cwd: '/v', monitor: '/v', mtimeMs: 1000, ino: 1, uid: 33, gid: 33 };

function rig(policy: Partial<VassalPolicy> = {}, onDemandName?: string): Rig {
  const procs: FakeProcess[] = [];
  const requests: SpawnRequest[] = [];
  const logs: string[] = [];
  const gone: Vassal[] = [];
  let nextPid = 100;
  const hooks: VassalHooks = {
    log: (l) => logs.push(l),
    logVerbose: (l) => logs.push(l),
    request: (file): SpawnRequest => ({ argv: ['--ini', file.configPath], cwd: file.cwd, env: {} }),
    spawn: (request, events) => {
      requests.push(request);
      const p = new FakeProcess(nextPid++, events);
      procs.push(p);
      return p;
    },
    changed: () => undefined,
    gone: (v) => gone.push(v),
  };
  const full: VassalPolicy = { throttleMs: 20, maxThrottleMs: 80, curseToleranceMs: 50, requiredHeartbeatMs: 60, gracefulShutdown: true, ...policy };
  const vassal = new Vassal(FILE, full, hooks, onDemandName);
  return { vassal, procs, requests, logs, gone, last: () => procs[procs.length - 1] as FakeProcess };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function comeUp(p: FakeProcess): void {
  p.events.onByte(TO_EMPEROR.spawned);
  p.events.onByte(TO_EMPEROR.accepting);
  p.events.onByte(TO_EMPEROR.loyal);
}

test('starting → ready on "accepting", loyal on byte 17, in uWSGI words', () => {
  const r = rig();
  r.vassal.start();
  assert.equal(r.vassal.state, 'starting');
  comeUp(r.last());
  assert.equal(r.vassal.state, 'ready');
  assert.equal(r.vassal.loyal, true);
  assert.deepEqual(r.logs, [
    '[emperor] vassal app.ini has been spawned',
    '[emperor] vassal app.ini is ready to accept requests',
    '[emperor] vassal app.ini is now loyal',
  ]);
});

test('a changed file reloads the vassal gracefully (byte 1): reloading until it is accepting again', () => {
  const r = rig();
  r.vassal.start();
  comeUp(r.last());
  r.vassal.fileChanged({ ...FILE, mtimeMs: 2000 });
  assert.deepEqual(r.last().sent, [TO_VASSAL.reload]);
  assert.equal(r.vassal.state, 'reloading');
  assert.equal(r.vassal.respawns, 1);
  r.last().events.onByte(TO_EMPEROR.accepting);
  assert.equal(r.vassal.state, 'ready');
  assert.equal(r.procs.length, 1, 'a reload is not a new process');
});

test('stop: graceful byte 2, stopping, then dead and gone when it exits', () => {
  const r = rig();
  r.vassal.start();
  comeUp(r.last());
  r.vassal.stop();
  assert.deepEqual(r.last().sent, [TO_VASSAL.gracefulStop]);
  assert.equal(r.vassal.state, 'stopping');
  r.last().events.onExit(0, null);
  assert.equal(r.vassal.state, 'dead');
  assert.deepEqual(r.gone, [r.vassal]);
  assert.ok(r.logs.includes('[emperor] removed uwsgi instance app.ini'));
});

test('emperor-graceful-shutdown = false sends byte 0 (stop now)', () => {
  const r = rig({ gracefulShutdown: false });
  r.vassal.start();
  r.vassal.stop();
  assert.deepEqual(r.last().sent, [TO_VASSAL.stop]);
});

test('a vassal that ignores the stop is killed (whole group) when the mercy runs out', async () => {
  const r = rig();
  r.vassal.start();
  r.vassal.stop();
  await until(() => r.last().signals.includes('SIGKILL'), 2000, 'SIGKILL after the mercy');
  assert.ok(r.logs.includes('[emperor] NO MERCY for vassal app.ini !!!'));
  r.last().events.onExit(null, 'SIGKILL');
  assert.equal(r.vassal.state, 'dead');
});

test('an unloyal vassal that keeps dying is throttled: doubling delays up to the maximum, logged', async () => {
  const r = rig();
  r.vassal.start();
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p = r.last();
    const started = r.procs.length;
    p.events.onExit(1, null);
    assert.equal(r.vassal.state, 'throttled');
    const line = r.logs.filter((l) => l.startsWith('[emperor] respawning vassal app.ini in ')).at(-1) ?? '';
    delays.push(Number(/in (\d+) ms/.exec(line)?.[1]));
    await until(() => r.procs.length === started + 1, 2000, 'the respawn');
    assert.equal(r.vassal.state, 'starting');
  }
  assert.deepEqual(delays, [20, 40, 80, 80, 80]);
  assert.ok(r.logs.includes('[emperor] unloyal bad behaving vassal found: app.ini throttling it...'));
  assert.ok(r.logs.includes('[emperor] maximum throttle level for vassal app.ini reached !!!'));
  assert.ok(r.logs.includes('[emperor] vassal app.ini (pid: 100) exited with code 1'));
  assert.equal(r.vassal.respawns, 5);
});

test('loyalty resets the throttle; a loyal vassal that dies comes back without waiting the throttle again', async () => {
  const r = rig({ throttleMs: 30 });
  r.vassal.start();
  r.last().events.onExit(1, null);
  await until(() => r.procs.length === 2, 2000, 'first respawn');
  comeUp(r.last());
  assert.equal(r.vassal.throttle.entry(), undefined, 'loyal: no blacklist entry');
  await sleep(40);
  r.last().events.onExit(null, 'SIGSEGV');
  assert.ok(r.logs.some((l) => l === '[emperor] respawning vassal app.ini in 0 ms'));
  await until(() => r.procs.length === 3, 2000, 'immediate respawn');
});

test('a throttled vassal whose file changes is started at once; one whose file is gone just goes', async () => {
  const r = rig({ throttleMs: 10_000, maxThrottleMs: 10_000 });
  r.vassal.start();
  r.last().events.onExit(1, null);
  assert.equal(r.vassal.state, 'throttled');
  r.vassal.fileChanged({ ...FILE, mtimeMs: 5000 });
  assert.equal(r.procs.length, 2);
  assert.equal(r.vassal.state, 'starting');
  r.last().events.onExit(1, null);
  r.vassal.stop();
  assert.equal(r.vassal.state, 'dead');
  await sleep(20);
  assert.equal(r.procs.length, 2, 'no respawn after the stop');
});

test('a vassal that stops sending heartbeats is killed (then respawned as a death)', async () => {
  const r = rig({ requiredHeartbeatMs: 30 });
  r.vassal.start();
  comeUp(r.last());
  r.last().events.onByte(TO_EMPEROR.heartbeat);
  await until(() => r.last().signals.includes('SIGKILL'), 2000, 'the heartbeat watchdog');
  assert.ok(r.logs.includes('[emperor] vassal app.ini sent no heartbeat in last 0.03 seconds, brutally respawning it...'));
});

test('heartbeats keep the watchdog quiet', async () => {
  const r = rig({ requiredHeartbeatMs: 40 });
  r.vassal.start();
  for (let i = 0; i < 6; i++) {
    r.last().events.onByte(TO_EMPEROR.heartbeat);
    await sleep(15);
  }
  assert.deepEqual(r.last().signals, []);
  r.vassal.stop();
  r.last().events.onExit(0, null);
});

test('a channel that closes while the process lives gets the vassal cursed: SIGTERM, stopping, then SIGKILL', async () => {
  const r = rig();
  r.vassal.start();
  r.last().channelOpen = false;
  r.last().events.onChannelClosed();
  await until(() => r.vassal.state === 'stopping', 2000, 'the curse');
  assert.deepEqual(r.last().signals, ['SIGTERM']);
  assert.ok(r.logs.some((l) => l.startsWith('[emperor] curse the uwsgi instance app.ini (pid: ')));
  await until(() => r.last().signals.includes('SIGKILL'), 2000, 'SIGKILL');
  r.last().events.onExit(null, 'SIGKILL');
  assert.equal(r.vassal.state, 'dead');
});

test('a channel close followed by the exit is an ordinary death, not a curse', async () => {
  const r = rig();
  r.vassal.start();
  r.last().events.onChannelClosed();
  r.last().events.onExit(1, null);
  assert.equal(r.vassal.state, 'throttled');
  r.vassal.stop();
  await sleep(30);
  assert.ok(!r.logs.some((l) => l.includes('curse')));
});

test('a process that cannot be started counts as a death and is throttled', () => {
  const r = rig();
  r.vassal.start();
  r.last().events.onExit(null, null, new Error('spawn EACCES'));
  assert.equal(r.vassal.state, 'throttled');
  assert.ok(r.logs.includes('[emperor] vassal app.ini (pid: 100) could not be started: spawn EACCES'));
  r.vassal.stop();
});

test('unsupported messages are logged and ignored; byte 22 asks for a stop', () => {
  const r = rig();
  r.vassal.start();
  r.last().events.onByte(TO_EMPEROR.broodlord);
  assert.ok(r.logs.includes('[emperor] vassal app.ini sent unsupported message 30: ignored'));
  r.last().events.onByte(TO_EMPEROR.voluntaryStop);
  assert.equal(r.vassal.state, 'stopping');
  r.last().events.onExit(0, null);
});

test('stats carry uWSGI fields plus state and config path', () => {
  const r = rig();
  r.vassal.start();
  comeUp(r.last());
  const s = vassalStats(r.vassal);
  assert.equal(s['id'], 'app.ini');
  assert.equal(s['pid'], 100);
  assert.equal(s['loyal'], 1);
  assert.equal(s['accepting'], 1);
  assert.equal(s['state'], 'ready');
  assert.equal(s['config'], '/v/app.ini');
  assert.equal(s['monitor'], '/v');
  r.vassal.stop();
  r.last().events.onExit(0, null);
});

/** The emperor's side of an on-demand socket: a connection is announced by calling `connect()`. */
class FakeOnDemandSocket implements OnDemandSocket {
  readonly name = '/run/app.socket';
  readonly fd = 42;
  closed = false;
  private waiter: (() => void) | null = null;
  watch(onConnection: () => void): () => void {
    this.waiter = onConnection;
    return () => {
      this.waiter = null;
    };
  }
  get watched(): boolean {
    return this.waiter !== null;
  }
  connect(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
  close(): void {
    this.closed = true;
  }
}

test('on demand: nothing runs until a connection; the vassal gets the socket as descriptor 0', () => {
  const r = rig({}, '/run/app.socket');
  const socket = new FakeOnDemandSocket();
  assert.equal(r.vassal.state, 'on-demand');
  r.vassal.awaitConnection(socket);
  assert.equal(r.procs.length, 0);
  assert.ok(socket.watched);
  assert.deepEqual(r.logs, ['[nuwsgi-emperor] app.ini -> "on demand" instance detected, waiting for connections on socket "/run/app.socket" ...']);
  socket.connect();
  assert.equal(r.vassal.state, 'starting');
  assert.equal(r.requests[0]?.stdinFd, 42);
  comeUp(r.last());
  assert.equal(r.vassal.state, 'ready');
  assert.equal(vassalStats(r.vassal)['on_demand'], '/run/app.socket');
});

test('on demand: byte 22 (die-on-idle) stops the vassal and holds the socket again; the next connection starts it anew', async () => {
  const r = rig({ gracefulShutdown: true }, '/run/app.socket');
  const socket = new FakeOnDemandSocket();
  r.vassal.awaitConnection(socket);
  socket.connect();
  const first = r.last();
  comeUp(first);
  first.events.onByte(TO_EMPEROR.voluntaryStop);
  assert.equal(r.vassal.state, 'stopping');
  assert.deepEqual(first.sent, [TO_VASSAL.gracefulStop]);
  assert.ok(r.logs.includes('[emperor] bringing back instance app.ini to on-demand mode'));
  first.events.onExit(0, null);
  assert.equal(r.vassal.state, 'on-demand');
  assert.ok(socket.watched, 'watching the socket again');
  assert.equal(socket.closed, false, 'the socket stays bound');
  assert.equal(r.logs.at(-1), '[nuwsgi-emperor] app.ini -> back to "on demand" mode, waiting for connections on socket "/run/app.socket" ...');
  assert.deepEqual(r.gone, []);
  socket.connect();
  assert.equal(r.procs.length, 2);
  assert.equal(r.vassal.state, 'starting');
  // A vassal that does not exit is still killed after the mercy, and then waits again.
  const second = r.last();
  comeUp(second);
  second.events.onByte(TO_EMPEROR.voluntaryStop);
  await until(() => second.signals.includes('SIGKILL'), 2000, 'SIGKILL after the curse tolerance');
  second.events.onExit(null, 'SIGKILL');
  assert.equal(r.vassal.state, 'on-demand');
});

test('on demand: a removed file while waiting stops watching, closes the socket and forgets the vassal', () => {
  const r = rig({}, '/run/app.socket');
  const socket = new FakeOnDemandSocket();
  r.vassal.awaitConnection(socket);
  r.vassal.fileChanged({ ...FILE, mtimeMs: 2000 });
  assert.equal(r.vassal.state, 'on-demand', 'a touched file is read at the next start');
  r.vassal.stop();
  assert.equal(r.vassal.state, 'dead');
  assert.equal(socket.watched, false);
  assert.equal(socket.closed, true);
  assert.deepEqual(r.gone, [r.vassal]);
});

test('on demand: a file removed while its vassal returns to on-demand ends dead, not waiting', () => {
  const r = rig({}, '/run/app.socket');
  const socket = new FakeOnDemandSocket();
  r.vassal.awaitConnection(socket);
  socket.connect();
  const p = r.last();
  comeUp(p);
  p.events.onByte(TO_EMPEROR.voluntaryStop);
  r.vassal.stop();
  p.events.onExit(0, null);
  assert.equal(r.vassal.state, 'dead');
  assert.equal(socket.closed, true);
});
