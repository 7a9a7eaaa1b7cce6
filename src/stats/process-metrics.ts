/**
 * The standard Prometheus `process_*` metrics (the names every client
 * library exports: process_cpu_seconds_total, process_resident_memory_bytes,
 * ...) for any pid, read from Linux's /proc: the master reads them for itself
 * and each worker, the emperor for each vassal's master. No process is asked
 * anything, so a worker stuck in Python is measured all the same.
 *
 * The parsers are pure (text in, numbers out) and tested on captured text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pageSize } from './procfs';

export interface ProcessFigures {
  pid: number;
  /** The parent's pid: lets the master check a pid is still its worker. */
  ppid: number;
  cpuSeconds: number;
  residentBytes: number;
  virtualBytes: number;
  startTimeSeconds: number;
  /** undefined when /proc/PID/fd cannot be listed (another user's process). */
  openFds: number | undefined;
  maxFds: number | undefined;
}

/**
 * Linux reports times in /proc in USER_HZ, which is 100 on every
 * architecture Node runs on (the kernel converts from its internal HZ).
 */
const USER_HZ = 100;

export interface StatFields {
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Ticks after boot at which the process started. */
  startTicks: number;
  vsizeBytes: number;
  rssPages: number;
}

/**
 * /proc/PID/stat: "pid (comm) state ppid ...". The command name may hold
 * spaces and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): StatFields | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ')': field 3 (state) is index 0, so field N is index N - 3.
  const f = text.slice(close + 1).trim().split(/\s+/).map(Number);
  const at = (field: number): number => f[field - 3] ?? Number.NaN;
  const out = { ppid: at(4), cpuTicks: at(14) + at(15), startTicks: at(22), vsizeBytes: at(23), rssPages: at(24) };
  return Object.values(out).every(Number.isFinite) ? out : undefined;
}

/** /proc/stat's "btime N": boot time, epoch seconds. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d+)$/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** /proc/PID/limits: the soft "Max open files" ("unlimited" = undefined). */
export function parseMaxOpenFiles(text: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return m === null || m[1] === 'unlimited' ? undefined : Number(m[1]);
}

let bootTime: number | undefined;

function readBootTime(): number {
  if (bootTime === undefined) {
    try {
      bootTime = parseBootTime(readFileSync('/proc/stat', 'latin1')) ?? 0;
    } catch {
      bootTime = 0;
    }
  }
  return bootTime;
}

/** Everything /proc says about `pid`; undefined when the process is gone (or this is not Linux). */
export function readProcessFigures(pid: number): ProcessFigures | undefined {
  let stat: StatFields | undefined;
  try {
    stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
  if (stat === undefined) return undefined;
  return {
    pid,
    ppid: stat.ppid,
    cpuSeconds: stat.cpuTicks / USER_HZ,
    residentBytes: stat.rssPages * pageSize(),
    virtualBytes: stat.vsizeBytes,
    startTimeSeconds: readBootTime() + stat.startTicks / USER_HZ,
    openFds: countFds(pid),
    maxFds: readMaxFds(pid),
  };
}

function countFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function readMaxFds(pid: number): number | undefined {
  try {
    return parseMaxOpenFiles(readFileSync(`/proc/${pid}/limits`, 'latin1'));
  } catch {
    return undefined;
  }
}
