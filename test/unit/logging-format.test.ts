/**
 * Request lines compared with what uWSGI 2.0.21 printed. Each expected line
 * was captured from (app.py: a WSGI app answering "hello world", 11 bytes, with
 * Content-Type and X-A headers; the machine's zone is UTC):
 *
 *   uwsgi --plugin python3 --die-on-term --http-socket 127.0.0.1:9301 --wsgi-file app.py --log-format '<template>'
 *   curl http://127.0.0.1:9301/foo?x=1
 *
 * and the record below holds the values of that request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
process.env['TZ'] = 'UTC';
import { compileLogFormat, logvarNames, parseLogFormat } from '../../src/logging/request-format';
import { lookupVar, type RequestLogRecordV2 } from '../../src/logging/record';

const START_US = 1795474776262626; // Mon Nov 23 22:59:36 2026 UTC
const NOW = (): number => 1795474776_500; // %(epoch) is the time of logging

function record(over: Partial<RequestLogRecordV2> = {}, vars: Array<[string, string]> = []): RequestLogRecordV2 {
  return {
    pid: 6234, appId: 0, appRequests: 2, workerRequests: 2, remoteAddr: '127.0.0.1', remoteUser: '',
    varsCount: 24, varsBytes: 257, startedAtMs: Math.floor(START_US / 1000), method: 'GET', uri: '/foo?x=1',
    bodyBytes: 11, durationMs: 0.186, protocol: 'HTTP/1.1', status: 200, headerCount: 2, headerBytes: 53,
    host: '127.0.0.1:9301', userAgent: 'curl/7.88.1', referer: '', workerId: 1, contentLength: 0,
    requestVar: (name) => lookupVar([['HTTP_HOST', '127.0.0.1:9301'], ...vars], name),
    startedAtUs: START_US, durationUs: 186, modifier1: 0, modifier2: 0, switches: 1, core: 0, readErrors: 0, writeErrors: 0,
    ...over,
  };
}

test('every variable, formatted as uWSGI formats it', () => {
  const template =
    '%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)" | %(host) %(rsize) %(hsize) ' +
    '%(cl) %(micros) %(msecs) %(secs) %(time) %(ctime) %(epoch) %(tmsecs) %(tmicros) %(pid) %(wid) %(core) %(switches) %(vars) ' +
    '%(pktsize) %(modifier1) %(modifier2) %(rss) %(vsz) %(rssM) %(vszM) %(headers) %(rerr) %(werr) %(ioerr) %(var.HTTP_HOST) ' +
    '%(var.NOPE) %(bogus) %(ftime)';
  assert.equal(
    compileLogFormat(template, { now: NOW })(record()),
    '127.0.0.1 - - [23/Nov/2026:22:59:36 +0000] "GET /foo?x=1 HTTP/1.1" 200 64 "-" "curl/7.88.1" | 127.0.0.1:9301 11 53 0 186 0 ' +
      '0.000186 1795474776 Mon Nov 23 22:59:36 2026 1795474776 1795474776262 1795474776262626 6234 1 0 1 24 257 0 0 0 0 0 0 2 0 0 0 ' +
      '127.0.0.1:9301 - - 23/Nov/2026:22:59:36 +0000\n',
  );
});

test('durations, raw bytes, request vars', () => {
  // --log-format '%(secs)|%(msecs)|%(micros)|%(uagent)|%(referer)|%(var.HTTP_X_REQUEST_ID)|%(uri)|%(var.)|%(var.QUERY_STRING)|%(cl)'
  // curl -A 'Mozilla "q" é' -e 'http://ref/' -H 'X-Request-Id: abc' 'http://127.0.0.1:9329/p%C3%A9?q=%22'
  const f = compileLogFormat('%(secs)|%(msecs)|%(micros)|%(uagent)|%(referer)|%(var.HTTP_X_REQUEST_ID)|%(uri)|%(var.)|%(var.QUERY_STRING)|%(cl)');
  const r = record(
    { durationUs: 185, userAgent: 'Mozilla "q" \xc3\xa9', referer: 'http://ref/', uri: '/p%C3%A9?q=%22' },
    [['HTTP_X_REQUEST_ID', 'abc'], ['QUERY_STRING', 'q=%22']],
  );
  const line = f(r);
  assert.deepEqual(
    Buffer.from(line, 'latin1'),
    Buffer.concat([Buffer.from('0.000185|0|185|Mozilla "q" '), Buffer.from([0xc3, 0xa9]), Buffer.from('|http://ref/|abc|/p%C3%A9?q=%22|-|q=%22|0\n')]),
  );
  // The /slow request (time.sleep(0.3)) printed 0.300764|300|300764 under the same template.
  assert.equal(compileLogFormat('%(secs)|%(msecs)|%(micros)')(record({ durationUs: 300764 })), '0.300764|300|300764\n');
  // curl -d abcdef .../post with --log-format '%(cl)|%(method)|%(rsize)' printed 6|POST|17
  assert.equal(compileLogFormat('%(cl)|%(method)|%(rsize)')(record({ contentLength: 6, method: 'POST', bodyBytes: 17 })), '6|POST|17\n');
});

test('odd templates are cut exactly as uWSGI cuts them', () => {
  // Each line: --log-format '<template>' and the /__warm request uWSGI printed it for.
  const cases: Array<[string, string]> = [
    ['A %%(uri) B', 'A %/__warm B'],
    ['abc %(uri) def %(x', 'abc /__warm def  def %(x'],
    ['%() x %(uri)', '%%() x /__warm'],
    ['%(uri)%(method)', '/__warmGET'],
    ['%(ur%(method)i)', '%(urGETi)'],
    ['(%(uri)) %(', '(/__warm) %('],
    ['end%', 'end%'],
    ['%(a(b) %(method)', '- GET'],
    ['x %( y', 'x x %( y'],
    ['%x(uri)', '%x(uri)'],
    ['%(%(uri))', '%(/__warm)'],
  ];
  for (const [template, expected] of cases) {
    assert.equal(compileLogFormat(template)(record({ uri: '/__warm' })), expected + '\n', template);
  }
  assert.deepEqual(parseLogFormat('a%(uri)b'), [{ kind: 'text', text: 'a' }, { kind: 'var', name: 'uri' }, { kind: 'text', text: 'b' }]);
});

test('times in another zone, and %(ftime) with --log-format-strftime', () => {
  process.env['TZ'] = 'America/New_York';
  try {
    // TZ=America/New_York uwsgi ... --log-date='%Y-%m-%dT%H:%M:%S%z %Z' --log-format-strftime
    //   --log-format '[%(ltime)] [%(ftime)] %(ctime) %(time) %(tmicros) %(uri)'   (curl .../ny)
    const template = '[%(ltime)] [%(ftime)] %(ctime) %(time) %(tmicros) %(uri)';
    const r = record({ startedAtUs: 1795475391607762, uri: '/ny' });
    assert.equal(
      compileLogFormat(template, { ftimeFormat: '%Y-%m-%dT%H:%M:%S%z %Z' })(r),
      '[23/Nov/2026:18:09:51 -0500] [2026-11-23T18:09:51-0500 EST] Mon Nov 23 18:09:51 2026 1795475391 1795475391607762 /ny\n',
    );
    // Without --log-format-strftime (or without a --log-date format) %(ftime) is %(ltime); uWSGI printed
    // "%Y [23/Nov/2026:23:00:35 +0000] /__warm" for '%Y [%(ftime)] %(uri)': the rest of the template is not strftime'd.
    assert.equal(compileLogFormat('%Y [%(ftime)]')(r), '%Y [23/Nov/2026:18:09:51 -0500]\n');
  } finally {
    process.env['TZ'] = 'UTC';
  }
});

test('memory, metrics, logvars and X-Forwarded-For', () => {
  // uwsgi ... --memory-report --log-format '%(rss) %(vsz) %(rssM) %(vszM)' printed "16584704 60821504 15 58"
  assert.equal(compileLogFormat('%(rss) %(vsz) %(rssM) %(vszM)')(record({ rss: 16584704, vsz: 60821504 })), '16584704 60821504 15 58\n');
  // --log-format '... %(metric.foo) %(metric.worker.1.requests)' printed "0 0": no metrics configured.
  assert.equal(compileLogFormat('%(metric.foo) %(metric.worker.1.requests)')(record()), '0 0\n');
  const withLogvar = record({ logVar: (name) => (name === 'trace' ? 'T-1' : undefined) });
  assert.equal(compileLogFormat('%(trace) %(other)')(withLogvar), 'T-1 -\n');
  // --log-x-forwarded-for takes the whole header: uWSGI printed "1.2.3.4, 5.6.7.8" as the address.
  const proxied = record({}, [['HTTP_X_FORWARDED_FOR', '1.2.3.4, 5.6.7.8']]);
  assert.equal(compileLogFormat('%(addr)', { logXForwardedFor: true })(proxied), '1.2.3.4, 5.6.7.8\n');
  assert.equal(compileLogFormat('%(addr)')(proxied), '127.0.0.1\n');
  assert.equal(compileLogFormat('%(addr)', { logXForwardedFor: true })(record()), '127.0.0.1\n');
});

test('the template\'s own non-ASCII text is written as UTF-8, request bytes as received', () => {
  const line = compileLogFormat('→ %(uri) %(ftime)', { ftimeFormat: 'é%Y' })(record({ uri: '/caf\xc3\xa9' }));
  assert.deepEqual(Buffer.from(line, 'latin1'), Buffer.from('→ /café é2026\n', 'utf8'));
});

test('logvarNames lists the names uWSGI would silently treat as logvars', () => {
  assert.deepEqual(logvarNames('%(status) %(stauts) %(var.X) %(metric.y) %(ltime) %(addr) %(stauts)'), ['stauts']);
});
