/**
 * The master's side of worker output: lines assembled from pieces, relayed
 * whole, and what each worker is told about the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { LineAssembler } from '../../src/logging/line-assembler';
import { OutputRelay } from '../../src/logging/output-relay';
import { MasterLog } from '../../src/logging/master-log';
import type { LogOutputPlan } from '../../src/logging/plan';
import type { LogSink } from '../../src/logging/sink';

const text = (b: Buffer | undefined): string | undefined => b?.toString('latin1');

test('pieces are held until their newline; several lines come out as one buffer', () => {
  const a = new LineAssembler();
  assert.equal(a.push(Buffer.from('hel')), undefined);
  assert.equal(a.push(Buffer.from('lo wor')), undefined);
  assert.equal(text(a.push(Buffer.from('ld\nsecond\nthi'))), 'hello world\nsecond\n');
  assert.equal(a.buffered, 3);
  assert.equal(text(a.push(Buffer.from('rd\n'))), 'third\n');
  assert.equal(a.buffered, 0);
  assert.equal(a.push(Buffer.alloc(0)), undefined);
  assert.equal(a.end(), undefined);
});

test('an unterminated line is finished at the end of the stream, and cut at the size limit', () => {
  const a = new LineAssembler(8);
  assert.equal(a.push(Buffer.from('abc')), undefined);
  assert.equal(text(a.end()), 'abc\n');
  assert.equal(a.push(Buffer.from('12345')), undefined);
  assert.equal(text(a.push(Buffer.from('6789'))), '123456789\n', 'past 8 bytes the line is cut with a newline');
  assert.equal(a.buffered, 0);
  // A complete line longer than the limit is never cut.
  assert.equal(text(a.push(Buffer.from('0123456789abcdef\n'))), '0123456789abcdef\n');
});

test('held pieces are copies: the stream may reuse its buffer', () => {
  const a = new LineAssembler();
  const chunk = Buffer.from('partial');
  a.push(chunk);
  chunk.fill(0x2d);
  assert.equal(text(a.push(Buffer.from('!\n'))), 'partial!\n');
});

/** A sink that records each write call, so "one write per batch of whole lines" is visible. */
function recorder(): { sink: LogSink; writes: string[] } {
  const writes: string[] = [];
  const sink: LogSink = {
    write: (line) => void writes.push(line),
    writeLines: (data) => void writes.push(data.toString('latin1')),
    reopen: () => {},
    close: () => {},
  };
  return { sink, writes };
}

test('two streams written in pieces, interleaved in time, reach the log as whole lines', async () => {
  const out = recorder();
  const err = recorder();
  const relay = new OutputRelay(
    () => out.sink,
    () => err.sink,
  );
  const w1 = { stdout: new PassThrough(), stderr: new PassThrough() };
  const w2 = { stdout: new PassThrough(), stderr: null };
  relay.attach(w1);
  relay.attach(w2);
  assert.equal(relay.active, 3);
  w1.stdout.write('one-a');
  w2.stdout.write('two-a');
  w1.stdout.write('one-b\n');
  w2.stdout.write('two-b\ntwo-c');
  w1.stderr.write('oops\n');
  const drained = relay.drain(5000);
  w1.stdout.end();
  w1.stderr.end();
  w2.stdout.end();
  await drained;
  assert.equal(relay.active, 0);
  assert.deepEqual(out.writes, ['one-aone-b\n', 'two-atwo-b\n', 'two-c\n']);
  assert.deepEqual(err.writes, ['oops\n']);
});

test('drain gives up after its timeout when a stream never ends', async () => {
  const relay = new OutputRelay(
    () => recorder().sink,
    () => recorder().sink,
  );
  relay.attach({ stdout: new PassThrough(), stderr: null });
  const started = Date.now();
  await relay.drain(50);
  assert.ok(Date.now() - started < 2000);
  assert.equal(relay.active, 1);
});

const PLAN: LogOutputPlan = {
  logto: undefined,
  logto2: undefined,
  truncate: false,
  maxSize: 0,
  backupName: undefined,
  reopenOnReload: false,
  touchReopen: [],
  touchRotate: [],
};

test('what a worker is given: the master stderr by default, nothing but its pipe with --log-master', () => {
  const plain = new MasterLog(PLAN, false).forWorker(7);
  assert.deepEqual(plain, { stdout: 'pipe', stderr: 'pipe', extraFds: [2], target: { kind: 'fd', fd: 7 } });
  const viaMaster = new MasterLog(PLAN, true).forWorker(7);
  assert.deepEqual(viaMaster, { stdout: 'pipe', stderr: 'pipe', extraFds: [], target: { kind: 'master' } });
});

test('without a log file, reopen, rotate and the once-a-second check never tell the workers anything', () => {
  const log = new MasterLog({ ...PLAN, maxSize: 1, reopenOnReload: true }, false);
  let told = 0;
  const tell = (): void => void told++;
  log.reopen(tell);
  log.rotate(tell);
  log.tick(tell);
  log.reloading(tell);
  assert.equal(told, 0);
});
