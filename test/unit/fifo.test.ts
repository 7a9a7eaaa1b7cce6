import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIFO_COMMANDS, MasterFifo, parseFifoInput, type FifoHandlers } from '../../src/master/fifo';
import { makeTempDir } from '../helpers/tmp';
import { eventually } from '../helpers/load';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Polls until `check` passes or the deadline: FIFO reads arrive asynchronously. */
function recorder(): { calls: string[]; handlers: FifoHandlers } {
  const calls: string[] = [];
  const handlers: FifoHandlers = {};
  for (const name of Object.values(FIFO_COMMANDS)) handlers[name] = () => calls.push(name);
  return { calls, handlers };
}

test('every uWSGI 2.0 fifo command maps to a handler', () => {
  assert.deepEqual(Object.keys(FIFO_COMMANDS).sort(), ['+', '-', 'B', 'C', 'E', 'L', 'P', 'Q', 'R', 'S', 'W', 'c', 'f', 'l', 'p', 'q', 'r', 's', 'w'].sort());
});

test('parser: one action per byte, several commands per write, digits select slots', () => {
  assert.deepEqual(parseFifoInput(bytes('+++s\n')), [
    { kind: 'command', char: '+', handler: 'addWorker' },
    { kind: 'command', char: '+', handler: 'addWorker' },
    { kind: 'command', char: '+', handler: 'addWorker' },
    { kind: 'command', char: 's', handler: 'printStats' },
    { kind: 'ignored', byte: 10 },
  ]);
  assert.deepEqual(parseFifoInput(bytes('1r')), [
    { kind: 'slot', slot: 1 },
    { kind: 'command', char: 'r', handler: 'gracefulReload' },
  ]);
  assert.deepEqual(parseFifoInput(bytes('z\u00e9')), [
    { kind: 'ignored', byte: 0x7a },
    { kind: 'ignored', byte: 0xe9 },
  ]);
});

test('a real FIFO: commands dispatch in order, unknown bytes are silent, a writer closing is not EOF', async () => {
  const dir = makeTempDir('nuwsgi-fifo-');
  const path = join(dir, 'master.fifo');
  const { calls, handlers } = recorder();
  const logs: string[] = [];
  const fifo = MasterFifo.open({ paths: [path], handlers, log: (l) => logs.push(l) });
  try {
    assert.ok(statSync(path).isFIFO());
    assert.equal(statSync(path).mode & 0o777, 0o600 & ~process.umask());
    writeFileSync(path, '+++s\n');
    await eventually(() => {
      assert.deepEqual(calls, ['addWorker', 'addWorker', 'addWorker', 'printStats']);
      return true;
    }, 'the fifo command', 5000);
    writeFileSync(path, 'zq');
    await eventually(() => {
      assert.deepEqual(calls.slice(4), ['gracefulShutdown']);
      return true;
    }, 'the fifo command', 5000);
    assert.deepEqual(logs, []);
  } finally {
    fifo.close(true);
  }
  assert.equal(existsSync(path), false);
});

test('a missing handler is a no-op, a throwing one is logged and the next command still runs', () => {
  const calls: string[] = [];
  const logs: string[] = [];
  const handlers: FifoHandlers = {
    gracefulReload: () => {
      throw new Error('boom');
    },
    printStats: () => calls.push('s'),
  };
  const dir = makeTempDir('nuwsgi-fifo-');
  const fifo = MasterFifo.open({ paths: [join(dir, 'f')], handlers, log: (l) => logs.push(l) });
  try {
    fifo.handle(bytes('Wrs'));
    assert.deepEqual(calls, ['s']);
    assert.deepEqual(logs, ["master fifo command 'r' failed: boom"]);
  } finally {
    fifo.close();
  }
});

test('slots: a digit switches to that --master-fifo (the old file stays), an unknown slot falls back to the first', async () => {
  const dir = makeTempDir('nuwsgi-fifo-');
  const first = join(dir, 'a.fifo');
  const second = join(dir, 'b.fifo');
  const { calls, handlers } = recorder();
  const logs: string[] = [];
  const fifo = MasterFifo.open({ paths: [first, second], handlers, log: (l) => logs.push(l) });
  try {
    assert.equal(existsSync(second), false);
    writeFileSync(first, '1s');
    await eventually(() => {
      assert.deepEqual(calls, ['printStats']);
      return true;
    }, 'the fifo command', 5000);
    await eventually(() => {
      assert.equal(fifo.activePath, second);
      return true;
    }, 'the fifo command', 5000);
    assert.ok(statSync(second).isFIFO());
    assert.ok(statSync(first).isFIFO(), 'the old fifo is left for whoever reads it now');
    assert.match(logs[0] ?? '', /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - active master fifo is now .*b\.fifo$/);
    writeFileSync(second, 'w');
    await eventually(() => {
      assert.deepEqual(calls, ['printStats', 'gracefulWorkersReload']);
      return true;
    }, 'the fifo command', 5000);
    fifo.handle(bytes('7'));
    assert.equal(fifo.activePath, first);
    assert.match(logs[1] ?? '', /active master fifo is now .*a\.fifo$/);
  } finally {
    fifo.close();
  }
});

test('close() leaves the FIFO file in place, as uWSGI does on exit', () => {
  const dir = makeTempDir('nuwsgi-fifo-');
  const path = join(dir, 'f');
  MasterFifo.open({ paths: [path], handlers: {}, log: () => undefined }).close();
  assert.ok(statSync(path).isFIFO());
});

test('an existing file at the path is replaced by the FIFO, as uWSGI unlinks it first', () => {
  const dir = makeTempDir('nuwsgi-fifo-');
  const path = join(dir, 'f');
  writeFileSync(path, 'stale');
  const fifo = MasterFifo.open({ paths: [path], handlers: {}, log: () => undefined });
  try {
    assert.ok(statSync(path).isFIFO());
  } finally {
    fifo.close();
  }
});

test('a FIFO that cannot be created is a typed E_FIFO error', () => {
  assert.throws(
    () => MasterFifo.open({ paths: ['/nonexistent-dir-nuwsgi/f'], handlers: {}, log: () => undefined }),
    (err: unknown) => (err as { code?: string }).code === 'E_FIFO',
  );
});
