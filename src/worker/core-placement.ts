/**
 * `--threads-follow-loop` (on by default): a threaded worker's core threads
 * are kept on the CPU its event loop runs on.
 *
 * Every request in threads mode is a hand-off: the loop wakes a sleeping core
 * thread, the core wakes the loop with its completion. On the 2-CPU VMs this
 * project is measured on, waking a thread that sleeps on the *other* CPU costs
 * ~19 µs of CPU, against ~2.6 µs on the same CPU (`bench/wakeup.c`: 38-43 µs
 * per cross-CPU round trip, 5.2 pinned). That is more than hello's whole
 * request and a third of Flask's (docs/architecture.md, "Threads: the price of
 * a wake-up"). With the GIL only one core runs Python at a time, so a worker
 * whose cores share its loop's CPU asks the machine for what an inline
 * (threads = 1) worker does: one CPU's worth, and the loop (never pinned) can
 * still move; the cores follow at the next hand-off.
 *
 * Cost: one sched_getcpu() per hand-off (vDSO), and a sched_setaffinity() per
 * core thread only when the loop has moved (4-7 times per 65,536 hand-offs
 * under wrk).
 */
import os from 'node:os';
import { koffi } from '../util/libc';
import { CPU_SET_BYTES, fillCpuMask, schedSetAffinity, setThreadsAffinity, type SetAffinity } from './cpu-affinity';

type GetCpu = () => number;

/** What the placement needs from the system (injectable for tests). */
export interface PlacementCalls {
  getCpu: GetCpu;
  setAffinity: SetAffinity;
  /** errno of the last failed call. */
  errno: () => number;
}

export class CoreThreadPlacement {
  private cpu = -1;
  private readonly mask = Buffer.alloc(CPU_SET_BYTES);
  /** Set once sched_setaffinity is refused (a seccomp filter, a cpuset): the cores stay where the kernel puts them. */
  private gaveUp = false;
  /** How many times the cores were moved (for tests and the curious). */
  moves = 0;

  constructor(
    private readonly tids: readonly number[],
    private readonly calls: PlacementCalls,
    private readonly log: (line: string) => void,
  ) {}

  /** Before waking a core: if the loop runs on another CPU than the cores' one, move them there. */
  follow(): void {
    if (this.gaveUp) return;
    const cpu = this.calls.getCpu();
    if (cpu === this.cpu || cpu < 0 || cpu >= CPU_SET_BYTES * 8) return;
    fillCpuMask(this.mask, [cpu]);
    // A core thread that has ended (ESRCH: the worker is exiting) is skipped.
    const errno = setThreadsAffinity(this.tids, this.mask, this.calls.setAffinity, this.calls.errno);
    if (errno !== 0) {
      this.gaveUp = true;
      this.log(`--threads-follow-loop: sched_setaffinity() failed (errno ${errno}): the core threads stay where the kernel puts them\n`);
      return;
    }
    this.cpu = cpu;
    this.moves++;
  }
}

let systemCalls: PlacementCalls | null | undefined;

/** sched_getcpu and sched_setaffinity through koffi, or null where they cannot be loaded. */
function placementCalls(): PlacementCalls | null {
  if (systemCalls === undefined) {
    try {
      systemCalls = {
        getCpu: koffi.load('libc.so.6').func('int sched_getcpu()') as GetCpu,
        setAffinity: schedSetAffinity(),
        errno: () => koffi.errno(),
      };
    } catch {
      systemCalls = null;
    }
  }
  return systemCalls;
}

/**
 * The placement for these core threads, or null when it has nothing to do:
 * one CPU, no thread ids, or the calls are unavailable.
 */
export function coreThreadPlacement(tids: readonly number[], log: (line: string) => void): CoreThreadPlacement | null {
  if (tids.length === 0 || os.availableParallelism() < 2) return null;
  const calls = placementCalls();
  return calls === null ? null : new CoreThreadPlacement(tids, calls, log);
}
