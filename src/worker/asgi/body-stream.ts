import type { BodyCollector } from '../body';

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

  constructor(flow: BodyFlow) {
    this.flow = flow;
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
    if (this.buffered >= STREAM_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.flow.pause();
    }
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(): void {
    if (this.ended) return;
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
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
    if (this.paused && this.buffered < STREAM_LOW_WATER) {
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
    for (const chunk of this.chunks) collector.push(chunk);
    this.chunks = [];
    this.buffered = 0;
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
