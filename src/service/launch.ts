/**
 * Starting one instance's daemon: the command line the init script builds
 * (inherited config, the app's file, the log), the environment, and the wait.
 *
 * Debian runs `uwsgi --ini default.ini --ini APP.ini --daemonize LOG` and then
 * only checks that the pidfile's process exists. nuwsgi-service passes
 * --daemonize2 instead: the foreground nuwsgi exits 0 once every worker is
 * ready, or with the daemon's exit code if it dies first (an app that
 * cannot be imported exits 22), so `start` reports what really happened.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../config';
import { resolveIdentity } from '../master/privileges';
import { conffileOptionName, typeOfConffile } from './conffiles';
import type { Instance } from './instance';
import type { ServiceLayout } from './layout';

/** The init script's PATH, which the daemons inherit: an admin's pyenv or venv on PATH must not pick the app's python. */
export const DAEMON_PATH = '/sbin:/usr/sbin:/bin:/usr/bin';

/** Who owns the instance's run directory and log file: the app's uid/gid. */
export interface Owner {
  uid: number;
  gid: number;
}

export interface LaunchPlan {
  /** Arguments after the nuwsgi entry script. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  owner: Owner;
}

/** Thrown for anything that makes an instance unstartable before it is started; the message is for the admin. */
export class LaunchError extends Error {}

/**
 * What to run for an instance. Reads the app's configuration as the daemon
 * will (placeholders, includes, the inherited file) to learn its uid/gid and
 * pidfile, where Debian greps the file for `uid =`.
 */
export function launchPlan(layout: ServiceLayout, instance: Instance, conffile: string): LaunchPlan {
  const inherited = layout.settings.inheritedConfig;
  const argv = [`--${optionFor(inherited)}`, inherited, `--${optionFor(conffile)}`, conffile];
  const env = daemonEnv(instance);
  let options;
  try {
    options = loadConfig(argv, env, '/').options;
  } catch (err) {
    throw new LaunchError((err as Error).message);
  }
  const pidfile = options.str('pidfile');
  if (pidfile === undefined || path.resolve('/', pidfile) !== instance.pidfile) {
    throw new LaunchError(
      `its pidfile is ${pidfile ?? 'not set'}, but nuwsgi-service finds the instance by ${instance.pidfile} ` +
        `(set by ${inherited}): do not set pidfile in ${conffile}`,
    );
  }
  return { argv: [...argv, '--daemonize2', instance.logfile], env, owner: ownerOf(options.str('uid'), options.str('gid')) };
}

function optionFor(file: string): string {
  const type = typeOfConffile(file);
  if (type === undefined) throw new LaunchError(`${file} is not a configuration file nuwsgi knows (by its extension)`);
  return conffileOptionName(type);
}

/**
 * The caller's environment, as when an init script is run by hand, with the
 * init script's PATH, the two variables default.ini reads
 * (%(deb-confnamespace), %(deb-confname)), and nothing that belongs to the
 * caller's own service manager.
 */
export function daemonEnv(instance: Instance): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const callers = ['NOTIFY_SOCKET', 'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NUWSGI_SERVICE_ROOT', 'NUWSGI_DEB_CONFNAMESPACE', 'NUWSGI_DEB_CONFNAME'];
  for (const name of callers) delete env[name];
  env['PATH'] = DAEMON_PATH;
  env['UWSGI_DEB_CONFNAMESPACE'] = instance.namespace;
  env['UWSGI_DEB_CONFNAME'] = instance.name;
  return env;
}

/** The uid/gid the app runs as (its primary group when only uid is set); ours when it sets none. */
function ownerOf(uid: string | undefined, gid: string | undefined): Owner {
  let identity;
  try {
    identity = resolveIdentity(uid, gid);
  } catch (err) {
    throw new LaunchError((err as Error).message);
  }
  const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return identity === undefined ? self : { uid: identity.uid, gid: identity.gid ?? self.gid };
}

export type LaunchOutcome = { kind: 'ready' } | { kind: 'failed'; message: string } | { kind: 'timeout'; daemonPid: number | undefined };

/** Keep this much of the foreground's stderr for the failure message. */
const STDERR_TAIL = 4096;

/** Runs nuwsgi --daemonize2 and waits for the foreground process: ready, failed, or still not ready at the deadline. */
export function launch(layout: ServiceLayout, plan: LaunchPlan): Promise<LaunchOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [layout.daemon, ...plan.argv], { cwd: '/', env: plan.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ kind: 'timeout', daemonPid: daemonPidFrom(stderr) });
    }, layout.settings.readyTimeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'failed', message: `cannot run ${layout.daemon}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ kind: 'ready' });
      else resolve({ kind: 'failed', message: `nuwsgi exited with ${signal ?? `code ${code ?? '?'}`}:\n${stderr.trimEnd()}` });
    });
  });
}

/** The daemon's pid from the foreground's "*** daemonizing nuwsgi (pid: N) ..." line. */
function daemonPidFrom(stderr: string): number | undefined {
  const m = /daemonizing nuwsgi \(pid: (\d+)\)/.exec(stderr);
  return m === null ? undefined : Number(m[1]);
}
