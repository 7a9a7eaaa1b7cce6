// nuwsgi-service against a scratch root (NUWSGI_SERVICE_ROOT): the commands of
// Debian's /etc/init.d/uwsgi over apps-enabled, with real daemons, their
// progress line and exit codes, checked against what the Debian script prints
// (observed with uwsgi 2.0.21-5.1 on Debian 12, see docs/debian.md).
//
// The root holds the packaged default.ini with its paths moved under the root
// and without uid/gid/chown-socket (those need root and are the .deb e2e
// test's business).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { listProcesses } from '../helpers/procs';
import { repoRoot } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';
import { uwsgiRequest } from '../helpers/uwsgi';

const APP = `import os


def application(environ, start_response):
    body = ('%s %d' % (os.environ.get('UWSGI_DEB_CONFNAME', '?'), os.getpid())).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
`;

/** nuwsgi-service resets PATH to the init script's, so the apps run Debian's /usr/bin/python3: it needs its libpython. */
function libpythonSkipReason(): string | undefined {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys; print("libpython%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  if (r.status !== 0) return 'no /usr/bin/python3 (the service runs apps with the init script PATH)';
  return skipReason({ debPackages: [r.stdout.trim()] });
}

interface Root {
  dir: string;
  run: (...args: string[]) => Promise<RunResult>;
  enable: (name: string, body?: string) => void;
  socket: (name: string) => string;
  pidfile: (name: string) => string;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch root laid out as the .deb installs it. */
function makeRoot(defaults = 'VERBOSE=yes\nREADY_TIMEOUT=60\n'): Root {
  const dir = makeTempDir('nuwsgi-service-');
  for (const sub of ['etc/nuwsgi/apps-available', 'etc/nuwsgi/apps-enabled', 'etc/default', 'usr/share/nuwsgi/conf', 'srv']) mkdirSync(join(dir, sub), { recursive: true });
  const packaged = readFileSync(join(repoRoot(), 'packaging', 'root', 'usr', 'share', 'nuwsgi', 'conf', 'default.ini'), 'utf8');
  const inherited = packaged.replaceAll('/run/nuwsgi/', `${dir}/run/nuwsgi/`).replace(/^(uid|gid|chown-socket) =.*$/gm, '');
  writeFileSync(join(dir, 'usr/share/nuwsgi/conf/default.ini'), inherited);
  writeFileSync(join(dir, 'etc/default/nuwsgi'), defaults);
  writeFileSync(join(dir, 'srv/app.py'), APP);
  const run = (...args: string[]): Promise<RunResult> =>
    new Promise((resolve) => {
      const bin = join(repoRoot(), 'bin', 'nuwsgi-service');
      const env = { ...process.env, NUWSGI_SERVICE_ROOT: dir, [MARK]: dir };
      execFile(process.execPath, [bin, ...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  const enable = (name: string, body = `[uwsgi]\nwsgi-file = ${dir}/srv/app.py\n`): void => {
    const available = join(dir, 'etc/nuwsgi/apps-available', `${name}.ini`);
    writeFileSync(available, body);
    symlinkSync(available, join(dir, 'etc/nuwsgi/apps-enabled', `${name}.ini`));
  };
  return {
    dir,
    run,
    enable,
    socket: (name) => join(dir, 'run/nuwsgi/app', name, 'socket'),
    pidfile: (name) => join(dir, 'run/nuwsgi/app', name, 'pid'),
  };
}

/**
 * The daemons inherit the service command's environment (as from an init
 * script run by hand), and their workers the master's: this variable marks
 * every process a root's apps started.
 */
const MARK = 'SERVICE_TEST_ROOT';

/** The apps' masters and workers still alive. */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const p of listProcesses()) {
    if (p.state === 'Z') continue;
    try {
      if (readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0').includes(`${MARK}=${dir}`)) out.push(p.pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

async function until(probe: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    assert.ok(Date.now() < deadline, `timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** "NAME WORKERPID" from the app behind the socket. */
async function ask(socket: string): Promise<{ name: string; pid: number }> {
  const res = await uwsgiRequest(socket, { path: '/' });
  assert.equal(res.status, 200);
  const [name, pid] = res.body.toString().split(' ');
  return { name: name ?? '', pid: Number(pid) };
}

function masterPid(root: Root, name: string): number {
  return Number(readFileSync(root.pidfile(name), 'utf8').trim());
}

const skip = libpythonSkipReason();

describe('nuwsgi-service over apps-enabled', { skip }, () => {
  let root: Root;

  before(() => {
    root = makeRoot();
    root.enable('one');
    root.enable('two');
  });

  // Nothing may outlive the file: stop everything, then kill what is left and fail loudly.
  after(async () => {
    if (root === undefined) return;
    await root.run('stop');
    const left = processesUnder(root.dir);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], 'processes left behind by nuwsgi-service');
  });

  test('start with no names starts every enabled app: one mark each, "done.", exit 0', async () => {
    const r = await root.run('start');
    assert.equal(r.stdout, 'Starting app server(s): nuwsgi -> . . done.\n', r.stderr);
    assert.equal(r.code, 0);
    // --daemonize2: start returned only once the workers were ready, so both answer now.
    assert.equal((await ask(root.socket('one'))).name, 'one');
    assert.equal((await ask(root.socket('two'))).name, 'two');
    const log = readFileSync(join(root.dir, 'var/log/nuwsgi/app/one.log'), 'utf8');
    assert.match(log, /WSGI app 0 \(mountpoint=''\) ready/);
    if (process.getuid?.() === 0) {
      // chown_and_chmod_pidfile: the app's user must not be able to point the pidfile elsewhere.
      const st = statSync(root.pidfile('one'));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, 0, 0o644]);
    }
  });

  test('status NAME: LSB code 0 and "nuwsgi is running."; unknown name: 3', async () => {
    assert.deepEqual(await root.run('status', 'one'), { code: 0, stdout: 'nuwsgi is running.\n', stderr: '' });
    assert.deepEqual(await root.run('status', 'nope'), { code: 3, stdout: 'nuwsgi is not running ... failed!\n', stderr: '' });
  });

  test('start of a running app is "." (already so); a name with no file is "?"; still exit 0', async () => {
    const before = masterPid(root, 'one');
    const r = await root.run('start', 'one', 'nope');
    assert.equal(r.stdout, 'Starting app server(s): nuwsgi -> . ? done.\n');
    assert.equal(r.code, 0);
    assert.equal(masterPid(root, 'one'), before, 'the running app was not restarted');
  });

  test('reload NAME is a graceful reload: same master, new workers, serving throughout', async () => {
    const master = masterPid(root, 'one');
    const { pid: oldWorker } = await ask(root.socket('one'));
    const r = await root.run('reload', 'one');
    assert.equal(r.stdout, 'Reloading app server(s): nuwsgi -> . done.\n');
    assert.equal(r.code, 0);
    const seen = new Set<number>();
    await until(async () => {
      const { pid } = await ask(root.socket('one'));
      seen.add(pid);
      return pid !== oldWorker && !processesUnder(root.dir).includes(oldWorker);
    }, 30_000, 'the old workers to be replaced');
    assert.equal(masterPid(root, 'one'), master);
  });

  test('force-reload NAME is a brutal reload through the master FIFO: same master, new workers', async () => {
    const master = masterPid(root, 'two');
    const { pid: oldWorker } = await ask(root.socket('two'));
    const r = await root.run('force-reload', 'two');
    assert.equal(r.stdout, 'Forced reloading app server(s): nuwsgi -> . done.\n');
    assert.equal(r.code, 0);
    await until(async () => {
      try {
        return (await ask(root.socket('two'))).pid !== oldWorker;
      } catch {
        return false; // workers being replaced
      }
    }, 30_000, 'new workers after the brutal reload');
    assert.equal(masterPid(root, 'two'), master);
  });

  test('stop NAME stops the master and its workers and removes its run directory', async () => {
    const master = masterPid(root, 'two');
    const r = await root.run('stop', 'two');
    assert.equal(r.stdout, 'Stopping app server(s): nuwsgi -> . done.\n');
    assert.equal(r.code, 0);
    assert.ok(!processesUnder(root.dir).includes(master));
    assert.equal(existsSync(join(root.dir, 'run/nuwsgi/app/two')), false);
    assert.equal((await ask(root.socket('one'))).name, 'one', 'the other app keeps serving');
    assert.equal((await root.run('status', 'two')).code, 3);
  });

  test('reload and force-reload of a stopped app are "!": "failed!", exit 1, the reason on stderr', async () => {
    for (const [command, word] of [['reload', 'Reloading'], ['force-reload', 'Forced reloading']] as const) {
      const r = await root.run(command, 'two');
      assert.equal(r.stdout, `${word} app server(s): nuwsgi -> ! failed!\n`);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`app/two: cannot ${command}: it is not running`));
    }
  });

  test('stop of a stopped app is "." (already so)', async () => {
    const r = await root.run('stop', 'two');
    assert.equal(r.stdout, 'Stopping app server(s): nuwsgi -> . done.\n');
    assert.equal(r.code, 0);
  });

  test('an app that cannot load is "!" at start (its exit code 22 reported), and the others are not affected', async () => {
    root.enable('broken', `[uwsgi]\nwsgi-file = ${root.dir}/srv/missing.py\n`);
    try {
      const r = await root.run('start');
      // Sorted: broken, one (already running), two.
      assert.equal(r.stdout, 'Starting app server(s): nuwsgi -> ! . . failed!\n');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /app\/broken: cannot start: nuwsgi exited with code 22/);
      // Its master wrote the pidfile before the workers failed: LSB's "dead, pidfile exists".
      assert.deepEqual(await root.run('status', 'broken'), { code: 1, stdout: 'nuwsgi is not running ... failed!\n', stderr: '' });
      assert.equal((await ask(root.socket('two'))).name, 'two');
      // stop cleans up what a dead instance left (its run directory), as Debian's does.
      assert.equal((await root.run('stop', 'broken')).code, 0);
      assert.equal(existsSync(join(root.dir, 'run/nuwsgi/app/broken')), false);
    } finally {
      rmSync(join(root.dir, 'etc/nuwsgi/apps-enabled/broken.ini'));
    }
  });

  test('restart stops then starts: a new master', async () => {
    const before = masterPid(root, 'one');
    const r = await root.run('restart', 'one');
    assert.equal(r.stdout, 'Restarting app server(s): nuwsgi -> . done.\n');
    assert.equal(r.code, 0);
    assert.notEqual(masterPid(root, 'one'), before);
    assert.equal((await ask(root.socket('one'))).name, 'one');
  });

  test('stop with no names stops every enabled app; nothing is left', async () => {
    const r = await root.run('stop');
    assert.equal(r.stdout, 'Stopping app server(s): nuwsgi -> . . done.\n');
    assert.equal(r.code, 0);
    await until(() => processesUnder(root.dir).length === 0, 10_000, 'every worker to exit after its master');
    assert.deepEqual(readdirSync(join(root.dir, 'run/nuwsgi/app')), []);
  });
});

describe('nuwsgi-service and a slow app', { skip }, () => {
  test('an app not ready after READY_TIMEOUT is "!" and stopped: nothing keeps running', async () => {
    const root = makeRoot('READY_TIMEOUT=2\n');
    writeFileSync(join(root.dir, 'srv/slow.py'), 'import time\ntime.sleep(60)\n\ndef application(environ, start_response):\n    pass\n');
    root.enable('slow', `[uwsgi]\nwsgi-file = ${root.dir}/srv/slow.py\n`);
    try {
      const r = await root.run('start');
      assert.equal(r.stdout, 'Starting app server(s): nuwsgi -> ! failed!\n');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /app\/slow: cannot start: not ready after 2 s \(READY_TIMEOUT\): stopped it/);
      await until(() => processesUnder(root.dir).length === 0, 40_000, 'the slow app to be stopped');
    } finally {
      for (const pid of processesUnder(root.dir)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('nuwsgi-service without daemons', () => {
  test('no enabled app: "(omitted; missing conffile(s) in ...)." and exit 0', async () => {
    const root = makeRoot();
    const r = await root.run('start');
    assert.equal(r.stdout, `Starting app server(s): nuwsgi (omitted; missing conffile(s) in ${root.dir}/etc/nuwsgi/apps-enabled).\n`);
    assert.equal(r.code, 0);
  });

  test('an unknown command prints the usage on stderr and exits 3; status without a name exits 4', async () => {
    const root = makeRoot();
    const r = await root.run('bogus');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Usage: nuwsgi-service \{start\|stop\|status\|restart\|reload\|force-reload\}/);
    assert.deepEqual(await root.run('status'), { code: 4, stdout: 'which one? ... failed!\n', stderr: '' });
  });

  test('PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes prints names: (app/one) already so, app/nope? missing', async () => {
    const root = makeRoot('PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n');
    root.enable('one');
    const r = await root.run('stop', 'one', 'nope');
    assert.equal(r.stdout, 'Stopping app server(s): nuwsgi -> (app/one) app/nope? done.\n');
    assert.equal(r.code, 0);
  });

  test('/etc/default/nuwsgi is read as NAME=value lines: quotes and comments understood, anything else reported', async () => {
    const root = makeRoot('# settings\nexport VERBOSE="yes" # a comment\nif true; then VERBOSE=no; fi\nREADY_TIMEOUT=soon\n');
    const r = await root.run('stop');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Stopping app server\(s\): nuwsgi \(omitted; /);
    const file = join(root.dir, 'etc/default/nuwsgi');
    assert.equal(
      r.stderr,
      `nuwsgi-service: ${file}:3: not understood (only NAME=value lines are read): if true; then VERBOSE=no; fi\n` +
        `nuwsgi-service: ${file}: READY_TIMEOUT=soon is not a number of seconds: using 90\n`,
    );
  });

  test('VERBOSE=no prints nothing', async () => {
    const root = makeRoot('VERBOSE=no\n');
    root.enable('one');
    assert.deepEqual(await root.run('stop'), { code: 0, stdout: '', stderr: '' });
  });

  test('sub-directories of apps-enabled are searched; of two files with one name the first extension wins', async () => {
    const root = makeRoot('PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n');
    mkdirSync(join(root.dir, 'etc/nuwsgi/apps-enabled/sub'));
    writeFileSync(join(root.dir, 'etc/nuwsgi/apps-enabled/sub/deep.yaml'), 'uwsgi: {}\n');
    writeFileSync(join(root.dir, 'etc/nuwsgi/apps-enabled/twice.json'), '{"uwsgi": {}}\n');
    writeFileSync(join(root.dir, 'etc/nuwsgi/apps-enabled/twice.ini'), '[uwsgi]\n');
    writeFileSync(join(root.dir, 'etc/nuwsgi/apps-enabled/notes.txt'), 'not a config\n');
    const r = await root.run('stop');
    assert.equal(r.stdout, 'Stopping app server(s): nuwsgi -> (app/deep) (app/twice) done.\n');
  });
});
