// ReadableWatch (the emperor's on-demand sockets, a cheap master's wake-up):
// real listening sockets nobody accepts on, real connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ReadableWatch } from '../../src/util/readable-watch';
import { bindSocket } from '../../src/master/sockets';
import { closeOnDemandSocket } from '../../src/emperor/on-demand';
import { makeTempDir } from '../helpers/tmp';
import { until } from '../helpers/load';

test('a socket watched while a poll slice runs is seen without waiting for the slice to end', async () => {
  const dir = makeTempDir('nuwsgi-watch-');
  const first = await bindSocket(0, 'uwsgi', join(dir, 'a.sock'), 16);
  const second = await bindSocket(1, 'uwsgi', join(dir, 'b.sock'), 16);
  // A slice far longer than the deadline below: only the wake-up can make the second socket seen in time.
  const watch = new ReadableWatch(600_000);
  const clients: Socket[] = [];
  try {
    let firstSeen = false;
    let secondSeen = false;
    watch.once(first.fd, () => (firstSeen = true));
    watch.once(second.fd, () => (secondSeen = true)); // added while the first slice polls only `first`
    clients.push(connect(join(dir, 'b.sock')).on('error', () => undefined));
    await until(() => secondSeen, 20_000, 'the connection on the socket added mid-slice');
    assert.equal(firstSeen, false, 'nothing connected to the first one');
    assert.equal(watch.size, 1);
  } finally {
    watch.close(); // ends the running 600 s slice, or the test could not exit
    for (const c of clients) c.destroy();
    closeOnDemandSocket(first);
    closeOnDemandSocket(second);
  }
});
