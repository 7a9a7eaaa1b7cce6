/**
 * Deferred response writes for the inline runner (threads = 1).
 *
 * When a pump takes several requests through Python in one loop turn, their
 * complete responses can be written together after the last one instead of
 * one write(2) between each two Python calls: Python's code stays hot in the
 * CPU caches for the whole run of calls, then the kernel's for the run of
 * writes, and the client sees its responses in bursts, so each loop turn
 * finds more requests ready (measured in docs/architecture.md, "Performance
 * notes": about a fifth of a small Flask request's CPU).
 *
 * A deferred response must never wait long: the runner flushes the batch
 * before any Python call it cannot expect to be short (see InlineRunner).
 */

// The global `performance` is a lazy getter on globalThis, called on every use: the module's object is not.
import { performance } from 'node:perf_hooks';

/** What a deferred write goes to: a connection's transport, written in order. */
export interface BatchTarget {
  /** Write now (the batch's flush). */
  writeNow(data: Buffer): boolean;
  /** What to do once the deferred bytes before it are written. */
  settleNow(action: BatchAction): void;
}

export type BatchAction = 'end' | 'close' | 'destroy';

class WriteBatch {
  /**
   * Slots [0, size) are pending. The arrays keep their length between
   * flushes (emptied slots are nulled for the GC): `length = 0` on an array
   * is a store through V8's runtime, per flush (`StoreCallbackProperty`).
   */
  private readonly targets: Array<BatchTarget | null> = [];
  private readonly items: Array<Buffer | BatchAction | null> = [];
  private size = 0;
  /** performance.now() when the oldest pending item was pushed; 0 when none is pending. */
  oldestAt = 0;

  push(target: BatchTarget, item: Buffer | BatchAction): void {
    const at = this.size;
    if (at === 0) this.oldestAt = performance.now();
    if (at < this.items.length) {
      this.targets[at] = target;
      this.items[at] = item;
    } else {
      this.targets.push(target);
      this.items.push(item);
    }
    this.size = at + 1;
  }

  get pending(): boolean {
    return this.size > 0;
  }

  /** Write (and close) everything deferred, in the order it was deferred. */
  flush(): void {
    // Indexes, not a copy: a flush can defer nothing new (batching is off while it runs).
    for (let i = 0; i < this.size; i++) {
      const target = this.targets[i] as BatchTarget;
      const item = this.items[i] as Buffer | BatchAction;
      this.targets[i] = null;
      this.items[i] = null;
      if (typeof item === 'string') target.settleNow(item);
      else target.writeNow(item);
    }
    this.size = 0;
    this.oldestAt = 0;
  }
}

/** The batch writes go into now (open), or null when writes are direct. */
let current: WriteBatch | null = null;
/** withWriteBatch's batch, empty, kept for its next call (one pump per loop turn). */
let spareBatch: WriteBatch | null = null;
/** The threaded runner's batch: closed to new writers between `deferInTurn` calls, flushed at the end of the loop turn. */
let turnBatch: WriteBatch | null = null;

/** The batch writes go into now, or null when writes are direct. */
export function activeBatch(): WriteBatch | null {
  return current;
}

/**
 * Where a connection's write goes when it already has writes waiting in a
 * batch: behind them, whether or not the batch is open (order on the wire).
 */
export function batchHolding(): WriteBatch | null {
  return current ?? turnBatch;
}

/**
 * The threaded runner: writes made by `fn` wait for the end of this loop turn
 * (setImmediate), with those of the other responses completed in the same
 * turn. Python runs on other threads, so nothing waits behind a Python call:
 * at most behind the rest of the turn's callbacks.
 */
export function deferInTurn(fn: () => void): void {
  if (current !== null) {
    fn();
    return;
  }
  if (turnBatch === null) {
    turnBatch = new WriteBatch();
    setImmediate(flushTurn);
  }
  current = turnBatch;
  try {
    fn();
  } finally {
    current = null;
  }
}

/** What waits for the turn batch's writes (afterTurnWrites); swapped with `runningAfterTurn` at each flush. */
let afterTurn: Array<() => void> = [];
let runningAfterTurn: Array<() => void> = [];

/**
 * Runs `fn` once the writes deferred in this loop turn (deferInTurn) are
 * written: at once when none are pending.
 */
export function afterTurnWrites(fn: () => void): void {
  if (turnBatch === null) fn();
  else afterTurn.push(fn);
}

function flushTurn(): void {
  const batch = turnBatch;
  turnBatch = null;
  batch?.flush();
  // What these start may defer writes again: into a new turn batch, with its own list.
  const waiting = afterTurn;
  afterTurn = runningAfterTurn;
  runningAfterTurn = waiting;
  for (let i = 0; i < waiting.length; i++) (waiting[i] as () => void)();
  waiting.length = 0;
}

/** Run `fn` with complete responses deferred until it returns (or until `flushBatch`/`endBatch`). */
export function withWriteBatch(fn: () => void): void {
  if (current !== null) {
    fn();
    return;
  }
  const batch = (current = spareBatch ?? new WriteBatch());
  spareBatch = null;
  try {
    fn();
  } finally {
    current = null;
    batch.flush();
    if (!batch.pending) spareBatch = batch;
  }
}

/** Write what is deferred now; later writes are deferred again. */
export function flushBatch(): void {
  const batch = current;
  if (batch === null || !batch.pending) return;
  current = null; // a write that fails may close a connection: that close must not be deferred into the batch being flushed
  try {
    batch.flush();
  } finally {
    current = batch;
  }
}

/**
 * Write what is deferred and stop deferring until the batch ends: a
 * streaming response needs its writes (and their backpressure) to be real.
 */
export function endBatch(): void {
  const batch = current;
  current = null;
  batch?.flush();
}

/** How long the oldest deferred response has waited, ms (0 when none). */
export function batchAgeMs(now: number): number {
  const batch = current;
  return batch === null || !batch.pending ? 0 : now - batch.oldestAt;
}
