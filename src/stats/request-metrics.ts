/**
 * Per-status request counts and a latency histogram, kept by each worker on
 * the request path (so observe() is a handful of array writes, no allocation)
 * and summed by the master for --metrics.
 *
 * Counts are cumulative for one worker life; the master keeps what dead lives
 * counted (WorkerStatsBook), so the exported counters never go backwards.
 */

/**
 * Histogram upper bounds in µs (Prometheus `le`, in seconds: 100 µs ... 60 s).
 * A hello-world request takes well under a millisecond, so the scale starts at
 * 100 µs: with 1 ms first, nearly every fast request lands in one bucket and
 * the percentiles say nothing.
 */
export const LATENCY_BOUNDS_US: readonly number[] = [
  100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
  30_000_000, 60_000_000,
];

/**
 * The compact form that goes over IPC (JSON): `b` holds per-bucket counts
 * (not cumulative; one more than LATENCY_BOUNDS_US, the last is +Inf),
 * `s` the sum of durations in µs, `c` the count per HTTP status code.
 */
export interface SerializedRequestMetrics {
  b: number[];
  s: number;
  c: Record<string, number>;
}

/** Status codes outside 100..599 (an app bug) are counted under this label. */
export const INVALID_STATUS = 0;

export class RequestMetrics {
  private readonly buckets: number[] = new Array<number>(LATENCY_BOUNDS_US.length + 1).fill(0);
  private sumUs = 0;
  /** Indexed by status code; a plain array keeps observe() allocation-free. */
  private readonly byStatus: number[] = new Array<number>(600).fill(0);

  observe(status: number, durationUs: number): void {
    const code = Number.isInteger(status) && status >= 100 && status <= 599 ? status : INVALID_STATUS;
    this.byStatus[code] = (this.byStatus[code] ?? 0) + 1;
    const us = durationUs > 0 ? durationUs : 0;
    this.sumUs += us;
    this.buckets[bucketIndex(us)]!++;
  }

  get count(): number {
    let n = 0;
    for (const c of this.buckets) n += c;
    return n;
  }

  serialize(): SerializedRequestMetrics {
    const c: Record<string, number> = {};
    this.byStatus.forEach((n, code) => {
      if (n > 0) c[String(code)] = n;
    });
    return { b: this.buckets.slice(), s: this.sumUs, c };
  }

  /** Adds another (serialized) set of counts into this one: how the master aggregates. */
  add(other: SerializedRequestMetrics): void {
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += safeCount(other.b[i]);
    this.sumUs += safeCount(other.s);
    for (const [code, n] of Object.entries(other.c)) {
      const index = Number(code);
      if (Number.isInteger(index) && index >= 0 && index < this.byStatus.length) this.byStatus[index]! += safeCount(n);
    }
  }

  static from(serialized: SerializedRequestMetrics): RequestMetrics {
    const m = new RequestMetrics();
    m.add(serialized);
    return m;
  }
}

/** An empty serialized set, e.g. for a worker that never reported. */
export function emptyMetrics(): SerializedRequestMetrics {
  return { b: new Array<number>(LATENCY_BOUNDS_US.length + 1).fill(0), s: 0, c: {} };
}

function bucketIndex(us: number): number {
  // 18 bounds: a linear scan beats a binary search at this size, and most requests stop early.
  for (let i = 0; i < LATENCY_BOUNDS_US.length; i++) {
    if (us <= LATENCY_BOUNDS_US[i]!) return i;
  }
  return LATENCY_BOUNDS_US.length;
}

/** IPC data is untrusted input to the master: anything but a finite non-negative number counts as 0. */
function safeCount(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}
