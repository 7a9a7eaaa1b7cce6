// Issue 10: the master-side options real configs use — process titles,
// attached daemons, cron, hooks, memory-report — checked on real processes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { repoRoot, runNuwsgi, startNuwsgi, startUwsgi, type ServerProcess } from '../helpers/server';
import { loadWhile, until } from '../helpers/load';
import { descendants, isAlive } from '../helpers/procs';
import { makeTempDir } from '../helpers/tmp';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');
const PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';
const haveUwsgi = spawnSync('uwsgi', ['--version'], { encoding: 'utf8' }).status === 0 && existsSync(PYTHON_PLUGIN);

/** What `ps` shows: /proc/PID/cmdline with its NULs as spaces, trailing padding dropped. */
function title(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ').trim();
}

function psArgs(pid: number): string {
  return spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
}

/** The master's own title and its workers' (every direct child), sorted. */
async function titles(server: ServerProcess, workers: number): Promise<string[]> {
  let children: number[] = [];
  await until(() => {
    const all = descendants(server.pid).map((pid) => ({ pid, title: title(pid) }));
    // A worker just forked still shows node's command line (".../worker/main.js") until it sets its title.
    if (all.some((p) => p.title.includes('worker/main.js'))) return false;
    // uWSGI's master renames itself after forking its workers: until then it shows its command line.
    if (title(server.pid).includes(' --')) return false;
    children = all.filter((p) => /worker/.test(p.title)).map((p) => p.pid);
    return children.length === workers;
  }, 10_000, `${workers} workers with their titles`);
  return [title(server.pid), ...children.map(title).sort()];
}

function readPid(file: string): number {
  try {
    return Number.parseInt(readFileSync(file, 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}

describe('process titles (auto-procname, procname-*)', () => {
  const args = ['--master', '--processes', '2', '--auto-procname', '--procname-prefix-spaced', 'shop'];

  test('"shop uWSGI master" and "shop uWSGI worker N", as ps shows them', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), ...args]);
    try {
      assert.deepEqual(await titles(server, 2), ['shop uWSGI master', 'shop uWSGI worker 1', 'shop uWSGI worker 2']);
      assert.equal(psArgs(server.pid), 'shop uWSGI master');
    } finally {
      await server.stop();
    }
  });

  test('procname-master and procname replace the names; the prefix stays', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '1', '--procname-prefix', 'x-', '--procname-master', 'boss', '--procname', 'hand']);
    try {
      assert.equal(title(server.pid), 'x-boss');
      await until(() => descendants(server.pid).some((pid) => title(pid) === 'x-hand'), 10_000, 'the worker titled x-hand');
    } finally {
      await server.stop();
    }
  });

  test('uWSGI oracle: the same titles', { skip: haveUwsgi ? false : 'uwsgi with the python3 plugin is not installed' }, async () => {
    const server = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), ...args]);
    try {
      assert.deepEqual(await titles(server, 2), ['shop uWSGI master', 'shop uWSGI worker 1', 'shop uWSGI worker 2']);
    } finally {
      await server.stop();
    }
  });
});

describe('attached daemons', () => {
  test('attach-daemon: started after the workers, restarted when killed (throttled), stopped with the master', async () => {
    const dir = makeTempDir();
    const pidFile = join(dir, 'daemon.pid');
    const daemon = `echo $$ > ${pidFile}; echo daemon-says-hello; exec sleep 300`;
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--attach-daemon', daemon]);
    let last = 0;
    try {
      await server.waitForLog(/\[uwsgi-daemons\] spawning "echo \$\$ > .*" \(uid: \d+ gid: \d+\)/);
      await server.waitForLog(/^daemon-says-hello$/); // its output is in the master's log
      await until(() => readPid(pidFile) > 0 && isAlive(readPid(pidFile)), 10_000, 'the daemon running');
      const first = readPid(pidFile);
      assert.ok(server.logs().indexOf('spawned nuwsgi worker 1') < server.logs().indexOf('[uwsgi-daemons] spawning'));
      process.kill(first, 'SIGKILL');
      await server.waitForLog(/\[uwsgi-daemons\] respawning "echo/);
      await until(() => readPid(pidFile) !== first && isAlive(readPid(pidFile)), 10_000, 'a new daemon');
      last = readPid(pidFile);
    } finally {
      const stopped = await server.stop();
      assert.deepEqual(stopped.orphans, []);
    }
    assert.match(server.logs(), /\[uwsgi-daemons\] stopping daemon \(pid: \d+\): echo/);
    assert.equal(isAlive(last), false, 'the daemon is gone with the master');
  });

  test('a graceful reload (SIGHUP) restarts a plain daemon, as uWSGI\'s re-exec does', async () => {
    const dir = makeTempDir();
    const pidFile = join(dir, 'daemon.pid');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--attach-daemon', `echo $$ > ${pidFile}; exec sleep 300`]);
    let second = 0;
    try {
      await until(() => readPid(pidFile) > 0 && isAlive(readPid(pidFile)), 10_000, 'the daemon running');
      const first = readPid(pidFile);
      process.kill(server.pid, 'SIGHUP');
      await until(() => readPid(pidFile) !== first && isAlive(readPid(pidFile)), 15_000, 'a new daemon after the reload');
      second = readPid(pidFile);
      assert.equal(isAlive(first), false, 'the old daemon was stopped');
      assert.equal((await request(server.httpPort as number, { path: '/' })).status, 200);
    } finally {
      await server.stop();
    }
    assert.equal(isAlive(second), false);
  });

  test('smart-attach-daemon2: nuwsgi writes the pidfile, restarts the daemon; notifypid (attach-daemon2) stops it with the master', async () => {
    const dir = makeTempDir();
    const pidFile = join(dir, 'smart.pid');
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master',
      '--attach-daemon2', `cmd=exec sleep 300,pidfile=${pidFile},daemonize=1,notifypid=1,stopsignal=15,ns_pid=1`,
    ]);
    let second = 0;
    try {
      await server.waitForLog(/attach-daemon2: key "ns_pid" ignored/);
      await until(() => readPid(pidFile) > 0 && isAlive(readPid(pidFile)), 10_000, 'the smart daemon running');
      const first = readPid(pidFile);
      process.kill(first, 'SIGKILL');
      await until(() => readPid(pidFile) !== first && isAlive(readPid(pidFile)), 15_000, 'the smart daemon restarted');
      second = readPid(pidFile);
    } finally {
      await server.stop();
    }
    await until(() => !isAlive(second), 5_000, 'the notified smart daemon gone');
  });

  test('smart-attach-daemon: a daemon that forks away is watched through its pidfile and outlives the master, as in uWSGI', async () => {
    const dir = makeTempDir();
    const pidFile = join(dir, 'bg.pid');
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master',
      '--smart-attach-daemon', `${pidFile} sh -c 'echo $$ > ${pidFile}; exec sleep 300' &`,
    ]);
    let pid = 0;
    try {
      await until(() => readPid(pidFile) > 0 && isAlive(readPid(pidFile)), 10_000, 'the background daemon running');
      pid = readPid(pidFile);
    } finally {
      await server.stop();
    }
    try {
      assert.equal(isAlive(pid), true, 'a smart daemon survives its master (uWSGI does the same)');
      // A new master finds it by its pidfile instead of starting a second one.
      const again = await startNuwsgi([
        '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master',
        '--smart-attach-daemon', `${pidFile} sh -c 'echo $$ > ${pidFile}; exec sleep 300' &`,
      ]);
      await again.waitForLog(new RegExp(`\\[uwsgi-daemons\\] found valid/active pidfile for "sh -c .*" \\(pid: ${pid}\\)`));
      await again.stop();
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('a control daemon that exits stops the instance', async () => {
    const result = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--attach-daemon2', 'cmd=sleep 1,control=1'], { deadlineMs: 20_000 });
    assert.equal(result.timedOut, false);
    assert.match(result.logs, /control daemon "sleep 1" \(pid: \d+\) died: stopping the instance/);
    assert.match(result.logs, /goodbye to nuwsgi/);
  });
});

describe('cron', () => {
  test('cron = -1 -1 -1 -1 -1 CMD runs through the shell within the first seconds, logged as uWSGI', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'cron.out');
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--cron', `-1 -1 -1 -1 -1 echo ran-$((1+1)) >> ${out}`, '--cron2', `minute=-1,unique=1 echo two >> ${out}`]);
    try {
      await server.waitForLog(/\[uwsgi-cron\] command "echo ran-\$\(\(1\+1\)\) >> .*" registered as cron task/);
      await until(() => existsSync(out) && /ran-2/.test(readFileSync(out, 'utf8')) && /two/.test(readFileSync(out, 'utf8')), 10_000, 'both cron tasks ran');
      await server.waitForLog(/ - \[uwsgi-cron\] running "echo ran-.*" \(pid \d+\)/);
      await server.waitForLog(/\[uwsgi-cron\] command "echo ran-.*" running with pid \d+ exited after \d+ second\(s\)/);
    } finally {
      await server.stop();
    }
  });

  test('a malformed cron line is a clear configuration error', async () => {
    const result = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--cron', '* * * * * echo hi'], { deadlineMs: 20_000 });
    assert.notEqual(result.code, 0);
    assert.match(result.logs, /cron "\* \* \* \* \* echo hi": invalid cron syntax/);
  });
});

describe('hooks', () => {
  test('master-start runs once after the daemons; pre-app, post-app and accepting in each worker', async () => {
    const dir = makeTempDir();
    const marker = join(dir, 'started');
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--processes', '2',
      '--hook-master-start', `exec:echo master-start >> ${marker}`,
      '--hook-master-start', `write:${join(dir, 'w')} hello`,
      '--hook-pre-app', 'print:before the app',
      '--hook-post-app', 'putenv:HOOKED=yes',
      '--hook-post-app', 'exec:echo hooked-$HOOKED',
      '--hook-accepting', 'exec:echo accepting-now',
    ]);
    try {
      await server.waitForLog(/^running "exec:echo master-start >> .*" \(master-start\)\.\.\.$/);
      await until(() => (server.logs().match(/^accepting-now$/gm) ?? []).length === 2, 10_000, 'the accepting hook in both workers');
      assert.equal((server.logs().match(/^running "print:before the app" \(pre app\)\.\.\.$/gm) ?? []).length, 2);
      assert.equal((server.logs().match(/^before the app$/gm) ?? []).length, 2);
      assert.equal(readFileSync(marker, 'utf8'), 'master-start\n');
      assert.equal(readFileSync(join(dir, 'w'), 'utf8'), 'hello');
      assert.equal((server.logs().match(/^hooked-yes$/gm) ?? []).length, 2, 'putenv reaches what the worker runs next');
    } finally {
      await server.stop();
    }
  });

  test("post-fork runs in each worker after --chdir: Zulip's `chdir = /` + `hook-post-fork = chdir:DIR` imports the app from DIR", async () => {
    const dir = makeTempDir();
    const current = join(dir, 'current');
    mkdirSync(join(current, 'zproject'), { recursive: true });
    writeFileSync(join(current, 'zproject', '__init__.py'), '');
    writeFileSync(
      join(current, 'zproject', 'wsgi.py'),
      'import os\ndef application(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [os.getcwd().encode()]\n',
    );
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--module', 'zproject.wsgi:application', '--master', '--processes', '2',
      '--chdir', '/', '--hook-post-fork', `chdir:${current}`,
    ]);
    try {
      const res = await request(server.httpPort as number, { path: '/' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), current);
      // Ready means one worker answered: the other one's hook may still be on its way into the log.
      const postForks = (): number => (server.logs().match(/\(post-fork\)\.\.\.$/gm) ?? []).length;
      await until(() => postForks() >= 2, 20_000, 'both workers\' post-fork lines');
      assert.equal(postForks(), 2, 'once per worker');
    } finally {
      await server.stop();
    }
  });

  test('unix_signal:1 gracefully_kill_them_all: SIGHUP then stops the instance gracefully', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--hook-master-start', 'unix_signal:1 gracefully_kill_them_all']);
    await server.waitForLog(/running "unix_signal:1 gracefully_kill_them_all" \(master-start\)/);
    process.kill(server.pid, 'SIGHUP');
    const exit = await server.waitForExit();
    assert.equal(exit.code, 0);
    assert.match(server.logs(), /SIGTERM received: gracefully stopping workers/);
    assert.match(server.logs(), /goodbye to nuwsgi/);
  });

  test('a failing hook destroys the instance (uWSGI\'s FATAL line); an unknown action is a configuration error', async () => {
    const failing = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--hook-pre-app', 'exec:exit 3'], { deadlineMs: 20_000 });
    assert.equal(failing.timedOut, false);
    assert.match(failing.logs, /command "exit 3" exited with non-zero code: 3/);
    assert.match(failing.logs, /FATAL hook failed, destroying instance/);
    const unknown = await runNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--hook-master-start', 'call:uwsgi_foo'], { deadlineMs: 20_000 });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.logs, /hook action "call" is not supported by nuwsgi/);
  });
});

describe('memory-report', () => {
  for (const [name, start] of [['nuwsgi', startNuwsgi], ['uWSGI oracle', startUwsgi]] as const) {
    test(`${name}: each request line starts with the address space and rss figures`, { skip: name === 'nuwsgi' || haveUwsgi ? false : 'uwsgi with the python3 plugin is not installed' }, async () => {
      const server = await start(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--memory-report']);
      try {
        await request(server.httpPort as number, { path: '/mem' });
        const line = await server.waitForLog(/GET \/mem /);
        const m = /^\{address space usage: (\d+) bytes\/(\d+)MB\} \{rss usage: (\d+) bytes\/(\d+)MB\} \[pid: \d+\|app: 0\|req: /.exec(line);
        assert.ok(m !== null, line);
        const [vsz, vszMb, rss, rssMb] = m.slice(1).map(Number) as [number, number, number, number];
        assert.ok(rss > 10 * 1024 * 1024 && vsz > rss, line);
        assert.equal(vszMb, Math.floor(vsz / 1048576));
        assert.equal(rssMb, Math.floor(rss / 1048576));
      } finally {
        await server.stop();
      }
    });
  }
});

describe('socket flags', () => {
  test('reuse-port: two instances bind the same port and share its connections', async () => {
    const first = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--reuse-port']);
    try {
      const port = first.httpPort as number;
      const second = await startNuwsgi(['--http-socket', `127.0.0.1:${port}`, '--wsgi-file', SINK(), '--master', '--reuse-port']);
      try {
        const listeners = spawnSync('ss', ['-Htln', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim().split('\n');
        assert.equal(listeners.length, 2, listeners.join('\n'));
        for (let i = 0; i < 3; i++) assert.equal((await request(port, { path: '/' })).status, 200);
      } finally {
        await second.stop();
      }
      // Without the flag the port is taken, as before.
      const refused = await runNuwsgi(['--http-socket', `127.0.0.1:${port}`, '--wsgi-file', SINK()], { deadlineMs: 20_000 });
      assert.notEqual(refused.code, 0);
      assert.match(refused.logs, /address already in use/);
    } finally {
      await first.stop();
    }
  });

  test('so-keepalive: accepted connections carry TCP keepalive (ss shows the timer)', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--so-keepalive']);
    const { connect } = await import('node:net');
    const port = server.httpPort as number;
    const client = connect(port, '127.0.0.1');
    try {
      await new Promise((resolve) => client.once('connect', resolve));
      client.write('GET / HTTP/1.1\r\n'); // the first bytes: TCP_DEFER_ACCEPT queues the connection for accept only then
      let shown = '';
      await until(() => {
        shown = spawnSync('ss', ['-Htnoe', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).stdout;
        return /timer:\(keepalive/.test(shown);
      }, 5_000, `a keepalive timer on the server side: ${shown}`);
    } finally {
      client.destroy();
      await server.stop();
    }
  });
});

describe('deferred accept', () => {
  /** The server side of connections to `port` in `state`, as ss lists them. */
  const serverSide = (port: number, state: string): string =>
    spawnSync('ss', ['-Htnp', 'state', state, `( sport = :${port} )`], { encoding: 'utf8' }).stdout.trim();

  /**
   * A client that connected and sent nothing: with TCP_DEFER_ACCEPT the server
   * side stays in SYN-RECV (nobody accepts it) until its first bytes arrive,
   * then a worker answers; without it a worker accepts it at once.
   */
  async function silentClient(port: number, deferred: boolean): Promise<void> {
    const { connect } = await import('node:net');
    const client = connect(port, '127.0.0.1');
    try {
      await new Promise((resolve) => client.once('connect', resolve));
      if (deferred) {
        await until(() => serverSide(port, 'syn-recv') !== '', 5_000, 'the connection waiting in SYN-RECV');
        assert.equal(serverSide(port, 'established'), '', 'no worker holds a connection that sent nothing');
      } else {
        await until(() => /pid=/.test(serverSide(port, 'established')), 5_000, 'a worker holding the silent connection');
      }
      const answer = new Promise<string>((resolve) => {
        let got = '';
        client.on('data', (d: Buffer) => (got += d.toString('latin1')));
        client.on('close', () => resolve(got));
      });
      client.end('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
      assert.match(await answer, /^HTTP\/1\.[01] 200/);
    } finally {
      client.destroy();
    }
  }

  test('a TCP socket defers accept until the first bytes (uWSGI does too); --no-defer-accept turns it off', async () => {
    for (const [flags, deferred] of [[[], true], [['--no-defer-accept'], false]] as const) {
      const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', ...flags]);
      try {
        await silentClient(server.httpPort as number, deferred);
      } finally {
        await server.stop();
      }
    }
  });

  test('uWSGI defers accept the same way (oracle)', { skip: !haveUwsgi && 'uWSGI with the python3 plugin is not installed' }, async () => {
    const server = await startUwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master']);
    try {
      await silentClient(server.httpPort as number, true);
    } finally {
      await server.stop();
    }
  });
});

describe('close-on-exec', () => {
  test('accepted connections are close-on-exec already: a subprocess of the app never inherits a client', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--close-on-exec']);
    const { connect } = await import('node:net');
    const port = server.httpPort as number;
    const client = connect(port, '127.0.0.1');
    try {
      await new Promise((resolve) => client.once('connect', resolve));
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // accepted and being served: a worker holds it
      let owner: RegExpExecArray | null = null;
      await until(() => {
        const ss = spawnSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).stdout;
        owner = /pid=(\d+),fd=(\d+)/.exec(ss);
        return owner !== null;
      }, 5_000, 'the worker holding the connection');
      const [, pid, fd] = owner as unknown as [string, string, string];
      const flags = /flags:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      assert.ok(flags !== null);
      assert.ok((Number.parseInt(flags[1] as string, 8) & 0o2000000) !== 0, `O_CLOEXEC set (flags ${flags[1]})`);
    } finally {
      client.destroy();
      await server.stop();
    }
  });
});

describe('cheaper algorithms', () => {
  test('busyness: workers are added when busy, cheaped when idle, with uWSGI\'s [busyness] lines', async () => {
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--disable-logging', '--processes', '3', '--cheaper', '1',
      '--cheaper-algo', 'busyness', '--cheaper-overload', '1', '--cheaper-busyness-multiplier', '2', '--cheaper-busyness-verbose',
    ]);
    try {
      await server.waitForLog(/^\[busyness\] settings: min=25%, max=50%, overload=1, multiplier=2, respawn penalty=2$/);
      let stop: () => void = () => undefined;
      const loaded = new Promise<void>((resolve) => (stop = resolve));
      const load = loadWhile(server.httpPort as number, 4, loaded, '/slow?secs=0.05', { close: true });
      await server.waitForLog(/\[busyness\] 1s average busyness is at \d+%, will spawn 1 new worker\(s\)/, 30_000);
      await server.waitForLog(/spawned nuwsgi worker 2|Respawned nuwsgi worker 2/, 30_000);
      stop();
      assert.deepEqual((await load).failures, []);
      await server.waitForLog(/\[busyness\] 1s average busyness is at \d+%, cheap one of \d running workers/, 30_000);
      await server.waitForLog(/nuwsgi worker \d cheaped\./, 30_000);
    } finally {
      await server.stop();
    }
  });

  test('backlog: a listen queue above cheaper-overload adds a worker', async () => {
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--disable-logging', '--processes', '2', '--cheaper', '1',
      '--cheaper-algo', 'backlog', '--cheaper-overload', '2',
    ]);
    const { connect } = await import('node:net');
    const clients: Array<import('node:net').Socket> = [];
    try {
      const port = server.httpPort as number;
      // Hold the only worker in a long request, then queue connections it cannot accept meanwhile.
      const marker = join(makeTempDir(), 'inside');
      const busy = request(port, { path: `/slow?secs=8&marker=${marker}`, timeoutMs: 20_000 }).catch(() => undefined);
      await until(() => existsSync(marker), 10_000, 'the worker inside its long request');
      for (let i = 0; i < 12; i++) clients.push(connect(port, '127.0.0.1'));
      await server.waitForLog(/spawned nuwsgi worker 2|Respawned nuwsgi worker 2/, 20_000);
      for (const c of clients) c.destroy();
      await busy;
    } finally {
      for (const c of clients) c.destroy();
      await server.stop();
    }
  });
});

describe('ksm', () => {
  const mergeable = (pid: number): number => (readFileSync(`/proc/${pid}/smaps`, 'utf8').match(/^VmFlags:.*\bmg\b/gm) ?? []).length;

  test('workers mark their anonymous memory mergeable (smaps shows "mg"); without --ksm none is', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master', '--ksm']);
    const plain = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master']);
    try {
      await until(() => descendants(server.pid).some((pid) => mergeable(pid) > 10), 10_000, 'a worker with mergeable mappings');
      const [worker] = descendants(plain.pid);
      assert.equal(mergeable(worker as number), 0);
    } finally {
      await server.stop();
      await plain.stop();
    }
  });

  test('without a master, the one process marks its own memory (it was never scanned there)', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--ksm']);
    try {
      await until(() => mergeable(server.pid) > 10, 10_000, 'mergeable mappings in the single process');
    } finally {
      await server.stop();
    }
  });
});
