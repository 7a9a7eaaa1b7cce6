import os from 'node:os';

/** How often a failing accept() is logged, at most. */
export const ACCEPT_LOG_INTERVAL_MS = 10_000;
/** First pause of the listeners after a failed accept(); doubles while failures go on. */
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 2_000;

export interface AcceptBackoffHost {
  log(line: string): void;
  pause(): void;
  resume(): void;
}

/**
 * What a worker does when accept(2) fails (EMFILE/ENFILE: out of file
 * descriptors; ENOBUFS/ENOMEM). uWSGI logs `accept(): Too many open files`
 * on every failure and retries at once; here the line is logged once per
 * interval (with how many were not), the listeners pause with a growing
 * delay instead of spinning, and accepting resumes early when one of our
 * connections closes and so gives a descriptor back. Existing connections
 * are served meanwhile: only accepting stops.
 */
export class AcceptBackoff {
  private readonly host: AcceptBackoffHost;
  private lastLogged = 0;
  private unlogged = 0;
  private pauseMs = FIRST_PAUSE_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(host: AcceptBackoffHost) {
    this.host = host;
  }

  /** True while accepting is paused after a failure. */
  get backingOff(): boolean {
    return this.timer !== undefined;
  }

  /** libuv's negative errno from the listener's connection callback. */
  failed(errno: number, socketName: string): void {
    this.report(errno, socketName);
    if (this.timer !== undefined) return;
    this.host.pause();
    this.timer = setTimeout(() => this.retry(), this.pauseMs);
    this.pauseMs = Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
  }

  /** A connection of ours closed: a descriptor is free again, try at once. */
  fdFreed(): void {
    if (this.timer === undefined) return;
    this.pauseMs = FIRST_PAUSE_MS;
    this.retry();
  }

  private retry(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.host.resume();
  }

  private report(errno: number, socketName: string): void {
    const now = Date.now();
    if (now - this.lastLogged < ACCEPT_LOG_INTERVAL_MS) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged > 0 ? ` (${this.unlogged} more since the last report)` : '';
    this.host.log(`accept(): ${errnoText(errno)} [socket ${socketName}]${more}\n`);
    this.lastLogged = now;
    this.unlogged = 0;
  }
}

/** strerror(3)'s words for the errors accept(2) returns, as uWSGI prints them. */
function errnoText(errno: number): string {
  const code = Math.abs(errno);
  const known: Record<number, string> = {
    [os.constants.errno.EMFILE]: 'Too many open files',
    [os.constants.errno.ENFILE]: 'Too many open files in system',
    [os.constants.errno.ENOBUFS]: 'No buffer space available',
    [os.constants.errno.ENOMEM]: 'Cannot allocate memory',
  };
  return known[code] ?? `errno ${code}`;
}
