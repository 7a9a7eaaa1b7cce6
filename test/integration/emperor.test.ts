// Issue 6: the emperor over a real vassals directory: real nuwsgi vassals,
// real Python, UNIX sockets, real signals, and systemd's notify socket.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { uwsgiRequest } from '../helpers/uwsgi';
import { nuwsgiBin, runNuwsgi, startNuwsgi, startServer, type ServerProcess } from '../helpers/server';
import { isAlive, killGroup, listProcesses, readProc } from '../helpers/procs';
import { makeTempDir } from '../helpers/tmp';
import { count, eventually, loadWhile } from '../helpers/load';

/** Every vassal master seen, killed (with its group) after the tests whatever happens: vassals lead their own groups. */
const seenVassals = new Set<number>();
after(() => {
  for (const pid of seenVassals) if (isAlive(pid)) killGroup(pid, 'SIGKILL');
});

const APP = `
import json, os
def application(environ, start_response):
    body = json.dumps({"pid": os.getpid(), "version": os.environ.get("VERSION", "?"),
                       "greeting": os.environ.get("GREETING", "?"), "include": os.environ.get("INCLUDE_NAME", "?")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
`;

interface Layout {
  root: string;
  vassals: string;
  run: string;
  defaults: string;
  sock(name: string): string;
  writeVassal(name: string, body?: string): string;
}

/** A vassals dir, a run dir for sockets, the app, and a vassals-include template naming each vassal's socket by %N. */
function layout(): Layout {
  const root = makeTempDir('nuwsgi-emperor-');
  chmodSync(root, 0o755); // tyrant vassals run as another user
  const vassals = join(root, 'vassals');
  const run = join(root, 'run');
  mkdirSync(vassals);
  mkdirSync(run, { mode: 0o777 });
  chmodSync(run, 0o777);
  writeFileSync(join(root, 'app.py'), APP);
  const defaults = join(root, 'defaults.ini');
  writeFileSync(
    defaults,
    ['[uwsgi]', `http-socket = ${run}/%N.sock`, `wsgi-file = ${root}/app.py`, 'master = true', 'processes = 2', 'vacuum = true', 'disable-logging = true', 'env = INCLUDE_NAME=%n', 'env = GREETING=%(greeting)', ''].join('\n'),
  );
  return {
    root,
    vassals,
    run,
    defaults,
    sock: (name) => join(run, `${name}.sock`),
    writeVassal: (name, body = `[uwsgi]\nenv = VERSION=${name}\n`) => {
      const file = join(vassals, `${name}.ini`);
      writeFileSync(file, body);
      return file;
    },
  };
}

function startEmperor(l: Layout, extra: string[] = [], env: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  return startNuwsgi(['--emperor', l.vassals, '--vassals-include', l.defaults, '--emperor-stats', join(l.run, 'stats.sock'), ...extra], {
    waitReady: false,
    env: { UWSGI_VASSAL_GREETING: 'hello', ...env },
  });
}

interface AppAnswer {
  pid: number;
  version: string;
  greeting: string;
  include: string;
}

async function ask(sock: string): Promise<AppAnswer> {
  const res = await request(sock, { path: '/', timeoutMs: 5000 });
  assert.equal(res.status, 200);
  return JSON.parse(res.body.toString()) as AppAnswer;
}

const serving = (sock: string): Promise<AppAnswer> => eventually(() => ask(sock), `${sock} to serve`);

interface EmperorStats {
  pid: number;
  emperor: string[];
  vassals: Array<{ id: string; pid: number; state: string; respawns: number; loyal: number; config: string; last_run: number; last_heartbeat: number }>;
  blacklist: Array<{ id: string; attempt: number; throttle_level: number }>;
}

function stats(l: Layout): Promise<EmperorStats> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(join(l.run, 'stats.sock'));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EmperorStats));
    sock.on('error', reject);
  });
}

async function vassalPid(l: Layout, id: string): Promise<number> {
  const pid = await eventually(async () => (await stats(l)).vassals.find((v) => v.id === id && v.pid > 0)?.pid, `a pid for ${id}`);
  seenVassals.add(pid);
  return pid;
}

function childrenOf(pid: number): number[] {
  return listProcesses()
    .filter((p) => p.ppid === pid && p.state !== 'Z')
    .map((p) => p.pid)
    .sort();
}

/** Moves a file's mtime forward, as `touch` does a second later. */
function touch(file: string): void {
  const later = new Date(Date.now() + 2000);
  utimesSync(file, later, later);
}

/** A UNIX datagram socket standing in for systemd's NOTIFY_SOCKET. */
class NotifyReceiver {
  readonly messages: string[] = [];
  private constructor(private readonly proc: ChildProcess) {
    let buffered = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'bound') this.bound = true;
        else if (line !== '') this.messages.push(JSON.parse(line) as string);
      }
    });
  }

  private bound = false;

  static async start(path: string): Promise<NotifyReceiver> {
    const code = [
      'import json, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(sys.argv[1])',
      'print("bound", flush=True)',
      'while True: print(json.dumps(s.recv(65536).decode()), flush=True)',
    ].join('\n');
    const proc = spawn('python3', ['-c', code, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const receiver = new NotifyReceiver(proc);
    proc.once('exit', (c) => assert.ok(receiver.bound, `notify receiver exited with ${c}`));
    await eventually(() => (receiver.bound ? true : undefined), 'the notify receiver', 10_000);
    return receiver;
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

describe('the emperor', () => {
  test('runs a nuwsgi master per vassal file; a touched vassal alone reloads, under load, without a failed request', async () => {
    const l = layout();
    l.writeVassal('one');
    l.writeVassal('two');
    // Started the Debian way: an emperor.ini with the init script's companions (master, workers... are ignored).
    const ini = join(l.root, 'emperor.ini');
    writeFileSync(ini, `[uwsgi]\nmaster = true\nworkers = 2\nno-orphans = true\ndie-on-term = true\nemperor = ${l.vassals}\n`);
    const emperor = await startNuwsgi(['--ini', ini, '--vassals-include', l.defaults, '--emperor-stats', join(l.run, 'stats.sock')], {
      waitReady: false,
      env: { UWSGI_VASSAL_GREETING: 'hello' },
    });
    try {
      const one = await serving(l.sock('one'));
      const two = await serving(l.sock('two'));
      assert.deepEqual([one.version, two.version], ['one', 'two']);
      assert.equal(one.greeting, 'hello', 'UWSGI_VASSAL_GREETING reached the vassal as UWSGI_GREETING');
      assert.equal(one.include, 'defaults', '%n inside the vassals-include is the include');
      await emperor.waitForLog(/\[emperor\] vassal one\.ini is now loyal/);
      await emperor.waitForLog(/\[emperor\] vassal two\.ini is now loyal/);
      const twoWorkers = childrenOf(await vassalPid(l, 'two.ini'));
      const oneMaster = await vassalPid(l, 'one.ini');
      const oneWorkersBefore = childrenOf(oneMaster);
      assert.equal(twoWorkers.length, 2);

      const reloaded = (async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, 300)); // let the load start first
        l.writeVassal('one', '[uwsgi]\nenv = VERSION=one-v2\n');
        touch(join(l.vassals, 'one.ini'));
        await emperor.waitForLog(/\[emperor\] reload the uwsgi instance one\.ini/, 10_000);
        await eventually(() => (count(emperor, /vassal one\.ini is ready to accept requests/) >= 2 ? true : undefined), 'one.ini ready again');
        await eventually(() => (oneWorkersBefore.every((p) => !isAlive(p)) ? true : undefined), 'the old workers of one.ini to drain');
      })();
      const load = await loadWhile(l.sock('one'), 6, reloaded);
      await reloaded;
      assert.deepEqual(load.failures, []);
      assert.ok(load.ok > 50, `${load.ok} requests served`);
      assert.equal((await ask(l.sock('one'))).version, 'one-v2', 'the reload read the vassal file again');
      assert.equal(await vassalPid(l, 'one.ini'), oneMaster, 'a graceful reload keeps the vassal master');
      assert.deepEqual(childrenOf(await vassalPid(l, 'two.ini')), twoWorkers, "two.ini's workers are untouched");
      assert.doesNotMatch(emperor.logs(), /reload the uwsgi instance two\.ini/);
      const s = await stats(l);
      assert.equal(s.vassals.find((v) => v.id === 'one.ini')?.respawns, 1);
      assert.equal(s.vassals.find((v) => v.id === 'one.ini')?.state, 'ready');
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('a new file starts a vassal, a deleted one stops (its socket gone), SIGTERM stops them all and leaves no process', async () => {
    const l = layout();
    l.writeVassal('one');
    const emperor = await startEmperor(l);
    try {
      await serving(l.sock('one'));
      l.writeVassal('three');
      const three = await serving(l.sock('three'));
      assert.equal(three.version, 'three');
      const threeMaster = await vassalPid(l, 'three.ini');
      const threeWorkers = childrenOf(threeMaster);

      rmSync(join(l.vassals, 'three.ini'));
      await emperor.waitForLog(/\[emperor\] stop the uwsgi instance three\.ini/, 10_000);
      await emperor.waitForLog(/\[emperor\] removed uwsgi instance three\.ini/, 30_000);
      assert.equal(existsSync(l.sock('three')), false, 'vacuum removed its socket');
      await assert.rejects(request(l.sock('three'), { path: '/' }));
      for (const pid of [threeMaster, ...threeWorkers]) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
      assert.equal((await ask(l.sock('one'))).version, 'one', 'the other vassal kept serving');

      const oneMaster = await vassalPid(l, 'one.ini');
      const everyone = [oneMaster, ...childrenOf(oneMaster)];
      const stopped = await emperor.stop('SIGTERM', 30_000);
      assert.equal(stopped.code, 0);
      assert.equal(stopped.killed, false);
      assert.match(emperor.logs(), /\[emperor\] \*\*\* RAGNAROK EVOKED \*\*\*/);
      assert.match(emperor.logs(), /The Emperor is buried\./);
      for (const pid of everyone) assert.equal(isAlive(pid), false, `pid ${pid} outlived the emperor`);
      assert.equal(existsSync(l.sock('one')), false);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('on-demand vassals (emperor-on-demand-directory): the emperor holds the socket, the first connection starts the vassal and is served; idle + die-on-idle sends it back to on-demand', async () => {
    const l = layout();
    const ini = ['[uwsgi]', `wsgi-file = ${l.root}/app.py`, 'master = true', 'processes = 1', 'env = VERSION=od', 'idle = 2', 'die-on-idle = true', ''];
    writeFileSync(join(l.vassals, 'od.ini'), ini.join('\n'));
    const emperor = await startNuwsgi(['--emperor', l.vassals, '--emperor-on-demand-directory', l.run, '--emperor-stats', join(l.run, 'stats.sock')], { waitReady: false });
    const socket = join(l.run, 'od.socket');
    try {
      await emperor.waitForLog(new RegExp(`od\\.ini -> "on demand" instance detected, waiting for connections on socket "${socket.replace(/[.]/g, '\\.')}"`), 15_000);
      await eventually(() => (existsSync(socket) ? true : undefined), 'the on-demand socket');
      const before = (await stats(l)).vassals.find((v) => v.id === 'od.ini');
      assert.equal(before?.pid, -1, 'no vassal process before the first connection');
      assert.equal((before as unknown as { on_demand: string }).on_demand, socket);
      assert.equal(statSync(socket).mode & 0o777, 0o666, 'srw-rw-rw-, as uWSGI: nginx as www-data reaches a root emperor\'s socket');

      const first = await uwsgiRequest(socket, { path: '/', timeoutMs: 30_000 });
      assert.equal(first.status, 200, 'the connection that woke the vassal is served');
      assert.equal((JSON.parse(first.body.toString()) as AppAnswer).version, 'od');
      assert.match(emperor.logs(), /nuwsgi socket 0 inherited UNIX address .*od\.socket fd 0/);
      const sleepy = await vassalPid(l, 'od.ini');

      // Idle for 2 s: the vassal sends byte 22, the emperor stops it and holds the socket again.
      await emperor.waitForLog(/workers have been inactive for more than 2 seconds/, 30_000);
      await emperor.waitForLog(/od\.ini -> back to "on demand" mode, waiting for connections/, 30_000);
      await eventually(() => (isAlive(sleepy) ? undefined : true), 'the idle vassal gone');
      assert.equal((await stats(l)).vassals.find((v) => v.id === 'od.ini')?.pid, -1);
      const again = await uwsgiRequest(socket, { path: '/', timeoutMs: 30_000 });
      assert.equal(again.status, 200, 'the connection that woke it again is served');
      const master = await vassalPid(l, 'od.ini');
      assert.notEqual(master, sleepy);

      rmSync(join(l.vassals, 'od.ini'));
      await emperor.waitForLog(/\[emperor\] removed uwsgi instance od\.ini/, 30_000);
      assert.equal(isAlive(master), false);
      assert.equal(existsSync(socket), false, 'the emperor removed the socket it had bound');
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('a cold on-demand vassal with 2 workers: its master spawns worker 1, serves the waiting connection, and spawns worker 2 once worker 1 is ready', async () => {
    const l = layout();
    writeFileSync(join(l.vassals, 'two.ini'), ['[uwsgi]', `wsgi-file = ${l.root}/app.py`, 'master = true', 'processes = 2', 'env = VERSION=two', ''].join('\n'));
    const emperor = await startNuwsgi(['--emperor', l.vassals, '--emperor-on-demand-directory', l.run, '--emperor-stats', join(l.run, 'stats.sock')], { waitReady: false });
    const socket = join(l.run, 'two.socket');
    try {
      await emperor.waitForLog(/two\.ini -> "on demand" instance detected/, 15_000);
      await eventually(() => (existsSync(socket) ? true : undefined), 'the on-demand socket');
      const first = await uwsgiRequest(socket, { path: '/', timeoutMs: 30_000 });
      assert.equal(first.status, 200, 'the connection that woke the vassal is served, not dropped');
      assert.equal((JSON.parse(first.body.toString()) as AppAnswer).version, 'two');
      await vassalPid(l, 'two.ini');
      await emperor.waitForLog(/spawned nuwsgi worker 2 \(pid: \d+/, 30_000);
      const log = emperor.logs();
      const worker1 = /spawned nuwsgi worker 1 \(pid: (\d+)/.exec(log)?.[1];
      assert.ok(worker1 !== undefined, log);
      const ready1 = log.search(new RegExp(`ready in \\d+ seconds on interpreter pid: ${worker1}`));
      assert.ok(ready1 > log.search(/spawned nuwsgi worker 1 /), log);
      assert.ok(ready1 < log.search(/spawned nuwsgi worker 2 /), `worker 2 is spawned once worker 1 is ready:\n${log}`);
      const again = await uwsgiRequest(socket, { path: '/', timeoutMs: 30_000 });
      assert.equal(again.status, 200);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('--emperor-required-heartbeat below 10 s: vassals beat often enough, none is killed (they used to be, every tolerance)', async () => {
    const l = layout();
    l.writeVassal('beat');
    const emperor = await startEmperor(l, ['--emperor-required-heartbeat', '2']);
    try {
      await serving(l.sock('beat'));
      const pid = await vassalPid(l, 'beat.ini');
      const since = Math.floor(Date.now() / 1000);
      // Heartbeats keep arriving for twice the tolerance and more (last_heartbeat is in whole seconds).
      await eventually(async () => {
        const v = (await stats(l)).vassals.find((x) => x.id === 'beat.ini');
        return v !== undefined && v.last_heartbeat >= since + 5 ? v : undefined;
      }, 'heartbeats 5 s on');
      assert.equal(await vassalPid(l, 'beat.ini'), pid, 'the same vassal master');
      assert.doesNotMatch(emperor.logs(), /sent no heartbeat/);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('a broken vassal is respawned ever more slowly (logged, in stats) while the others keep serving', async () => {
    const l = layout();
    l.writeVassal('one');
    writeFileSync(join(l.vassals, 'broken.ini'), '[uwsgi]\nprocesses = -1\n');
    const emperor = await startEmperor(l, ['--emperor-throttle', '100', '--emperor-max-throttle', '400']);
    try {
      await serving(l.sock('one'));
      await emperor.waitForLog(/\[emperor\] vassal one\.ini is now loyal/);
      await emperor.waitForLog(/\[emperor\] unloyal bad behaving vassal found: broken\.ini throttling it\.\.\./, 30_000);
      await emperor.waitForLog(/\[emperor\] maximum throttle level for vassal broken\.ini reached !!!/, 30_000);
      const delays = await eventually(() => {
        const found = [...emperor.logs().matchAll(/respawning vassal broken\.ini in (\d+) ms/g)].map((m) => Number(m[1]));
        return found.length >= 4 ? found : undefined;
      }, 'four throttled respawns');
      assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 400]);
      assert.match(emperor.logs(), /broken\.ini:2: option 'processes': must not be negative, got '-1'/);
      assert.match(emperor.logs(), /\[emperor\] vassal broken\.ini \(pid: \d+\) exited with code 1/);
      const s = await stats(l);
      const broken = s.blacklist.find((b) => b.id === 'broken.ini');
      assert.ok(broken !== undefined && broken.attempt >= 3 && broken.throttle_level === 400, JSON.stringify(s.blacklist));
      assert.equal(s.vassals.find((v) => v.id === 'one.ini')?.loyal, 1);
      assert.equal((await ask(l.sock('one'))).version, 'one');

      emperor.signal('SIGUSR1');
      await emperor.waitForLog(/^vassal instance one\.ini \(last modified \d+\) status 0 loyal 1 zerg 0 state ready pid \d+ respawns 0$/);

      // Fixed: the change is seen at once (not after the throttle), and it comes up.
      l.writeVassal('broken');
      touch(join(l.vassals, 'broken.ini'));
      assert.equal((await serving(l.sock('broken'))).version, 'broken');
      await emperor.waitForLog(/vassal broken\.ini is now loyal/);
      assert.equal((await stats(l)).blacklist.length, 0, 'loyalty clears the blacklist');
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('a vassal can be an emperor itself (a sub-emperor): loyal once its own vassals are up, stopped with the rest', async () => {
    const l = layout();
    const inner = join(l.root, 'inner');
    mkdirSync(inner);
    writeFileSync(
      join(inner, 'deep.ini'),
      `[uwsgi]\nhttp-socket = ${l.sock('deep')}\nwsgi-file = ${l.root}/app.py\nprocesses = 1\nvacuum = true\nenv = VERSION=deep\n`,
    );
    l.writeVassal('sub', `[uwsgi]\nemperor = ${inner}\n`);
    const emperor = await startEmperor(l);
    try {
      assert.equal((await serving(l.sock('deep'))).version, 'deep');
      await emperor.waitForLog(/\*\*\* starting nuwsgi sub-Emperor \*\*\*/);
      await emperor.waitForLog(/\[emperor\] vassal sub\.ini is now loyal/);
      const sub = await vassalPid(l, 'sub.ini');
      const everyone = [sub, ...childrenOf(sub)];
      everyone.forEach((pid) => seenVassals.add(pid));
      const stopped = await emperor.stop('SIGTERM', 30_000);
      assert.equal(stopped.code, 0);
      await eventually(() => (everyone.every((p) => !isAlive(p)) ? true : undefined), 'the sub-emperor and its vassal to stop');
      assert.equal(existsSync(l.sock('deep')), false);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test("--daemonize2 (Debian's init script): the command returns once the vassals are up; --stop PIDFILE ends it all", async () => {
    const l = layout();
    l.writeVassal('one');
    const logFile = join(l.root, 'emperor.log');
    const pidfile = join(l.root, 'emperor.pid');
    const fg = await runNuwsgi(['--emperor', l.vassals, '--vassals-include', l.defaults, '--daemonize2', logFile, '--pidfile', pidfile, '--emperor-stats', join(l.run, 'stats.sock'), '--log-date'], {
      env: { UWSGI_VASSAL_GREETING: 'hello' },
      deadlineMs: 60_000,
    });
    const daemon = Number(readFileSync(pidfile, 'utf8').trim());
    seenVassals.add(daemon);
    try {
      assert.equal(fg.code, 0, fg.logs);
      assert.equal(fg.timedOut, false);
      assert.match(fg.logs, /\*\*\* daemonizing nuwsgi \(pid: \d+\), logging to /);
      assert.equal((await ask(l.sock('one'))).version, 'one', 'ready when the command returned');
      const master = await vassalPid(l, 'one.ini');
      const stop = await runNuwsgi(['--stop', pidfile]);
      assert.equal(stop.code, 0);
      await eventually(() => (!isAlive(daemon) && !isAlive(master) ? true : undefined), 'the daemon and its vassal to stop');
      const written = readFileSync(logFile, 'utf8');
      const date = '\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} - ';
      assert.match(written, new RegExp(`^${date}\\*\\*\\* starting nuwsgi Emperor \\*\\*\\*$`, 'm'), '--log-date dates the emperor lines');
      assert.match(written, new RegExp(`^${date}\\[emperor\\] vassal one\\.ini is now loyal$`, 'm'), 'verbose lines are dated once');
      assert.match(written, /The Emperor is buried\./);
    } finally {
      if (isAlive(daemon)) killGroup(daemon, 'SIGKILL');
    }
  });

  test('vassals stop by themselves when their emperor is killed (no orphans)', async () => {
    const l = layout();
    l.writeVassal('one');
    const emperor = await startEmperor(l);
    try {
      await serving(l.sock('one'));
      const master = await vassalPid(l, 'one.ini');
      const everyone = [master, ...childrenOf(master)];
      assert.notEqual(readProc(master)?.pgid, emperor.pid, 'each vassal leads its own process group');
      emperor.killNow();
      const alive = (): string => everyone.filter(isAlive).map((p) => `${p} ${readProc(p)?.comm ?? '?'} ${readProc(p)?.state ?? '?'}`).join(', ');
      await eventually(() => (everyone.every((p) => !isAlive(p)) ? true : undefined), () => `the orphaned vassal to stop (alive: ${alive()})`, 30_000, emperor);
      assert.match(emperor.logs(), /lost connection with my emperor !!!/);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('systemd: READY=1 once every first vassal is up, STATUS, STOPPING=1; vassals never notify; a plain master notifies too', async () => {
    const l = layout();
    l.writeVassal('one');
    l.writeVassal('two');
    const notifyPath = join(l.root, 'notify.sock');
    const receiver = await NotifyReceiver.start(notifyPath);
    const pidfile = join(l.root, 'emperor.pid');
    const emperor = await startEmperor(l, ['--emperor-pidfile', pidfile, '--vacuum'], { NOTIFY_SOCKET: notifyPath });
    try {
      await eventually(() => (receiver.messages.some((m) => m.startsWith('READY=1')) ? true : undefined), 'READY=1');
      // Ready means both vassals answer now.
      assert.equal((await ask(l.sock('one'))).version, 'one');
      assert.equal((await ask(l.sock('two'))).version, 'two');
      assert.equal(readFileSync(pidfile, 'utf8').trim(), String(emperor.pid));
      assert.ok(receiver.messages.includes('READY=1\nSTATUS=The Emperor is governing 2 vassals'), receiver.messages.join(' | '));

      emperor.signal('SIGHUP'); // reload every vassal
      await eventually(() => (count(emperor, /reload the uwsgi instance/) === 2 ? true : undefined), 'both reloads');
      await eventually(() => (receiver.messages.some((m) => m.startsWith('RELOADING=1')) ? true : undefined), 'RELOADING=1');

      const stopped = await emperor.stop('SIGTERM', 30_000);
      assert.equal(stopped.code, 0);
      await eventually(() => (receiver.messages.includes('STOPPING=1') ? true : undefined), 'STOPPING=1');
      assert.equal(receiver.messages.filter((m) => m.startsWith('READY=1')).length, 2, `the emperor's own (start, reload) and nobody else's: ${receiver.messages.join(' | ')}`);
      assert.equal(existsSync(pidfile), false, 'vacuum removed the pidfile');

      // A plain master (a per-app Type=notify unit): READY=1 once its workers are ready.
      const before = receiver.messages.length;
      const app = await startNuwsgi(['--http-socket', join(l.run, 'plain.sock'), '--wsgi-file', join(l.root, 'app.py'), '--master', '--processes', '2'], {
        waitReady: false,
        env: { NOTIFY_SOCKET: notifyPath },
      });
      try {
        await eventually(() => (receiver.messages.slice(before).includes('READY=1') ? true : undefined), "the plain master's READY=1");
        await ask(join(l.run, 'plain.sock'));
      } finally {
        await app.stop();
      }
      // And uWSGI's single-process mode (no master).
      const afterMaster = receiver.messages.length;
      const single = await startNuwsgi(['--http-socket', join(l.run, 'single.sock'), '--wsgi-file', join(l.root, 'app.py')], {
        waitReady: false,
        env: { NOTIFY_SOCKET: notifyPath },
      });
      try {
        await eventually(() => (receiver.messages.slice(afterMaster).includes('READY=1') ? true : undefined), 'the single process READY=1');
        await ask(join(l.run, 'single.sock'));
      } finally {
        await single.stop();
      }
    } finally {
      receiver.stop();
      await stopEmperor(emperor, l);
    }
  });

  test("a nuwsgi vassal under Debian's uWSGI emperor: same channel, same bytes", { skip: !existsSync('/usr/bin/uwsgi') && 'uWSGI is not installed' }, async () => {
    const l = layout();
    l.writeVassal('one');
    const emperor = await startServer('uwsgi', 'uwsgi', ['--emperor', l.vassals, '--emperor-wrapper', nuwsgiBin(), '--vassals-include', l.defaults, '--die-on-term'], {
      waitReady: false,
      env: { UWSGI_VASSAL_GREETING: 'hello' },
    });
    try {
      assert.equal((await serving(l.sock('one'))).version, 'one');
      await emperor.waitForLog(/\[emperor\] vassal one\.ini is ready to accept requests/);
      await emperor.waitForLog(/\[emperor\] vassal one\.ini is now loyal/);
      l.writeVassal('one', '[uwsgi]\nenv = VERSION=one-v2\n');
      touch(join(l.vassals, 'one.ini'));
      await emperor.waitForLog(/received message 1 from emperor/);
      await eventually(async () => ((await ask(l.sock('one'))).version === 'one-v2' ? true : undefined), 'the reloaded vassal');
      const stopped = await emperor.stop('SIGINT', 30_000);
      assert.equal(stopped.killed, false);
      assert.match(emperor.logs(), /received message 0 from emperor/);
      assert.match(emperor.logs(), /The Emperor is buried\./);
      assert.equal(existsSync(l.sock('one')), false);
    } finally {
      await emperor.stop('SIGKILL');
    }
  });

  test("uid/gid (Debian's emperor.ini) drop the emperor's privileges, so every vassal runs as that user; vassal-set reaches each vassal", { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const l = layout();
    l.writeVassal('one');
    // pyenv's interpreter lives under /root, which other users cannot enter: Debian's python3 then.
    const emperor = await startEmperor(l, ['--uid', 'nobody', '--gid', '65534', '--vassal-set', 'python=/usr/bin/python3']);
    try {
      await serving(l.sock('one'));
      await emperor.waitForLog(/setuid\(\) to 65534/);
      for (const pid of [emperor.pid, await vassalPid(l, 'one.ini')]) {
        assert.equal(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1], '65534');
      }
      const refused = await runNuwsgi(['--emperor', l.vassals, '--emperor-tyrant', '--uid', 'nobody']);
      assert.equal(refused.code, 1);
      assert.match(refused.logs, /emperor-tyrant cannot be combined with uid\/gid/);
    } finally {
      await stopEmperor(emperor, l);
    }
  });

  test('tyrant mode runs each vassal as its file owner and refuses root-owned files', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const l = layout();
    const nobody = 65534;
    // pyenv's interpreter lives under /root, which other users cannot enter: Debian's python3 then.
    const file = l.writeVassal('mine', '[uwsgi]\nenv = VERSION=mine\npython = /usr/bin/python3\n');
    chownSync(file, nobody, nobody);
    l.writeVassal('rooted');
    const emperor = await startEmperor(l, ['--emperor-tyrant']);
    try {
      await serving(l.sock('mine'));
      const master = await vassalPid(l, 'mine.ini');
      const uid = readFileSync(`/proc/${master}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
      assert.equal(uid, String(nobody));
      await emperor.waitForLog(/\[emperor-tyrant\] dropping privileges to 65534 65534 for instance mine\.ini/);
      await emperor.waitForLog(/\[emperor-tyrant\] invalid permissions for vassal rooted\.ini/);
      assert.equal(count(emperor, /invalid permissions for vassal rooted\.ini/), 1, 'refused once, not at every scan');
      assert.equal(existsSync(l.sock('rooted')), false);
    } finally {
      await stopEmperor(emperor, l);
    }
  });
});

/** Stops the emperor (if a test left it running) and checks that no vassal outlived it. */
async function stopEmperor(emperor: ServerProcess, l: Layout): Promise<void> {
  await emperor.stop('SIGTERM', 40_000);
  const left = listProcesses().filter((p) => p.state !== 'Z' && seenVassals.has(p.pid));
  for (const p of left) killGroup(p.pid, 'SIGKILL');
  assert.deepEqual(left.map((p) => p.pid), [], `vassals left behind in ${l.root}`);
}
