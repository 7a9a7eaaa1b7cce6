import { collectAllGarbage, fullGc, mallocTrim } from '../util/reclaim';

/**
 * Gives request-body memory back to the system once the bodies are gone.
 *
 * A body's chunks live in Buffers outside V8's heap, but they are freed only
 * when V8 collects their small JS wrappers, and V8 sees no reason to collect
 * while the worker is idle; glibc then keeps the freed pieces in its arenas.
 * Measured (docs/hardening.md): 200 uploads holding 1 MB each left a worker
 * at 277 MB two minutes after the clients left. So when a worker has held
 * many body bytes and most are gone, it collects its garbage (collectAllGarbage:
 * two full GCs, so that the dead Buffers are freed, not only found dead) and
 * runs malloc_trim(3) at its next once-a-second sweep: a few milliseconds,
 * only after a burst of big bodies. Each trim first gives back what stays
 * allocated but idle (`releaseIdle`: the pages of the ASGI slots no request
 * uses, AsgiRunner.releaseIdleMemory), which no malloc_trim can return.
 */
export interface TrimmableBudget {
  usedBytes: number;
  peakBytes: number;
  /** Body bytes received in all (memory or disk) since the worker started. */
  throughBytes: number;
}

/** Sweeps (seconds) between a burst's trim and its follow-up. */
const FOLLOW_UP_SWEEPS = 5;

/** Idle memory given back, the garbage collected and freed (collectAllGarbage: freed, not only found dead), then glibc gives it back. */
function trimNow(releaseIdle: () => void): true {
  releaseIdle();
  collectAllGarbage();
  mallocTrim()?.(0);
  return true;
}

export class MemoryTrimmer {
  private readonly thresholdBytes: number;
  private armed = false;
  private throughAtArm = 0;
  private lastThrough = 0;
  private peakConnections = 0;
  /** Sweeps until the follow-up trim of the last burst (0: none pending). */
  private followUpIn = 0;
  /** Gives back memory that stays allocated but is idle (the ASGI slots' regions). */
  private readonly releaseIdle: () => void;

  constructor(thresholdBytes = 32 << 20, releaseIdle: () => void = () => undefined) {
    this.thresholdBytes = thresholdBytes;
    this.releaseIdle = releaseIdle;
  }

  /** The worker's connection count changed: many connections gone arms a trim (their buffers). */
  connections(count: number): void {
    if (count > this.peakConnections) this.peakConnections = count;
    if (this.peakConnections >= 64 && count <= this.peakConnections / 4) {
      this.armed = true;
      this.peakConnections = count;
    }
  }

  /**
   * Called by the once-a-second sweep. A trim is armed by a burst of body
   * bytes (32 MiB since the last one) or by most of many connections going,
   * and runs at the first quiet second (no body bytes arriving) where most of
   * the in-memory bodies are gone: steady traffic never pays for a full GC.
   */
  maybeTrim(budget: TrimmableBudget): boolean {
    if (budget.throughBytes - this.throughAtArm >= this.thresholdBytes) this.armed = true;
    const quiet = budget.throughBytes === this.lastThrough;
    this.lastThrough = budget.throughBytes;
    if (this.followUpIn > 0 && --this.followUpIn === 0) {
      if (!quiet) this.followUpIn = 1; // bytes still arriving: try at the next sweep
      else if (!this.armed) return trimNow(this.releaseIdle);
    }
    if (!this.armed || !quiet || budget.usedBytes > budget.peakBytes / 4) return false;
    this.armed = false;
    this.throughAtArm = budget.throughBytes;
    budget.peakBytes = budget.usedBytes;
    // What a burst held is still being freed for a while after its bytes stop (the app's objects,
    // responses going out, connections closing): one more trim a few sweeps later gives that back
    // too, rather than leaving it until the next burst (seen as a worker kept 100 MB up).
    this.followUpIn = FOLLOW_UP_SWEEPS;
    return trimNow(this.releaseIdle);
  }
}

/**
 * Once a process has started (a worker: its app imported; the master: its
 * config read and workers spawned), most of what startup allocated is garbage:
 * V8's from module loading, glibc's from Python compiling the app's modules.
 * glibc keeps freed pages until malloc_trim(3) hands them back. Measured
 * (docs/architecture.md, "Memory"): -2.4 MB PSS per hello worker, -2.5 MB per
 * Flask worker, -0.8 MB for the master. A few milliseconds, once.
 * `withGc` is for processes that have the global gc() (workers).
 */
export function releaseStartupMemory(withGc: boolean): void {
  if (withGc) fullGc()?.(); // one GC, as measured in docs/architecture.md; the burst trimmer needs two (trimNow)
  mallocTrim()?.(0);
}
