/**
 * What the dashboard charts: one sample a second, kept in a ring buffer for
 * the last minutes, taken from the snapshot and the summed latency
 * histogram. Percentiles are estimated from the histogram's growth over the
 * second, interpolating inside a bucket as Prometheus' histogram_quantile()
 * does, so the page and a Grafana panel agree.
 */
import { LATENCY_BOUNDS_US, type SerializedRequestMetrics } from './request-metrics';
import type { InstanceSnapshot } from './snapshot';

export interface Sample {
  /** Epoch ms of the sample. */
  t: number;
  /** Requests finished, every worker every life. */
  requests: number;
  /** Requests finished per second since the previous sample. */
  rps: number;
  /** Latency percentiles of the requests finished in that second, in seconds; null when none finished. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  busyCores: number;
  listenQueue: number;
  /** Resident memory of every worker, bytes. */
  rss: number;
}

/** Five minutes at one sample a second. */
export const HISTORY_SECONDS = 300;

export class Ring<T> {
  private readonly items: T[] = [];

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  last(): T | undefined {
    return this.items[this.items.length - 1];
  }

  all(): T[] {
    return this.items.slice();
  }
}

export class StatsHistory {
  private readonly ring = new Ring<Sample>(HISTORY_SECONDS);
  private previous: { t: number; requests: number; buckets: number[] } | undefined;

  /** Takes this second's sample. */
  record(s: InstanceSnapshot, m: SerializedRequestMetrics, nowMs: number): Sample {
    const requests = s.workers.reduce((n, w) => n + w.requests, 0);
    const buckets = m.b.slice();
    const prev = this.previous;
    const seconds = prev === undefined ? 1 : Math.max(0.001, (nowMs - prev.t) / 1000);
    const delta = prev === undefined ? buckets.map(() => 0) : buckets.map((b, i) => Math.max(0, b - (prev.buckets[i] ?? 0)));
    const sample: Sample = {
      t: nowMs,
      requests,
      rps: prev === undefined ? 0 : round(Math.max(0, requests - prev.requests) / seconds, 2),
      p50: quantile(0.5, delta),
      p95: quantile(0.95, delta),
      p99: quantile(0.99, delta),
      busyCores: s.workers.reduce((n, w) => n + w.cores.filter((c) => c.inRequest).length, 0),
      listenQueue: s.listenQueue,
      rss: s.workers.reduce((n, w) => n + w.rss, 0),
    };
    this.previous = { t: nowMs, requests, buckets };
    this.ring.push(sample);
    return sample;
  }

  samples(): Sample[] {
    return this.ring.all();
  }

  last(): Sample | undefined {
    return this.ring.last();
  }
}

/**
 * The q-quantile of per-bucket (not cumulative) counts over LATENCY_BOUNDS_US
 * (+Inf last), in seconds; null without observations. Like
 * histogram_quantile(), linear inside the bucket; the +Inf bucket answers
 * its lower bound.
 */
export function quantile(q: number, counts: readonly number[], boundsUs: readonly number[] = LATENCY_BOUNDS_US): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      const lower = i === 0 ? 0 : (boundsUs[i - 1] ?? 0);
      const upper = boundsUs[i];
      if (upper === undefined) return lower / 1e6;
      return (lower + (upper - lower) * ((rank - seen) / c)) / 1e6;
    }
    seen += c;
  }
  return (boundsUs[boundsUs.length - 1] ?? 0) / 1e6;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
