/**
 * --daemonize FILE / --daemonize2 FILE. Node cannot fork(2) itself, so the
 * command starts a copy of itself detached (a new session, no terminal) with
 * stdout and stderr appended to FILE, and the foreground process exits.
 *
 * --daemonize returns at once, as uWSGI's does. --daemonize2 (uWSGI:
 * "daemonize after app loading") waits until every worker is ready, so a
 * config or app error still reaches the terminal and the exit status: the
 * foreground process exits with the daemon's code if it dies first.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { NuwsgiError } from '../util/errors';

const DAEMON_ENV = '_NUWSGI_DAEMONIZED';

/** True in the detached copy: it must not daemonize again. */
export function isDaemon(): boolean {
  return process.env[DAEMON_ENV] !== undefined;
}

/**
 * Starts the detached copy and resolves with the foreground process's exit
 * code. `waitReady` is --daemonize2.
 */
export function daemonize(logFile: string, argv: readonly string[], waitReady: boolean, log: (line: string) => void): Promise<number> {
  let fd: number;
  try {
    fd = openSync(logFile, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o640);
  } catch (err) {
    throw new NuwsgiError('E_LOG_OPEN', `daemonize: cannot open ${logFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const entry = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, entry, ...argv], {
    detached: true,
    stdio: ['ignore', fd, fd, ...(waitReady ? (['ipc'] as const) : [])],
    env: { ...process.env, [DAEMON_ENV]: waitReady ? 'wait' : 'now' },
  });
  closeSync(fd);
  log(`*** daemonizing nuwsgi (pid: ${child.pid ?? '?'}), logging to ${logFile} ***`);
  if (!waitReady) {
    child.unref();
    return Promise.resolve(0);
  }
  return new Promise((resolve) => {
    child.on('message', (msg: { type?: string }) => {
      if (msg.type !== 'daemon-ready') return;
      child.disconnect();
      child.unref();
      resolve(0);
    });
    child.on('exit', (code, signal) => {
      log(`nuwsgi: the daemon exited before it was ready (${signal ?? `code ${code ?? '?'}`}); see ${logFile}`);
      resolve(code ?? 1);
    });
  });
}

/** In the detached copy of --daemonize2: tell the foreground process every worker is ready (once). */
export function reportDaemonReady(): void {
  if (process.env[DAEMON_ENV] !== 'wait' || process.send === undefined || !process.connected) return;
  process.send({ type: 'daemon-ready' });
  process.disconnect();
}
