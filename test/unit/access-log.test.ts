import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctime, formatRequestLog, measureVars, requestLogRecord } from '../../src/worker/access-log';
import { encodeUwsgiPacket, indexUwsgiVars, UwsgiVars } from '../../src/protocol/uwsgi';
import type { Exchange } from '../../src/worker/exchange';

test('the request line has uWSGI default format', () => {
  const started = new Date(2026, 10, 23, 21, 17, 1).getTime();
  const line = formatRequestLog({
    pid: 8456,
    appId: 0,
    appRequests: 1,
    workerRequests: 1,
    remoteAddr: '127.0.0.1',
    remoteUser: '',
    varsCount: 30,
    varsBytes: 354,
    startedAtMs: started,
    method: 'POST',
    uri: '/foo/bar?x=1',
    bodyBytes: 857,
    durationMs: 4.7,
    protocol: 'HTTP/1.1',
    status: 200,
    headerCount: 2,
    headerBytes: 72,
  });
  assert.equal(
    line,
    '[pid: 8456|app: 0|req: 1/1] 127.0.0.1 () {30 vars in 354 bytes} [Mon Nov 23 21:17:01 2026] POST /foo/bar?x=1 => ' +
      'generated 857 bytes in 4 msecs (HTTP/1.1 200) 2 headers in 72 bytes (1 switches on core 0)\n',
  );
});

test('ctime pads single-digit days with a space, as C does', () => {
  assert.equal(ctime(new Date(2026, 0, 5, 3, 4, 5).getTime()), 'Mon Jan  5 03:04:05 2026');
});

test('vars are counted as uWSGI counts them: keys and values, packet bytes', () => {
  assert.deepEqual(measureVars([['A', 'bc'], ['DE', '']]), { count: 4, bytes: 4 + 3 + 4 + 2 });
});

test('a uwsgi request counts its vars from the packet, and makes them only for a format that names one', () => {
  const pairs: Array<[string, string]> = [['REQUEST_METHOD', 'GET'], ['HTTP_HOST', 'example.org'], ['QUERY_STRING', '']];
  const packet = indexUwsgiVars(encodeUwsgiPacket(pairs).subarray(4), 64);
  assert.ok(packet instanceof UwsgiVars);
  let made = 0;
  const ex = {
    uwsgiVars: packet,
    get vars() {
      made++;
      return packet.pairs();
    },
    appId: 0, core: 0, remoteAddr: '10.0.0.1', remoteUser: '', startedAtMs: Date.now(), method: 'GET', uri: '/', requestProtocol: 'HTTP/1.1',
  } as unknown as Exchange;
  const record = requestLogRecord(ex, { status: 200, bodyBytes: 0, headerCount: 0, headerBytes: 0 }, { workerId: 1, appRequests: 1, workerRequests: 1 });
  assert.deepEqual({ count: record.varsCount, bytes: record.varsBytes }, measureVars(pairs));
  assert.equal(made, 0);
  assert.equal(record.host, 'example.org');
  assert.equal(made, 1);
});
