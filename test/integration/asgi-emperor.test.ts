// An ASGI vassal under the emperor: a touch reload under load loses no request,
// and the old workers run lifespan shutdown as they go.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { count, eventually, loadWhile } from '../helpers/load';
import { descendants, isAlive, killGroup, listProcesses } from '../helpers/procs';
import { startNuwsgi } from '../helpers/server';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const APP = `
import os, sys

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                sys.stderr.write("asgi-vassal %d: lifespan shutdown\\n" % os.getpid())
                sys.stderr.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = os.environ.get("VERSION", "?").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
`;

/** Vassals lead their own process groups: whatever a failed test leaves is killed. */
const vassalGroups = new Set<number>();
after(() => {
  for (const pid of vassalGroups) if (isAlive(pid)) killGroup(pid, 'SIGKILL');
});


describe('an ASGI vassal under the emperor', () => {
  test('a touch reload under load: zero failed requests, the new config serves, the old workers ran lifespan shutdown', async () => {
    const root = makeTempDir('nuwsgi-asgi-emperor-');
    const vassals = join(root, 'vassals');
    mkdirSync(vassals);
    writeFileSync(join(root, 'asgi_vassal.py'), APP);
    const sock = join(root, 'app.sock');
    const file = join(vassals, 'app.ini');
    const vassal = (version: string): string =>
      ['[uwsgi]', `http-socket = ${sock}`, `chdir = ${root}`, 'asgi = asgi_vassal:app', 'master = true', 'processes = 2',
        'vacuum = true', 'disable-logging = true', `env = VERSION=${version}`, ''].join('\n');
    writeFileSync(file, vassal('v1'));
    const emperor = await startNuwsgi(['--emperor', vassals], { waitReady: false });
    try {
      const version = async (): Promise<string> => (await request(sock, { path: '/', timeoutMs: 5000 })).body.toString();
      await eventually(async () => ((await version()) === 'v1' ? true : undefined), 'the vassal to serve');
      for (const pid of listProcesses().filter((p) => p.ppid === emperor.pid)) vassalGroups.add(pid.pid);
      const master = [...vassalGroups][0] as number;
      const oldWorkers = descendants(master);
      assert.equal(oldWorkers.length, 2, `workers of the vassal: ${oldWorkers.join(' ')}`);

      const reloaded = (async (): Promise<void> => {
        for (let i = 0; i < 20; i++) await version(); // the load runs alongside by now
        writeFileSync(file, vassal('v2'));
        const later = new Date(Date.now() + 2000);
        utimesSync(file, later, later);
        await emperor.waitForLog(/\[emperor\] reload the uwsgi instance app\.ini/, 10_000);
        await eventually(async () => ((await version()) === 'v2' ? true : undefined), 'the reloaded vassal to serve v2');
        await eventually(async () => (oldWorkers.every((p) => !isAlive(p)) ? true : undefined), 'the old workers to drain');
      })();
      const load = await loadWhile(sock, 6, reloaded);
      await reloaded;
      assert.deepEqual(load.failures, []);
      assert.ok(load.ok > 50, `${load.ok} requests served`);
      assert.ok(load.bodies.has('v1') && load.bodies.has('v2'), [...load.bodies].join(' '));
      await eventually(async () => (count(emperor, /asgi-vassal \d+: lifespan shutdown/) >= 2 ? true : undefined), 'lifespan shutdown in both old workers', 30_000, emperor);
      for (const pid of oldWorkers) assert.match(emperor.logs(), new RegExp(`asgi-vassal ${pid}: lifespan shutdown`));
    } finally {
      await emperor.stop('SIGTERM', 40_000);
      const left = listProcesses().filter((p) => p.state !== 'Z' && vassalGroups.has(p.pid));
      for (const p of left) killGroup(p.pid, 'SIGKILL');
      removeTempDir(root);
      assert.deepEqual(left.map((p) => p.pid), [], 'vassals left behind');
    }
  });
});
