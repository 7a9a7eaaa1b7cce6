/**
 * How long a vassal that keeps dying waits before its next start: never a
 * busy loop, and one broken vassal never slows the others (each has its own).
 *
 * uWSGI blacklists a vassal that dies before it was ever loyal and grows its
 * delay by `emperor-throttle` per death (and halves it again once it reaches
 * the maximum). nuwsgi doubles it from `emperor-throttle` up to
 * `emperor-max-throttle` and stays there: a vassal that is broken for good
 * is retried every 3 minutes, not in a saw-tooth.
 */
export interface ThrottleStep {
  delayMs: number;
  /** The consecutive deaths so far (1 for the first). */
  attempt: number;
  /** The second death in a row: uWSGI's "unloyal bad behaving vassal found". */
  badBehaving: boolean;
  /** The delay was already at the maximum. */
  maxReached: boolean;
}

export class Throttle {
  private attempts = 0;
  private levelMs = 0;
  private firstAttemptMs = 0;
  private lastAttemptMs = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** A death of a vassal that never became loyal: the delay before the next start. */
  next(now: number): ThrottleStep {
    this.attempts++;
    const maxReached = this.levelMs >= this.maxMs;
    this.levelMs = this.attempts === 1 ? Math.min(this.baseMs, this.maxMs) : Math.min(this.levelMs * 2, this.maxMs);
    if (this.attempts === 1) this.firstAttemptMs = now;
    this.lastAttemptMs = now;
    return { delayMs: this.levelMs, attempt: this.attempts, badBehaving: this.attempts === 2, maxReached };
  }

  /** The vassal became loyal (or the blacklist was cleared). */
  reset(): void {
    this.attempts = 0;
    this.levelMs = 0;
  }

  /** uWSGI's blacklist entry, for the stats; undefined when not throttled. */
  entry(): { attempt: number; levelMs: number; firstAttemptMs: number; lastAttemptMs: number } | undefined {
    if (this.attempts === 0) return undefined;
    return { attempt: this.attempts, levelMs: this.levelMs, firstAttemptMs: this.firstAttemptMs, lastAttemptMs: this.lastAttemptMs };
  }
}
