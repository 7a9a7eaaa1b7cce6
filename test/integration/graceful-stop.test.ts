// A graceful stop (SIGTERM) serves the connections already queued on the
// listening socket instead of resetting them: a balancer in front (nginx)
// has already sent its request on them and will not retry a POST elsewhere.
// New connection attempts during the stop are ignored (their SYN is dropped)
// and end refused, which a balancer retries elsewhere. The multi-host picture
// is test/e2e/failover.test.ts; this is the deterministic case: the only
// worker is busy inside the app, connections queue behind it, SIGTERM comes,
// then it finishes.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { HttpConnection, request, type HttpResponse } from '../helpers/http';
import { until } from '../helpers/load';
import { repoRoot, startNuwsgi } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const APP = join(repoRoot(), 'test', 'fixtures', 'apps', 'failover.py');
/** More than a worker accepts in one loop turn (transport.ts ACCEPT_BATCH, 8): libuv runs signal callbacks after the turn's I/O. */
const QUEUED = 20;

/** Something else listens on the port now (nuwsgi has exited). */
async function listenedByAnother(port: number): Promise<boolean> {
  return HttpConnection.open(port, 2_000).then(
    (c) => {
      c.close();
      return true;
    },
    () => false,
  );
}

describe('graceful stop', () => {
  test('SIGTERM while the worker is inside the app: connections queued behind it are served, new ones end refused', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', APP, '--master', '--processes', '1']);
    const port = server.httpPort as number;
    const dir = makeTempDir();
    const marker = join(dir, 'inside');
    const release = join(dir, 'release');
    const conns: HttpConnection[] = [];
    try {
      const held = request(port, { path: `/hold?marker=${marker}&release=${release}`, timeoutMs: 30_000 }).catch((e: Error) => e);
      await until(() => existsSync(marker), 10_000, 'the held request to reach the app');
      // The worker cannot accept while the app runs: these connect and queue, their requests sent.
      for (let i = 0; i < QUEUED; i++) {
        const conn = await HttpConnection.open(port);
        conns.push(conn);
        await conn.send(`GET /queued${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }
      server.signal('SIGTERM');
      await server.waitForLog(/SIGTERM received: gracefully stopping workers/);
      // From now on the socket ignores new connection attempts: this one is
      // not queued; once the socket is closed its SYN, sent again, is refused.
      const late = HttpConnection.open(port, 20_000).then(
        (c) => {
          c.close();
          return 'connected';
        },
        (e: Error) => e.message,
      );
      writeFileSync(release, '');
      const heldRes = await held;
      assert.ok(!(heldRes instanceof Error), `the held request failed: ${String(heldRes)}`);
      assert.equal(heldRes.status, 200);
      const answers = await Promise.all(conns.map((c) => c.readResponse('GET', 20_000).catch((e: Error) => e)));
      const failed = answers.filter((a): a is Error => a instanceof Error).map((e) => e.message);
      assert.deepEqual(failed, [], `queued connections were not served\n${server.logs()}`);
      for (const a of answers as HttpResponse[]) assert.equal(a.status, 200);
      assert.match(server.logs(), /took \d+ queued connection\(s\) before closing its sockets/);
      const exit = await server.waitForExit(15_000);
      assert.equal(exit.code, 0);
      const lateOutcome = await late;
      // Port 0 gave us an ephemeral port: on a busy machine another process may
      // bind it once we closed it, and a retransmitted SYN then reaches that one.
      if (lateOutcome === 'connected') assert.ok(await listenedByAnother(port), 'a connection attempted during the stop was accepted');
      else assert.match(lateOutcome, /ECONNREFUSED/);
      if (!(await listenedByAnother(port))) await assert.rejects(request(port, { path: '/', timeoutMs: 5_000 }), /ECONNREFUSED/);
    } finally {
      for (const c of conns) c.close();
      await server.stop();
    }
  });
});
