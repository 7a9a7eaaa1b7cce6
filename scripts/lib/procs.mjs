// Finding processes a test run left behind, from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

function readText(path) {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** pid, ppid, state, start time (clock ticks since boot), cmdline of one process. */
export function procInfo(pid) {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const cmdline = (readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
  return { pid, state: fields[0], ppid: Number(fields[1]), startTicks: Number(fields[19]), cmdline };
}

export function allPids() {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** True if the process's environment contains exactly `name=value`. */
export function hasEnv(pid, name, value) {
  const env = readText(`/proc/${pid}/environ`);
  return env !== undefined && env.split('\0').includes(`${name}=${value}`);
}

/** This process and its ancestors: never reported as leftovers. */
export function selfAndAncestors() {
  const out = new Set();
  for (let pid = process.pid; pid > 1 && !out.has(pid); ) {
    out.add(pid);
    const info = procInfo(pid);
    if (info === undefined) break;
    pid = info.ppid;
  }
  return out;
}

/** Start time of this process in clock ticks since boot (field 22 of stat). */
export function selfStartTicks() {
  return procInfo(process.pid)?.startTicks ?? 0;
}

/** Matches how a nuwsgi server shows up: bin/nuwsgi, the compiled CLI, or a "nuwsgi ..." process title. */
export const NUWSGI_CMDLINE = /(^|[\s/])bin\/nuwsgi(\s|$)|dist\/src\/cli\/|^nuwsgi(\s|$)/;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Live (non-zombie) processes matching `pred`, polled until none are left
 * or `graceMs` passes (a SIGKILL sent just before may still be in flight).
 */
export async function survivors(pred, graceMs) {
  const skip = selfAndAncestors();
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = allPids()
      .filter((pid) => !skip.has(pid))
      .map(procInfo)
      .filter((p) => p !== undefined && p.state !== 'Z' && pred(p));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(100);
  }
}
