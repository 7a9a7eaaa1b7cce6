import type { BodyBudget, BodyCollector } from '../body';

/** Bytes a streamed body may hold in Node before the socket stops being read. */
export const STREAM_HIGH_WATER = 256 * 1024;
/** Reading resumes once the app has taken the body below this. */
export const STREAM_LOW_WATER = 64 * 1024;

/** What the connection does for the stream: stop and restart reading the socket. */
export interface BodyFlow {
  pause(): void;
  resume(): void;
  /** The app asked for the body for the first time (Expect: 100-continue is answered then). */
  firstTake(): void;
}

/** One piece handed to the app: its bytes, and whether it is the last. */
export interface BodyPiece {
  data: Buffer;
  last: boolean;
}

/**
 * A request body that reaches the app while it is still arriving (ASGI's
 * `http.request` with `more_body`, docs/asgi.md). Node holds at most about
 * STREAM_HIGH_WATER bytes of it: past that the socket is not read until the
 * app has taken some (backpressure), so a slow app or a large upload never
 * costs more memory than that per request.
 *
 * What it holds counts in the worker's --body-buffer-budget, as collected
 * bodies do. While the budget is spent, a stream holds at most what one read
 * brought: it stops reading after each piece until the app has taken all of
 * it (a collected body would go to disk instead; a streamed one is waited for
 * by its app, so slowing the client down costs nothing and never deadlocks:
 * a stream whose app reads always gets its next piece).
 */
export class BodyStream {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failed = false;
  private paused = false;
  private taken = false;
  private waiter: (() => void) | null = null;
  /** Once set, the rest of the body goes to this collector instead (a WSGI app in an ASGI worker). */
  private sink: BodyCollector | null = null;
  private readonly flow: BodyFlow;
  private readonly budget: BodyBudget | undefined;
  /** Bytes of this stream counted in the budget (what it holds). */
  private charged = 0;

  constructor(flow: BodyFlow, budget?: BodyBudget) {
    this.flow = flow;
    this.budget = budget;
  }

  /** The whole body arrived. */
  get complete(): boolean {
    return this.ended;
  }

  /** The body can never complete (the client left, or the parser failed). */
  get broken(): boolean {
    return this.failed;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.sink !== null) {
      this.sink.push(chunk);
      return;
    }
    this.chunks.push(Buffer.from(chunk)); // the parser may hand us views of its input
    this.buffered += chunk.length;
    this.charge(chunk.length);
    if (!this.paused && (this.buffered >= STREAM_HIGH_WATER || this.overBudget())) {
      this.paused = true;
      if (this.buffered < STREAM_HIGH_WATER) (this.budget as BodyBudget).streamHolds++;
      this.flow.pause();
    }
    this.wake();
  }

  private overBudget(): boolean {
    return this.budget?.exceeded === true;
  }

  private charge(bytes: number): void {
    const budget = this.budget;
    if (budget === undefined) return;
    budget.throughBytes += bytes;
    budget.usedBytes += bytes;
    if (budget.usedBytes > budget.peakBytes) budget.peakBytes = budget.usedBytes;
    this.charged += bytes;
  }

  /** What the stream no longer holds goes back to the budget. */
  private settle(): void {
    if (this.budget === undefined || this.charged === this.buffered) return;
    this.budget.usedBytes -= this.charged - this.buffered;
    this.charged = this.buffered;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The body will never complete, or the request is over: drop what is held (and its share of the budget). */
  fail(): void {
    if (!this.ended) this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.settle();
    this.wake();
  }

  /**
   * The next piece of at most `max` bytes once there is one; null when the
   * body will never complete. One take at a time.
   */
  async take(max: number): Promise<BodyPiece | null> {
    if (!this.taken) {
      this.taken = true;
      this.flow.firstTake();
    }
    while (this.buffered === 0 && !this.ended && !this.failed) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.failed) return null;
    const data = this.splice(max);
    this.settle();
    // Over the budget, reading waits until the app has taken everything.
    if (this.paused && this.buffered < STREAM_LOW_WATER && (this.buffered === 0 || !this.overBudget())) {
      this.paused = false;
      this.flow.resume();
    }
    return { data, last: this.ended && this.buffered === 0 };
  }

  /** Everything from now on goes to `collector`; resolves true once the body is complete there. */
  async collectInto(collector: BodyCollector): Promise<boolean> {
    if (!this.taken) {
      this.taken = true;
      this.flow.firstTake();
    }
    const chunks = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    this.settle(); // the collector counts them now
    collector.spillsOverBudget = true; // a whole body again: the budget may send it to disk
    for (const chunk of chunks) collector.push(chunk);
    this.sink = collector;
    if (this.paused) {
      this.paused = false;
      this.flow.resume();
    }
    while (!this.ended && !this.failed) await new Promise<void>((resolve) => (this.waiter = resolve));
    return !this.failed;
  }

  private splice(max: number): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    while (this.chunks.length > 0 && size < max) {
      const chunk = this.chunks[0] as Buffer;
      const room = max - size;
      if (chunk.length <= room) {
        parts.push(chunk);
        size += chunk.length;
        this.chunks.shift();
      } else {
        parts.push(chunk.subarray(0, room));
        size += room;
        this.chunks[0] = chunk.subarray(room);
      }
    }
    this.buffered -= size;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
