/**
 * Cores promised to connections accepted before their first request arrived.
 *
 * A worker takes connections while a core is free (threads = 1: one per loop
 * turn while its core is not held). A connection whose request has not
 * arrived yet (over a unix socket, accepted between a proxy's connect(2) and
 * its write(2); a client sending a head in pieces) does not occupy a core,
 * so without a promise the worker would take more connections than it has
 * free cores, and their
 * requests would wait in it, not in the kernel's queue where another worker
 * could take them (and a kill -9 would lose them).
 *
 * Only unix sockets' connections get a promise (the worker decides): TCP
 * sockets have TCP_DEFER_ACCEPT (the kernel queues a connection for accept
 * once its first bytes arrived), and a promise per slow TCP head would let a
 * slowloris client slow the worker's accepting down. A promise also lapses
 * after `holdMs`: a local client that connects and stays silent must not
 * keep the worker from accepting for longer than that. Its request, when it
 * comes, waits for a core as a keep-alive connection's next request does.
 *
 * A promise is a bet that the client writes at once. A lapse loses it, and
 * so does a close before any request; then no promise is made for
 * `suspendMs`: a flood of silent (or half-written, then closed) connections
 * (a broken or hostile local client) would otherwise keep every core
 * promised and the worker from accepting anyone (measured: 4 clients got 42
 * answers each in 5 s beside 2 flooders, against 10,600 with no promises).
 */
export interface Reservable {
  reserved: boolean;
}

export class Reservations<C extends Reservable> {
  /** Each promise's lapse time (performance.now() ms), oldest first. */
  private readonly until = new Map<C, number>();
  private timer: NodeJS.Timeout | undefined;

  /** No promise is made before this (performance.now() ms): one lapsed recently. */
  private suspendedUntil = 0;

  /** `lapsed`: promises ran out (the worker may take connections again). */
  constructor(
    private readonly holdMs: number,
    private readonly suspendMs: number,
    private readonly lapsed: () => void,
  ) {}

  /** Cores promised now. */
  get count(): number {
    return this.until.size;
  }

  /** Promise a core to `conn`; false while promises are suspended. */
  add(conn: C): boolean {
    const now = performance.now();
    if (now < this.suspendedUntil) return false;
    conn.reserved = true;
    this.until.set(conn, now + this.holdMs);
    if (this.timer === undefined) this.arm(this.holdMs);
    return true;
  }

  /**
   * The connection's request arrived (`kept`), or it closed first (the
   * connection cleared its own flag). The timer stays: most promises end
   * within microseconds, and one timer per `holdMs` costs less than one per
   * promise.
   */
  end(conn: C, kept: boolean): void {
    this.until.delete(conn);
    if (!kept) this.suspendedUntil = performance.now() + this.suspendMs;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.lapse(), Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private lapse(): void {
    this.timer = undefined;
    if (this.until.size === 0) return;
    const now = performance.now();
    let lapsed = 0;
    for (const [conn, until] of this.until) {
      // The timer may fire a little early by this clock (libuv's is in whole ms): then it waits again.
      if (until > now) {
        this.arm(until - now);
        break;
      }
      this.until.delete(conn);
      conn.reserved = false;
      lapsed++;
    }
    if (lapsed === 0) return;
    this.suspendedUntil = now + this.suspendMs;
    this.lapsed();
  }
}
