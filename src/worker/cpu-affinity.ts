/**
 * --cpu-affinity N: bind a worker to N CPUs, as uWSGI's
 * uwsgi_set_cpu_affinity() does (core/utils.c), with the same mapping and the
 * same log line ("mapping worker 2 to CPUs: 1").
 *
 * uWSGI calls sched_setaffinity(0) in a worker that has one thread yet; a
 * Node worker already runs V8's and libuv's threads, so every thread in
 * /proc/self/task is bound, before the app loads. Threads started later (the
 * `--threads` cores, an ASGI loop, libuv's pool) inherit it from the thread
 * that starts them. With `--threads` it keeps the event loop and the Python
 * threads it hands requests to on the same CPU: a wake-up across CPUs costs
 * more than the hand-off itself on a small VM (docs/architecture.md, "Threads
 * and CPU affinity").
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { koffi, libc } from '../util/libc';

/**
 * Bind worker `id` to its `count` CPUs and say so as uWSGI does; a refusal
 * is logged and the worker goes on, as uWSGI's. Before the app loads.
 */
export function applyCpuAffinity(id: number, count: number, log: (line: string) => void): void {
  const cpus = affinityCpus(id, count, os.cpus().length || 1);
  const failed = bindToCpus(cpus);
  if (failed !== null) log(failed);
  log(`mapping worker ${id} to CPUs: ${cpus.join(' ')}`);
}

/** The CPUs uWSGI gives worker `id` (from 1): `count` of them from ((id - 1) * count) mod `cpus`, wrapping to 0. */
export function affinityCpus(id: number, count: number, cpus: number): number[] {
  let base = (id - 1) * count;
  if (base >= cpus) base %= cpus;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (base >= cpus) base = 0;
    out.push(base);
    base++;
  }
  return out;
}

/** sched_setaffinity(2) for one thread id; the mask is a cpu_set_t of CPU_SET_BYTES. */
export type SetAffinity = (tid: number, size: number, mask: Buffer) => number;
let setAffinity: SetAffinity | undefined;

/** A cpu_set_t's size: 1024 CPUs. */
export const CPU_SET_BYTES = 128;

/** sched_setaffinity through koffi, loaded on first use (also core-placement.ts's). */
export function schedSetAffinity(): SetAffinity {
  setAffinity ??= koffi.load('libc.so.6').func('int sched_setaffinity(int, size_t, const uint8_t *)') as SetAffinity;
  return setAffinity;
}

/** Make `mask` (a cpu_set_t) hold exactly the CPUs in `list`. */
export function fillCpuMask(mask: Buffer, list: readonly number[]): Buffer {
  mask.fill(0);
  for (const cpu of list) mask[cpu >> 3] = (mask[cpu >> 3] as number) | (1 << (cpu & 7));
  return mask;
}

const ESRCH = 3;

/**
 * Set each of `tids` to `mask`; a thread that has ended meanwhile (ESRCH) is
 * skipped. 0, or the errno of the first refusal (the threads after it are left
 * as they were).
 */
export function setThreadsAffinity(tids: Iterable<number>, mask: Buffer, set: SetAffinity, errno: () => number): number {
  for (const tid of tids) {
    if (set(tid, mask.length, mask) === 0) continue;
    const failed = errno();
    if (failed !== ESRCH) return failed;
  }
  return 0;
}

/**
 * Bind every thread of this process to `list`. Returns null, or what failed
 * in uWSGI's words ("sched_setaffinity(): Invalid argument").
 */
export function bindToCpus(list: readonly number[]): string | null {
  const mask = fillCpuMask(Buffer.alloc(CPU_SET_BYTES), list);
  const tids = readdirSync('/proc/self/task').map(Number);
  const errno = setThreadsAffinity(tids, mask, schedSetAffinity(), () => koffi.errno());
  return errno === 0 ? null : `sched_setaffinity(): ${libc().strerror(errno)}`;
}
