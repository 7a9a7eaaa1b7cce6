/**
 * A keep-alive connection whose idle deadline passes while the worker's loop
 * is inside the app (threads = 1 runs the app inline) may have a request
 * waiting, unread, in the kernel: closing it then resets a request the client
 * already sent. The deadline sweep runs before the loop reads that input, so
 * it must look first (src/worker/connection.ts, checkDeadline).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HttpConnection } from '../helpers/http';
import { startNuwsgi } from '../helpers/server';
import { until } from '../helpers/load';
import { makeTempDir } from '../helpers/tmp';

const SINK = 'test/fixtures/apps/sink.py';

test('a request sent on an idle keep-alive connection while the app held the loop past its idle deadline is served, not reset', async () => {
  const dir = makeTempDir('nuwsgi-idle-race-');
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK, '--http-keepalive=2']);
  const port = server.httpPort as number;
  const idle = await HttpConnection.open(port);
  const busy = await HttpConnection.open(port);
  try {
    assert.equal((await idle.request({ path: '/environ' })).status, 200); // now idle, its 2 s deadline running
    const marker = join(dir, 'inside');
    await busy.send(`GET /slow?secs=4&marker=${marker} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => existsSync(marker), 10_000, 'the slow request inside the app');
    // The app holds the worker's loop for 4 s: the idle connection's deadline passes meanwhile,
    // and the request sent now waits in the kernel until the loop comes back.
    await idle.send('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    const slow = await busy.readResponse('GET', 20_000);
    assert.equal(slow.status, 200);
    const echoed = await idle.readResponse('POST', 20_000);
    assert.equal(echoed.status, 200);
    assert.equal(echoed.body.toString(), 'hello');
  } finally {
    idle.socket.destroy();
    busy.socket.destroy();
    await server.stop();
  }
});
