/**
 * --disable-logging and the options that re-enable some lines. The cases are
 * the ones run against uWSGI 2.0.21 (app.py: /status/N answers N with 5 bytes,
 * /empty 0 bytes, /big 5000 bytes, /slow sleeps 0.3 s, /fw is a 1007-byte
 * wsgi.file_wrapper response):
 *
 *   uwsgi ... --disable-logging --log-4xx          -> only /status/404
 *   uwsgi ... -L --log-5xx --log-zero              -> /status/503 and /empty
 *   uwsgi ... -L --log-slow 300 --log-big 1007     -> /big, /slow (300 ms) and /fw (1007 bytes): both tests are >=
 *   uwsgi ... -L --log-sendfile 1                  -> only /fw
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canLogAnyRequest, logAddress, shouldLogRequest, type RequestLogFilter } from '../../src/logging/filters';
import { lookupVar, type RequestLogRecordV2 } from '../../src/logging/record';

const OFF: RequestLogFilter = { enabled: false, log4xx: false, log5xx: false, slowMs: 0, bigBytes: 0, zero: false, sendfile: false, ioError: false };

// Filters read a handful of fields; the rest of the record does not matter here.
function req(path: string, over: Partial<RequestLogRecordV2> = {}): RequestLogRecordV2 {
  const byPath: Record<string, Partial<RequestLogRecordV2>> = {
    '/status/404': { status: 404, bodyBytes: 5 },
    '/status/503': { status: 503, bodyBytes: 5 },
    '/status/302': { status: 302, bodyBytes: 5 },
    '/empty': { bodyBytes: 0 },
    '/big': { bodyBytes: 5000 },
    '/slow': { bodyBytes: 11, durationUs: 300_412 },
    '/fw': { bodyBytes: 1007, via: 'sendfile', switches: 0 },
  };
  const vars: Array<[string, string]> = [];
  const base = { uri: path, status: 200, bodyBytes: 11, durationUs: 250, readErrors: 0, writeErrors: 0, remoteAddr: '127.0.0.1', requestVar: (n: string) => lookupVar(vars, n) };
  return { ...base, ...byPath[path], ...over } as RequestLogRecordV2;
}

const PATHS = ['/status/404', '/status/503', '/status/302', '/empty', '/big', '/slow', '/fw'];
const logged = (f: RequestLogFilter): string[] => PATHS.filter((p) => shouldLogRequest(f, req(p)));

test('the re-enabling options log what uWSGI logged', () => {
  assert.deepEqual(logged({ ...OFF, log4xx: true }), ['/status/404']);
  assert.deepEqual(logged({ ...OFF, log5xx: true, zero: true }), ['/status/503', '/empty']);
  assert.deepEqual(logged({ ...OFF, slowMs: 300, bigBytes: 1007 }), ['/big', '/slow', '/fw']);
  assert.deepEqual(logged({ ...OFF, sendfile: true }), ['/fw']);
  assert.deepEqual(logged(OFF), []);
});

test('without --disable-logging every request is logged, whatever else is set', () => {
  assert.deepEqual(logged({ ...OFF, enabled: true, log4xx: true }), PATHS);
});

test('slow compares whole milliseconds', () => {
  assert.equal(shouldLogRequest({ ...OFF, slowMs: 300 }, req('/x', { durationUs: 299_999 })), false);
  assert.equal(shouldLogRequest({ ...OFF, slowMs: 300 }, req('/x', { durationUs: 300_000 })), true);
});

test('--log-ioerror logs a request with a read or a write error', () => {
  const f = { ...OFF, ioError: true };
  assert.equal(shouldLogRequest(f, req('/x')), false);
  assert.equal(shouldLogRequest(f, req('/x', { writeErrors: 1 })), true);
  assert.equal(shouldLogRequest(f, req('/x', { readErrors: 1 })), true);
});

test('canLogAnyRequest is false only when nothing could be logged', () => {
  assert.equal(canLogAnyRequest(OFF), false);
  assert.equal(canLogAnyRequest({ ...OFF, bigBytes: 1 }), true);
  assert.equal(canLogAnyRequest({ ...OFF, enabled: true }), true);
});

test('X-Forwarded-For is taken whole, only with the option, only when present', () => {
  const vars: Array<[string, string]> = [['HTTP_X_FORWARDED_FOR', '1.2.3.4, 5.6.7.8']];
  const r = req('/x', { requestVar: (n) => lookupVar(vars, n) });
  assert.equal(logAddress(r, true), '1.2.3.4, 5.6.7.8');
  assert.equal(logAddress(r, false), '127.0.0.1');
  assert.equal(logAddress(req('/x'), true), '127.0.0.1');
});
