/**
 * The instance's master as seen from outside: its pidfile and /proc, what
 * start-stop-daemon --pidfile and pidofproc look at.
 */
import { readFileSync } from 'node:fs';

export type PidfileState = { kind: 'missing' } | { kind: 'unreadable' } | { kind: 'empty' } | { kind: 'pid'; pid: number };

export function readPidfile(file: string): PidfileState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable' };
  }
  const first = text.split('\n')[0]?.trim() ?? '';
  return /^\d+$/.test(first) && Number(first) > 0 ? { kind: 'pid', pid: Number(first) } : { kind: 'empty' };
}

/**
 * True if pid is alive and is a nuwsgi process. start-stop-daemon checks the
 * executable (--exec /usr/bin/uwsgi); ours is node, so the command line
 * must name nuwsgi: a pid reused by an unrelated process is not our daemon.
 */
export function isNuwsgiProcess(pid: number): boolean {
  let stat: string;
  let cmdline: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && /nuwsgi/.test(cmdline);
}

/** The pid of the instance's running master, or undefined. */
export function runningPid(pidfile: string): number | undefined {
  const state = readPidfile(pidfile);
  return state.kind === 'pid' && isNuwsgiProcess(state.pid) ? state.pid : undefined;
}

/** Sends a signal; false when the process is gone. */
export function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

const POLL_MS = 50;

/** Resolves true once pid is no longer a live nuwsgi process, false at the deadline. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isNuwsgiProcess(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}
