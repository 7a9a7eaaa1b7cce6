/**
 * The default request line and --logformat-json. Expected default lines are
 * uWSGI 2.0.21's, captured with (machine zone UTC; app.py serves /fw through
 * wsgi.file_wrapper, 1007 bytes):
 *
 *   uwsgi --plugin python3 --die-on-term --http-socket 127.0.0.1:9303 --wsgi-file app.py \
 *     --log-micros --log-x-forwarded-for --log-date
 *   curl .../fw; curl -H 'X-Forwarded-For: 1.2.3.4, 5.6.7.8' .../x
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
process.env['TZ'] = 'UTC';
import { compileDefaultLine } from '../../src/logging/default-line';
import { compileJsonLine } from '../../src/logging/json-line';
import { lookupVar, type RequestLogRecordV2 } from '../../src/logging/record';
import { formatRequestLog } from '../../src/worker/access-log';

const START_US = 1795474823_000_000; // Mon Nov 23 23:00:23 2026 UTC

function record(over: Partial<RequestLogRecordV2> = {}, vars: Array<[string, string]> = []): RequestLogRecordV2 {
  return {
    pid: 6878, appId: 0, appRequests: 2, workerRequests: 2, remoteAddr: '127.0.0.1', remoteUser: '',
    varsCount: 24, varsBytes: 248, startedAtMs: START_US / 1000, method: 'GET', uri: '/fw',
    bodyBytes: 1007, durationMs: 0.325, protocol: 'HTTP/1.1', status: 200, headerCount: 1, headerBytes: 45,
    host: '127.0.0.1:9303', userAgent: 'curl/7.88.1', referer: '', workerId: 1, contentLength: 0,
    requestVar: (name) => lookupVar(vars, name), startedAtUs: START_US, durationUs: 325,
    modifier1: 0, modifier2: 0, switches: 0, core: 0, via: 'sendfile', readErrors: 0, writeErrors: 0,
    ...over,
  };
}

test('--log-micros, sendfile and X-Forwarded-For lines match uWSGI', () => {
  const line = compileDefaultLine({ micros: true, logXForwardedFor: true });
  assert.equal(
    line(record()),
    '[pid: 6878|app: 0|req: 2/2] 127.0.0.1 () {24 vars in 248 bytes} [Mon Nov 23 23:00:23 2026] GET /fw => ' +
      'generated 1007 bytes in 325 micros via sendfile() (HTTP/1.1 200) 1 headers in 45 bytes (0 switches on core 0)\n',
  );
  const proxied = record(
    { appRequests: 3, workerRequests: 3, varsCount: 26, varsBytes: 286, uri: '/x', bodyBytes: 11, durationUs: 206, headerCount: 2, headerBytes: 53, switches: 1, via: undefined },
    [['HTTP_X_FORWARDED_FOR', '1.2.3.4, 5.6.7.8']],
  );
  assert.equal(
    line(proxied),
    '[pid: 6878|app: 0|req: 3/3] 1.2.3.4, 5.6.7.8 () {26 vars in 286 bytes} [Mon Nov 23 23:00:23 2026] GET /x => ' +
      'generated 11 bytes in 206 micros (HTTP/1.1 200) 2 headers in 53 bytes (1 switches on core 0)\n',
  );
});

test('--memory-report prefixes the line', () => {
  // uwsgi ... --memory-report: the /__warm request
  const r = record({ pid: 15999, appRequests: 1, workerRequests: 1, varsBytes: 256, uri: '/__warm', bodyBytes: 11, durationUs: 300, headerCount: 2, headerBytes: 53, switches: 1, via: undefined, rss: 16748544, vsz: 60817408, startedAtUs: 1795475386_000_000 });
  assert.equal(
    compileDefaultLine({ memoryReport: true })(r),
    '{address space usage: 60817408 bytes/58MB} {rss usage: 16748544 bytes/15MB} [pid: 15999|app: 0|req: 1/1] 127.0.0.1 () ' +
      '{24 vars in 256 bytes} [Mon Nov 23 23:09:46 2026] GET /__warm => generated 11 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 53 bytes (1 switches on core 0)\n',
  );
});

test('without the new options the line is the worker formatRequestLog line, byte for byte', () => {
  const r = record({ via: undefined, switches: 1, durationUs: 4700, durationMs: 4.7, remoteUser: 'bob', protocol: '' });
  assert.equal(compileDefaultLine()(r), formatRequestLog(r));
});

test('a line above 4096 bytes becomes uWSGI\'s minimal line', () => {
  const r = record({ uri: '/' + 'a'.repeat(5000), via: undefined, switches: 1, durationUs: 2000 });
  assert.equal(
    compileDefaultLine()(r),
    '[pid: 6878|app: 0|req: 2/2] 0.0.0.0 () {24 vars in 248 bytes} [Mon Nov 23 23:00:23 2026] - - => ' +
      'generated 1007 bytes in 2 msecs (- 200) 1 headers in 45 bytes (1 switches on core 0)\n',
  );
});

test('--logformat-json: stable keys in a fixed order, ASCII only', () => {
  const r = record(
    { remoteUser: 'bob', uri: '/caf\xc3\xa9?q="x"', userAgent: 'UA \xff', referer: 'http://r/', contentLength: 6, readErrors: 1 },
    [['HTTP_X_FORWARDED_FOR', '9.9.9.9']],
  );
  const text = compileJsonLine({ logXForwardedFor: true })(r);
  assert.ok(text.endsWith('}\n'));
  assert.equal(text.indexOf('\n'), text.length - 1);
  assert.ok([...text].every((c) => c.charCodeAt(0) < 0x80), text);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [
    'timestamp', 'tmicros', 'pid', 'wid', 'app', 'app_req', 'req', 'addr', 'user', 'method', 'uri', 'proto', 'status',
    'rsize', 'hsize', 'size', 'headers', 'cl', 'micros', 'msecs', 'host', 'uagent', 'referer', 'vars', 'pktsize',
    'switches', 'core', 'rerr', 'werr', 'via',
  ]);
  assert.equal(parsed['timestamp'], '2026-11-23T23:00:23.000Z');
  assert.equal(parsed['tmicros'], START_US);
  assert.equal(parsed['addr'], '9.9.9.9');
  assert.equal(parsed['uri'], '/café?q="x"'); // the UTF-8 bytes decoded
  assert.equal(parsed['uagent'], 'UA \ufffd'); // a stray byte is U+FFFD
  assert.equal(parsed['size'], 1052);
  assert.equal(parsed['via'], 'sendfile');
  const plain = JSON.parse(compileJsonLine()(record({ via: undefined, startedAtUs: 1795474776262626 }))) as Record<string, unknown>;
  assert.equal(plain['via'], null);
  assert.equal(plain['timestamp'], '2026-11-23T22:59:36.262Z');
  assert.equal(plain['addr'], '127.0.0.1');
});
