/**
 * Pluggable loggers, routes and encoders: parsing, the encoders' output and
 * the routing rules, against what Debian's uWSGI 2.0.21 did.
 *
 * The expected encoder lines were printed by
 *   uwsgi --plugin python3 --plugin logfile --http-socket ... --master --processes 1 --logger stdio \
 *     --log-encoder 'json {"unix":${unix},"t":"${strftime:%Y "%H"}","msg":"${msg}","nl":"${msgnl}"}' \
 *     --log-encoder 'format <${msg}> $x $${y} ${nope}|${millis}|${micros}|' --log-encoder nl
 * (TZ=UTC) for an app printing `say "hi"<TAB>to C:\dir ü`; the chain
 * json, nl, prefix PFX, suffix SFX printed `PFX{...}\nSFX` for each message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileEncoder, encodeFor, escapeJson, parseTemplate, type EncoderClock, type LogEncoder } from '../../src/logging/encoders';
import { parseEncoderSpec, parseKeyValues, parseLoggerSpec, parseRouteSpec } from '../../src/logging/logger-spec';
import { LogRouter, type RouterConfig } from '../../src/logging/log-router';
import { openLogger, parseRsyslogArg, parseSyslogArg, rsyslogPacket, syslogHeader, type Logger } from '../../src/logging/plugin-loggers';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NuwsgiError } from '../../src/util/errors';
import type { LogSink } from '../../src/logging/sink';

process.env['TZ'] = 'UTC';

const CLOCK: EncoderClock = { nowMs: () => 1796160544451, nowUs: () => 1796160544451846 };
const enc = (value: string): LogEncoder => compileEncoder('log-encoder', parseEncoderSpec(value), CLOCK);
/** An app's line as the master reads it: latin-1 string of its UTF-8 bytes. */
const bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

test('logger values: an optional alphanumeric name, the plugin, its arguments', () => {
  assert.deepEqual(parseLoggerSpec('file:/var/log/app.log'), { id: undefined, plugin: 'file', arg: '/var/log/app.log', source: 'file:/var/log/app.log' });
  assert.deepEqual(parseLoggerSpec('errs file:/var/log/e.log'), { id: 'errs', plugin: 'file', arg: '/var/log/e.log', source: 'errs file:/var/log/e.log' });
  assert.deepEqual(parseLoggerSpec('stdio'), { id: undefined, plugin: 'stdio', arg: undefined, source: 'stdio' });
  // "file:" has no argument, as uWSGI's empty-string check.
  assert.equal(parseLoggerSpec('file:').arg, undefined);
  assert.deepEqual(parseLoggerSpec('syslog:myapp,local3'), { id: undefined, plugin: 'syslog', arg: 'myapp,local3', source: 'syslog:myapp,local3' });
  // A name must be letters and digits only; otherwise the whole value is the plugin part.
  assert.equal(parseLoggerSpec('my-log file:/x').id, undefined);
  assert.equal(parseLoggerSpec('my-log file:/x').plugin, 'my-log file');
  // A space inside the arguments does not make a name.
  assert.deepEqual(parseLoggerSpec('file:/tmp/a b.log').arg, '/tmp/a b.log');
});

test('file logger key=value form: comma separated, backslash escapes', () => {
  const kv = parseKeyValues('logfile=/var/log/a\\,b.log,maxsize=2000000,backupname=/var/log/old.log');
  assert.equal(kv.get('logfile'), '/var/log/a,b.log');
  assert.equal(kv.get('maxsize'), '2000000');
  assert.equal(kv.get('backupname'), '/var/log/old.log');
  assert.equal(parseKeyValues('maxsize=5').get('logfile'), undefined);
});

test('log-route values: name, space, regular expression; bad ones are configuration errors', () => {
  const r = parseRouteSpec('log-route', 'errs Traceback|Error .*$');
  assert.equal(r.id, 'errs');
  assert.ok(r.pattern.test('Error in app'));
  assert.throws(() => parseRouteSpec('log-route', 'errs'), (e: unknown) => e instanceof NuwsgiError && e.code === 'E_CONFIG');
  assert.throws(() => parseRouteSpec('log-route', 'errs ('), /log-route: invalid regular expression '\('/);
});

test('encoder values: name, optional :logger scope, arguments after the first space', () => {
  assert.deepEqual(parseEncoderSpec('json {"msg":"${msg}"}'), { name: 'json', useFor: undefined, args: '{"msg":"${msg}"}' });
  assert.deepEqual(parseEncoderSpec('json:errs {"a":1}'), { name: 'json', useFor: 'errs', args: '{"a":1}' });
  assert.deepEqual(parseEncoderSpec('nl'), { name: 'nl', useFor: undefined, args: '' });
  assert.deepEqual(parseEncoderSpec('prefix  two spaces'), { name: 'prefix', useFor: undefined, args: ' two spaces' });
  assert.throws(() => enc('nope x'), /log encoder "nope" not found/);
  assert.throws(() => enc('gzip'), /gzip encoder is not available/);
});

test('json, format and nl encoders: the bytes uWSGI 2.0.21 wrote', () => {
  const chain = [
    enc('json {"unix":${unix},"t":"${strftime:%Y "%H"}","msg":"${msg}","nl":"${msgnl}"}'),
    enc('format <${msg}> $x $${y} ${nope}|${millis}|${micros}|'),
    enc('nl'),
  ];
  const out = encodeFor(chain, undefined, bytes('say "hi"\tto C:\\dir ü\n'));
  const expected =
    '<{"unix":1796160544,"t":"2026 \\"21\\"","msg":"say \\"hi\\"\\tto C:\\\\dir ü","nl":"say \\"hi\\"\\tto C:\\\\dir ü\\n"}> $x $${y} |1796160544451|1796160544451846|\n';
  assert.equal(Buffer.from(out, 'latin1').toString('utf8'), expected);
});

test('prefix and suffix wrap the message as it is; no newline is added by json', () => {
  const chain = [enc('json {"unix":${unix}, "msg":"${msg}"}'), enc('nl'), enc('prefix PFX'), enc('suffix SFX')];
  assert.equal(encodeFor(chain, undefined, 'worker 1 buried after 1 seconds\n'), 'PFX{"unix":1796160544, "msg":"worker 1 buried after 1 seconds"}\nSFX');
  assert.equal(encodeFor([enc('json {"m":"${msg}"}')], undefined, 'x\n'), '{"m":"x"}');
});

test('scoped encoders apply only to the logger of that name, never to unnamed ones', () => {
  const chain = [enc('prefix:errs E:'), enc('prefix A:')];
  assert.equal(encodeFor(chain, 'errs', 'm\n'), 'A:E:m\n');
  assert.equal(encodeFor(chain, 'other', 'm\n'), 'A:m\n');
  assert.equal(encodeFor(chain, undefined, 'm\n'), 'A:m\n');
});

test('templates are cut as uWSGI cuts them', () => {
  assert.deepEqual(parseTemplate('a${msg}b'), [{ text: 'a' }, { variable: 'msg' }, { text: 'b' }]);
  assert.deepEqual(parseTemplate('$x$'), [{ text: '$x$' }]);
  assert.deepEqual(parseTemplate('ab${unclosed'), [{ text: 'ab${u' }]);
  assert.deepEqual(parseTemplate('${unclosed'), []);
  assert.equal(escapeJson('a"b\\c\td\re\nf/g'), 'a\\"b\\\\c\\td\\re\\nf/g');
});

test('syslog: "<PRI>Mmm dd hh:mm:ss IDENT: " as glibc sent it for uWSGI', () => {
  // uWSGI --logger syslog:myapp,local3 sent b'<158>Dec  1 21:25:53 myapp: *** Starting uWSGI ...\n'
  assert.equal(syslogHeader(parseSyslogArg('logger', 'myapp,local3'))(Date.UTC(2026, 11, 1, 21, 25, 53)), '<158>Dec  1 21:25:53 myapp: ');
  // Without arguments: ident "uwsgi", facility daemon (<30> = daemon.info).
  assert.equal(syslogHeader(parseSyslogArg('logger', undefined))(Date.UTC(2026, 10, 23, 9, 5, 7)), '<30>Nov 23 09:05:07 uwsgi: ');
  assert.deepEqual(parseSyslogArg('logger', 'app'), { ident: 'app', facility: 3 });
  assert.throws(() => parseSyslogArg('logger = syslog:app,local8', 'app,local8'), /unknown syslog facility 'local8'/);
});

/** A logger that keeps what it is given (the router's unit under test is the choice, not the writing). */
function memoryLogger(id: string | undefined): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { id, lines, write: (msg) => void lines.push(msg.toString('latin1')), reopen: () => {}, close: () => {} };
}

function memorySink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (l) => void lines.push(l), writeLines: (d) => void lines.push(d.toString('latin1')), reopen: () => {}, close: () => {} };
}

function router(cfg: Partial<RouterConfig>, fallback: LogSink): LogRouter {
  const empty: RouterConfig = { loggers: [], reqLoggers: [], routes: [], reqRoutes: [], drain: [], filter: [], encoders: [], reqEncoders: [] };
  return new LogRouter({ ...empty, ...cfg }, () => fallback);
}

test('routing: a routed line goes only to its named logger(s), once per matching route; others to the unnamed loggers', () => {
  const plain = memoryLogger(undefined);
  const spawn = memoryLogger('sp');
  const reqs = memoryLogger('reqs');
  const out = memorySink();
  const r = router(
    {
      loggers: [plain, spawn, reqs],
      routes: [
        { pattern: /GET/, logger: reqs },
        { pattern: /spawned/, logger: spawn },
        { pattern: /worker 1/, logger: spawn },
      ],
    },
    out,
  );
  r.general.writeLines(Buffer.from('spawned worker 1\nGET /x\nhello\n'));
  r.general.write('no newline');
  // uWSGI wrote "spawned uWSGI worker 1 (pid: ...)" twice to the logger both routes name.
  assert.deepEqual(spawn.lines, ['spawned worker 1\n', 'spawned worker 1\n']);
  assert.deepEqual(reqs.lines, ['GET /x\n']);
  assert.deepEqual(plain.lines, ['hello\n', 'no newline\n']);
  assert.deepEqual(out.lines, []);
});

test('routing: without unnamed loggers, unrouted lines go to the default output (through the encoders)', () => {
  const named = memoryLogger('n');
  const out = memorySink();
  const r = router({ loggers: [named], routes: [{ pattern: /^x$/, logger: named }], encoders: [enc('prefix P:')] }, out);
  r.general.writeLines(Buffer.from('x\ny\n'));
  assert.deepEqual(named.lines, ['P:x\n']);
  assert.deepEqual(out.lines, ['P:y\n']);
});

test('log-drain drops, log-filter keeps only matches; neither applies to request lines', () => {
  const plain = memoryLogger(undefined);
  const req = memoryLogger(undefined);
  const r = router({ loggers: [plain], reqLoggers: [req], drain: [/secret/], filter: [/keep/] }, memorySink());
  r.general.writeLines(Buffer.from('keep me\nkeep secret\nother\n'));
  r.requests.writeLines(Buffer.from('GET /secret\n'));
  assert.deepEqual(plain.lines, ['keep me\n']);
  assert.deepEqual(req.lines, ['GET /secret\n']);
});

test('request lines: req-loggers, log-req-route and log-req-encoder; the general encoders stay out', () => {
  const general = memoryLogger(undefined);
  const req = memoryLogger(undefined);
  const slow = memoryLogger('slow');
  const r = router(
    {
      loggers: [general],
      reqLoggers: [req, slow],
      reqRoutes: [{ pattern: /in \d{4,} msecs/, logger: slow }],
      encoders: [enc('prefix G:')],
      reqEncoders: [enc('prefix R:')],
    },
    memorySink(),
  );
  r.requests.writeLines(Buffer.from('GET /a in 3 msecs\nGET /b in 12000 msecs\n'));
  r.general.write('started');
  assert.deepEqual(req.lines, ['R:GET /a in 3 msecs\n']);
  assert.deepEqual(slow.lines, ['R:GET /b in 12000 msecs\n']);
  assert.deepEqual(general.lines, ['G:started\n']);
});

test('bytes outside ASCII pass through unchanged', () => {
  const plain = memoryLogger(undefined);
  const r = router({ loggers: [plain], encoders: [enc('json {"m":"${msg}"}'), enc('nl')] }, memorySink());
  r.general.writeLines(Buffer.from([0x47, 0xff, 0xc3, 0xbc, 0x0a]));
  assert.deepEqual(Buffer.from(plain.lines[0]!, 'latin1'), Buffer.from([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0x22, 0x47, 0xff, 0xc3, 0xbc, 0x22, 0x7d, 0x0a]));
});

test('file logger: key=value form rotates past maxsize; reopen follows the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-loggers-'));
  try {
    const ctx = { cwd: dir, stdout: () => memorySink(), env: {}, warn: () => {} };
    const rotating = await openLogger('logger', parseLoggerSpec('file:logfile=r.log,maxsize=20,backupname=r.old'), ctx);
    rotating.write(Buffer.from('0123456789\n'));
    rotating.write(Buffer.from('0123456789\n')); // 22 bytes: past 20, rotated after this write
    rotating.write(Buffer.from('fresh\n'));
    rotating.close();
    assert.match(readFileSync(join(dir, 'r.old'), 'utf8'), /^0123456789\n0123456789\n.* - logsize: 22, triggering rotation to .*r\.old\.\.\.\n$/);
    assert.equal(readFileSync(join(dir, 'r.log'), 'utf8'), 'fresh\n');

    const plain = await openLogger('logger', parseLoggerSpec('file:p.log'), ctx);
    plain.write(Buffer.from('one\n'));
    renameSync(join(dir, 'p.log'), join(dir, 'p.log.1'));
    plain.reopen();
    plain.write(Buffer.from('two\n'));
    plain.close();
    assert.equal(readFileSync(join(dir, 'p.log.1'), 'utf8'), 'one\n');
    assert.equal(readFileSync(join(dir, 'p.log'), 'utf8'), 'two\n');
    await assert.rejects(openLogger('logger', parseLoggerSpec('file:maxsize=3'), ctx), /missing logfile key/);
    await assert.rejects(openLogger('logger', parseLoggerSpec('file:'), ctx), /the file logger needs a path/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('socket logger over UDP: one datagram per message, the prefix in front', async () => {
  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((r) => server.once('message', r));
  const logger = await openLogger('logger', parseLoggerSpec(`socket:127.0.0.1:${server.address().port},PFX `), { cwd: '/', stdout: () => memorySink(), env: {}, warn: () => {} });
  logger.write(Buffer.from('hello\n'));
  assert.equal((await got).toString(), 'PFX hello\n');
  logger.close();
  server.close();
});

test('stdio writes to the master standard output; fd:N to that descriptor', async () => {
  const out = memorySink();
  const stdio = await openLogger('logger', parseLoggerSpec('stdio'), { cwd: '/', stdout: () => out, env: {}, warn: () => {} });
  stdio.write(Buffer.from('x\n'));
  assert.deepEqual(out.lines, ['x\n']);
  await assert.rejects(openLogger('logger', parseLoggerSpec('fd:'), { cwd: '/', stdout: () => out, env: {}, warn: () => {} }), /needs a descriptor number/);
});

test('rsyslog: the packet uWSGI 2.0.21 sent, cut at 1024 bytes instead of dropped', async () => {
  // uwsgi --plugin rsyslog --logger rsyslog:127.0.0.1:5515,myprefix,134 sent
  // b'<134>Dec  1 21:57:41 myprefix: *** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:57:41 2026] ***'
  const f = parseRsyslogArg('127.0.0.1:5515,myprefix,134');
  assert.deepEqual(f, { address: '127.0.0.1:5515', prefix: 'myprefix', pri: 134 });
  const at = Date.UTC(2026, 11, 1, 21, 57, 41);
  const line = Buffer.from('*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:57:41 2026] ***\n');
  assert.equal(rsyslogPacket(f)(at, line).toString(), '<134>Dec  1 21:57:41 myprefix: *** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:57:41 2026] ***');
  // Without a prefix: "<29>... HOSTNAME uwsgi: " (uWSGI on host "vm": b'<29>Dec  1 21:57:39 vm uwsgi: ...').
  assert.equal(parseRsyslogArg('loghost').prefix, `${hostname()} uwsgi`);
  assert.equal(parseRsyslogArg('loghost').pri, 29);
  assert.equal(rsyslogPacket(f)(at, Buffer.alloc(2000, 0x4c)).length, 1024);

  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((r) => server.once('message', r));
  const logger = await openLogger('logger', parseLoggerSpec(`rsyslog:127.0.0.1:${server.address().port},app`), { cwd: '/', stdout: () => memorySink(), env: {}, warn: () => {} });
  logger.write(Buffer.from('hello\n'));
  assert.match((await got).toString(), /^<29>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d app: hello$/);
  logger.close();
  server.close();
});

test('syslog with nobody listening: the first lost line is reported once, to the default output', async () => {
  const warnings: string[] = [];
  const env = { NUWSGI_TEST_SYSLOG_SOCKET: '/nonexistent-dir/log.sock' };
  const logger = await openLogger('logger', parseLoggerSpec('syslog:app'), { cwd: '/', stdout: () => memorySink(), env, warn: (l) => void warnings.push(l) });
  logger.write(Buffer.from('one\n'));
  logger.write(Buffer.from('two\n'));
  logger.close();
  assert.deepEqual(warnings, ['logger = syslog:app: cannot send to /nonexistent-dir/log.sock (errno 2): lines are lost until it answers']);
});
