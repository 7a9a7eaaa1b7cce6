import { fullGc, mallocTrim } from '../util/reclaim';

/**
 * Keeps the master's memory flat while workers come and go.
 *
 * Each spawn leaves the master some garbage (the worker's JSON
 * configuration, its environment, the ChildProcess and its pipes), and it
 * lives long enough (a worker's lifetime) to be promoted to V8's old
 * generation. The master allocates too little for V8 to ever run a full
 * collection, so with a worker recycled every second the old generation
 * grew by 0.3 MB a minute and glibc kept what the spawns freed: the soak saw
 * the master's RSS creep (docs/fuzzing.md, "The master's memory under
 * churn"). Nothing is retained: one full GC brings the heap back to its
 * level after warm-up. So, at most once a minute and only after a worker
 * exited, the master runs one full GC and malloc_trim(3), in the
 * background of a process that serves no request.
 */
export class ChurnReclaimer {
  private exits = 0;
  private lastMs: number;

  constructor(
    private readonly intervalMs = 60_000,
    now = Date.now(),
    private readonly reclaim: () => void = reclaimNow,
  ) {
    this.lastMs = now;
  }

  /** A worker exited: what it left behind is garbage now. */
  workerExited(): void {
    this.exits++;
  }

  /** Once a second; true when it reclaimed. */
  tick(now: number): boolean {
    if (this.exits === 0 || now - this.lastMs < this.intervalMs) return false;
    this.exits = 0;
    this.lastMs = now;
    this.reclaim();
    return true;
  }
}

/**
 * An incremental major GC (V8 marks in steps between the event loop's tasks,
 * so the master's timers and signals are not held up), then malloc_trim.
 */
function reclaimNow(): void {
  const collected = fullGc()?.({ type: 'major', execution: 'async' });
  void Promise.resolve(collected)
    .then(() => mallocTrim()?.(0))
    .catch(() => undefined); // only housekeeping: never the master's problem
}
