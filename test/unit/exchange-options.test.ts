// Issue 10: options on the worker's request/response path, parsed from a real
// configuration; the lines logged when a client leaves mid-response; how
// request bodies are buffered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { BodyCollector } from '../../src/worker/body';
import { DEFAULT_SPOOL_AT, addedHeaderBlock, exchangeOptionsFrom } from '../../src/worker/exchange-options';
import { writeErrorLines } from '../../src/worker/write-errors';

const optionsOf = (...argv: string[]) => exchangeOptionsFrom(loadConfig(argv, {}, '/').options);

test('defaults: keep-alive on, bodies from 1 MiB + 1 spooled, nothing added or removed, every write-error line on', () => {
  const o = optionsOf();
  assert.deepEqual(o, {
    addHeaders: [], delHeaders: [], ignoreSigpipe: false, ignoreWriteErrors: false, disableWriteException: false,
    spoolAtBytes: DEFAULT_SPOOL_AT, spoolWriteBytes: 8192, keepAlive: true, keepAliveIdleSeconds: 0,
    bodyBudgetBytes: 64 << 20, bodyMinRate: 500, bodyGraceMs: 20_000, headerTimeoutMs: 20_000,
  });
});

test('body budget, minimum body rate, grace and header deadline are read from their options', () => {
  const o = optionsOf('--body-buffer-budget', '1048576', '--body-min-rate', '0', '--body-grace', '5', '--header-timeout', '7');
  assert.equal(o.bodyBudgetBytes, 1 << 20);
  assert.equal(o.bodyMinRate, 0);
  assert.equal(o.bodyGraceMs, 5000);
  assert.equal(o.headerTimeoutMs, 7000);
});

test('add-header lines are kept in order as "Name: value"; del-header names are matched in lower case', () => {
  const o = optionsOf('--add-header', 'X-Frame-Options:DENY', '--add-header', 'Strict-Transport-Security: max-age=63072000; includeSubDomains', '--del-header', 'X-Powered-By', '--rem-header', 'server');
  assert.deepEqual(o.addHeaders, ['X-Frame-Options: DENY', 'Strict-Transport-Security: max-age=63072000; includeSubDomains']);
  assert.deepEqual(o.delHeaders, ['x-powered-by', 'server']);
  assert.equal(addedHeaderBlock(o), 'X-Frame-Options: DENY\r\nStrict-Transport-Security: max-age=63072000; includeSubDomains\r\n');
});

test('an add-header that is not a header line is refused at startup, naming it', () => {
  for (const bad of ['no colon here', ': empty name', 'Bad Name: x', 'X-Split: a\r\nInjected: 1']) {
    assert.throws(() => optionsOf('--add-header', bad), (err: Error) => err.message.includes(`add-header "${bad}" is not a "Name: value" header line`));
  }
});

test('post-buffering sets where bodies spill (>= N, as uWSGI); the write size is never below it', () => {
  assert.deepEqual(pick(optionsOf('--post-buffering', '65536')), { spoolAtBytes: 65536, spoolWriteBytes: 65536 });
  assert.deepEqual(pick(optionsOf('--post-buffering', '4096', '--post-buffering-bufsize', '16384')), { spoolAtBytes: 4096, spoolWriteBytes: 16384 });
  assert.deepEqual(pick(optionsOf('--post-buffering-bufsize', '32768')), { spoolAtBytes: DEFAULT_SPOOL_AT, spoolWriteBytes: 32768 });
});

function pick(o: ReturnType<typeof optionsOf>): { spoolAtBytes: number; spoolWriteBytes: number } {
  return { spoolAtBytes: o.spoolAtBytes, spoolWriteBytes: o.spoolWriteBytes };
}

test('http-keepalive: bare or 1 keeps the default, N > 1 is the idle timeout, 0 turns keep-alive off', () => {
  const ka = (...argv: string[]) => {
    const o = optionsOf(...argv);
    return [o.keepAlive, o.keepAliveIdleSeconds];
  };
  assert.deepEqual(ka('--http-keepalive'), [true, 0]);
  assert.deepEqual(ka('--http-keepalive=1'), [true, 0]);
  assert.deepEqual(ka('--http-keepalive=5'), [true, 5]);
  assert.deepEqual(ka('--http-keepalive=0'), [false, 0]);
});

const REQ = { method: 'GET', uri: '/stream?x=1', remoteAddr: '127.0.0.1' };
const NONE = { ignoreSigpipe: false, ignoreWriteErrors: false, disableWriteException: false };

test('a client gone with EPIPE: uWSGI\'s three lines, each silenced by its own option', () => {
  const text = (policy: typeof NONE) => writeErrorLines(policy, REQ, 'EPIPE', 'uwsgi_response_write_body_do').map((l) => `${l.verbose ? 'V ' : ''}${l.text}`);
  assert.deepEqual(text(NONE), [
    'V SIGPIPE: writing to a closed pipe/socket/fd (probably the client disconnected) on request /stream?x=1 (ip 127.0.0.1) !!!\n',
    'V uwsgi_response_write_body_do(): Broken pipe during GET /stream?x=1 (127.0.0.1)\n',
    'OSError: write error\n',
  ]);
  assert.equal(text({ ...NONE, ignoreSigpipe: true }).length, 2);
  assert.deepEqual(text({ ...NONE, ignoreSigpipe: true, ignoreWriteErrors: true }), ['OSError: write error\n']);
  assert.deepEqual(text({ ignoreSigpipe: true, ignoreWriteErrors: true, disableWriteException: true }), []);
});

test('a reset has no SIGPIPE line; a file names sendfile; a stalled client is uWSGI\'s TIMEOUT line', () => {
  assert.deepEqual(writeErrorLines(NONE, REQ, 'ECONNRESET', 'uwsgi_response_sendfile_do').map((l) => l.text), [
    'uwsgi_response_sendfile_do(): Connection reset by peer during GET /stream?x=1 (127.0.0.1)\n',
    'OSError: write error\n',
  ]);
  assert.deepEqual(writeErrorLines({ ...NONE, disableWriteException: true }, REQ, 'ETIMEDOUT', 'uwsgi_response_write_body_do').map((l) => l.text), [
    'uwsgi_response_write_body_do() TIMEOUT !!!\n',
  ]);
});

test('a body below the threshold stays in memory; at the threshold it is spooled, whole and in order', () => {
  const small = new BodyCollector({ spoolAtBytes: 10, spoolWriteBytes: 8192 });
  small.push(Buffer.from('123456789'));
  assert.deepEqual(small.finish(), Buffer.from('123456789'));
  assert.equal(small.spooled, false);

  const big = new BodyCollector({ spoolAtBytes: 10, spoolWriteBytes: 8192 });
  const input = Buffer.alloc(100_000);
  for (let i = 0; i < input.length; i++) input[i] = i % 251;
  for (let off = 0; off < input.length; off += 100) big.push(input.subarray(off, off + 100));
  const out = big.finish();
  assert.equal(big.spooled, true);
  assert.ok(out !== null && !Buffer.isBuffer(out));
  assert.deepEqual(readFileSync(out.spooledPath), input);
  // 100-byte pieces gathered into writes of at least 8 KiB: 12 writes (the last one short), not 1000.
  assert.equal(big.spoolWrites, Math.ceil(input.length / 8200));
  big.dispose();
  assert.throws(() => readFileSync(out.spooledPath), /ENOENT/);
});

test('the spool copies what it gathers: the parser may reuse its input buffer', () => {
  const body = new BodyCollector({ spoolAtBytes: 1, spoolWriteBytes: 1024 });
  const reused = Buffer.from('aaaa');
  body.push(reused);
  reused.fill('b');
  body.push(reused);
  const out = body.finish() as { spooledPath: string };
  assert.equal(readFileSync(out.spooledPath, 'latin1'), 'aaaabbbb');
  body.dispose();
});
