// Found by the fuzzer (scripts/fuzz.mjs, docs/fuzzing.md): a pipelined
// request whose first bytes arrived while the one before was served was
// closed as "request not received in time" at the next deadline sweep.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSocket, SocketReader } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';

const APP = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'response_framing.py');

describe('pipelining', () => {
  let server: ServerProcess;
  let port: number;

  before(async () => {
    server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', APP()], { readyPath: '/after' });
    port = server.httpPort as number;
  });
  after(async () => {
    const stopped = await server.stop();
    assert.deepEqual(stopped.orphans, []);
  });

  test('a pipelined request whose head arrives in pieces is answered, not timed out at the next sweep', async () => {
    // The first request whole and the second's first bytes in one write: the
    // second's head clock used to start at 0, so the once-a-second deadline
    // sweep closed the connection as "request not received in time".
    const sock = await openSocket(port);
    const reader = new SocketReader(sock);
    try {
      sock.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHo');
      const deadline = Date.now() + 10_000;
      while (!reader.pending.toString('latin1').includes('\r\n\r\nafter')) {
        assert.ok(!reader.isEnded && Date.now() < deadline, `first response not received: ${JSON.stringify(reader.pending.toString('latin1'))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Not a wait for readiness: the time under test. The deadline sweep
      // runs every second; 1.5 s lets it run at least once.
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!reader.isEnded, 'the connection was closed while the pipelined request was arriving');
      sock.write('st: x\r\nConnection: close\r\n\r\n');
      assert.ok(await reader.waitForEnd(10_000), 'the server closes after the Connection: close request');
      assert.equal((reader.pending.toString('latin1').match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, reader.pending.toString('latin1'));
      assert.doesNotMatch(server.logs(), /request not received in time/);
    } finally {
      sock.destroy();
    }
  });
});
