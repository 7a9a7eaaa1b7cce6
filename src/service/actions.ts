/**
 * The per-instance commands of /usr/share/uwsgi/init/specific_daemon, with
 * its return codes:
 *
 *   start          0 started, 1 already running, 2 could not be started
 *   stop           0 stopped, 1 was not running, 2 could not be stopped
 *   reload         0 signalled (SIGHUP: graceful reload), 3 not running
 *   force-reload   0 done, 3 not running
 *
 * Where nuwsgi's signals differ from uWSGI's (docs/differences.md), the
 * action keeps Debian's meaning, not its signal: see stopInstance and
 * forceReloadInstance.
 */
import { chmodSync, chownSync, closeSync, constants as fsc, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { absoluteConffile } from './conffiles';
import { runningPid, sendSignal, waitGone } from './daemon-process';
import type { Instance } from './instance';
import { launch, launchPlan, LaunchError, type Owner } from './launch';
import type { ServiceLayout } from './layout';

export type ActionCode = 0 | 1 | 2 | 3;

export interface ActionResult {
  code: ActionCode;
  /** Why it failed, for the admin (printed after the progress line). */
  message?: string;
}

const ROOT: Owner = { uid: 0, gid: 0 };

/** Debian's --retry=QUIT/30/KILL/5, with SIGTERM (nuwsgi's graceful stop) for QUIT. */
const STOP_GRACE_MS = 30_000;
const STOP_KILL_MS = 5_000;

export async function startInstance(layout: ServiceLayout, instance: Instance): Promise<ActionResult> {
  const conffile = absoluteConffile(layout, instance.relative);
  if (conffile === undefined) return { code: 2, message: 'its configuration file is gone' };
  try {
    const plan = launchPlan(layout, instance, conffile);
    makeDir(path.dirname(instance.rundir), ROOT);
    makeDir(instance.rundir, plan.owner);
    if (runningPid(instance.pidfile) !== undefined) return { code: 1 };
    makeLogfile(instance.logfile, plan.owner);
    const outcome = await launch(layout, plan);
    if (outcome.kind === 'timeout') {
      await stopPid(outcome.daemonPid ?? runningPid(instance.pidfile));
      return { code: 2, message: `not ready after ${layout.settings.readyTimeoutMs / 1000} s (READY_TIMEOUT): stopped it; see ${instance.logfile}` };
    }
    if (outcome.kind === 'failed') return { code: 2, message: outcome.message };
  } catch (err) {
    if (err instanceof LaunchError || isErrno(err)) return { code: 2, message: (err as Error).message };
    throw err;
  }
  securePidfile(instance.pidfile);
  if (runningPid(instance.pidfile) === undefined) return { code: 2, message: `it exited right after it was ready; see ${instance.logfile}` };
  return { code: 0 };
}

export async function stopInstance(instance: Instance): Promise<ActionResult> {
  const pid = runningPid(instance.pidfile);
  if (pid !== undefined && !(await stopPid(pid))) return { code: 2, message: `pid ${pid} still runs after SIGTERM and SIGKILL` };
  rmSync(instance.rundir, { recursive: true, force: true });
  return { code: pid === undefined ? 1 : 0 };
}

/**
 * SIGTERM, which is nuwsgi's graceful stop (in-flight requests finish; uWSGI
 * would reload), then SIGKILL. The workers exit by themselves once their
 * master is gone. True when the process is gone.
 */
async function stopPid(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return true;
  sendSignal(pid, 'SIGTERM');
  if (await waitGone(pid, STOP_GRACE_MS)) return true;
  sendSignal(pid, 'SIGKILL');
  return waitGone(pid, STOP_KILL_MS);
}

export function reloadInstance(instance: Instance): ActionResult {
  const pid = runningPid(instance.pidfile);
  return pid !== undefined && sendSignal(pid, 'SIGHUP') ? { code: 0 } : { code: 3, message: 'it is not running' };
}

/**
 * Debian sends SIGTERM, which is uWSGI's brutal reload (workers killed at
 * once, the master re-executed, the sockets kept). SIGTERM stops nuwsgi, so
 * the same brutal reload is asked through the master FIFO default.ini
 * creates: `R`.
 */
export function forceReloadInstance(instance: Instance): ActionResult {
  if (runningPid(instance.pidfile) === undefined) return { code: 3, message: 'it is not running' };
  let fd: number;
  try {
    // Non-blocking: opening a FIFO nobody reads fails (ENXIO) instead of hanging.
    fd = openSync(instance.fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (err) {
    return { code: 3, message: `cannot open its master FIFO ${instance.fifo} (${(err as NodeJS.ErrnoException).code ?? String(err)}): force-reload needs master-fifo from default.ini` };
  }
  try {
    writeSync(fd, 'R');
  } finally {
    closeSync(fd);
  }
  return { code: 0 };
}

/** `install -d -o UID -g GID -m 755 DIR`: created if needed, then owner and mode set. */
function makeDir(dir: string, owner: Owner): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  setOwner(dir, owner);
  chmodSync(dir, 0o755);
}

/**
 * The log file exists before the daemon starts and belongs to the app's user:
 * nuwsgi's processes reopen it after dropping privileges (logrotate), where
 * uWSGI only ever wrote through the descriptor it opened as root.
 */
function makeLogfile(file: string, owner: Owner): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  closeSync(openSync(file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o640));
  setOwner(file, owner);
}

/** Root sets any owner; anyone else can only run apps as themselves (a scratch tree in tests). */
function setOwner(file: string, owner: Owner): void {
  if (process.getuid?.() === 0) {
    chownSync(file, owner.uid, owner.gid);
    return;
  }
  if (owner.uid !== process.getuid?.()) throw new LaunchError(`only root can run an app as uid ${owner.uid}`);
}

/** The pidfile belongs to root, mode 644 (chown_and_chmod_pidfile): the app's user cannot point it at another process. */
function securePidfile(file: string): void {
  if (process.getuid?.() !== 0) return;
  try {
    chownSync(file, 0, 0);
    chmodSync(file, 0o644);
  } catch {
    /* the daemon is gone: the caller's check reports it */
  }
}

function isErrno(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | undefined)?.code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined;
}
