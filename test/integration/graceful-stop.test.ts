// A graceful stop (SIGTERM) serves the connections already queued on the
// listening socket instead of resetting them: a balancer in front (nginx)
// has already sent its request on them and will not retry a POST elsewhere.
// The multi-host picture is test/e2e/failover.test.ts; this is the
// deterministic case: the only worker is busy inside the app when SIGTERM
// comes, connections queue behind it, then it finishes.
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

describe('graceful stop', () => {
  test('SIGTERM while the worker is inside the app: connections queued meanwhile are served, then the port refuses', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', APP, '--master', '--processes', '1']);
    const port = server.httpPort as number;
    const dir = makeTempDir();
    const marker = join(dir, 'inside');
    const release = join(dir, 'release');
    const conns: HttpConnection[] = [];
    try {
      const held = request(port, { path: `/hold?marker=${marker}&release=${release}`, timeoutMs: 30_000 }).catch((e: Error) => e);
      await until(() => existsSync(marker), 10_000, 'the held request to reach the app');
      server.signal('SIGTERM');
      // The master has closed its descriptor and signalled the worker, which
      // cannot act before the app returns: its descriptor keeps the socket
      // listening, so these connect and queue, their requests sent.
      await server.waitForLog(/SIGTERM received: gracefully stopping workers/);
      for (let i = 0; i < QUEUED; i++) {
        const conn = await HttpConnection.open(port);
        conns.push(conn);
        await conn.send(`GET /queued${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }
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
      await assert.rejects(request(port, { path: '/', timeoutMs: 5_000 }), /ECONNREFUSED/);
    } finally {
      for (const c of conns) c.close();
      await server.stop();
    }
  });
});
