/**
 * `cheap`, `idle N` and `die-on-idle` (uWSGI's core/master_checks.c,
 * uwsgi_master_check_idle): an instance with no traffic stops its workers
 * (or itself) and the master waits, holding the listening sockets, for the
 * next connection. That connection is never accepted here: it waits in the
 * kernel's queue until the respawned workers accept and serve it.
 */
import type { ReadableWatch } from '../util/readable-watch';

/**
 * Counts the seconds without a request, as uWSGI does: any change of the
 * request total restarts the clock, a busy worker pauses the check (a long
 * request is not idleness), and "idle" means strictly more than N seconds.
 * Pure: the master feeds it the time and the scoreboard's figures.
 */
export class IdleClock {
  private lastActivityMs: number | undefined;
  private lastRequests = -1;

  constructor(readonly seconds: number) {}

  /** Once a second; true when the instance has been idle for more than `seconds`. */
  observe(nowMs: number, requests: number, anyBusy: boolean): boolean {
    this.lastActivityMs ??= nowMs;
    if (anyBusy) return false;
    if (requests !== this.lastRequests) {
      this.lastRequests = requests;
      this.lastActivityMs = nowMs;
      return false;
    }
    return nowMs - this.lastActivityMs > this.seconds * 1000;
  }

  /** uWSGI's log line, with its two epoch seconds (now, last activity). */
  idleLine(nowMs: number): string {
    const last = Math.floor((this.lastActivityMs ?? nowMs) / 1000);
    return `workers have been inactive for more than ${this.seconds} seconds (${Math.floor(nowMs / 1000)}-${last})`;
  }

  /** After a wake-up the clock starts again (the respawned workers' counters start at 0). */
  restart(): void {
    this.lastActivityMs = undefined;
    this.lastRequests = -1;
  }
}

/**
 * Watches the listening sockets of a cheap instance and calls back once, on
 * the first connection waiting on any of them, without accepting it.
 */
export class ConnectionAlarm {
  private watch: ReadableWatch | undefined;
  private cancels: Array<() => void> = [];

  /** Arms the alarm; a second call while armed does nothing. */
  arm(fds: readonly number[], onConnection: () => void): void {
    if (this.cancels.length > 0) return;
    // Loaded on first use: koffi has no business in a master that never goes cheap.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.watch ??= new (require('../util/readable-watch') as typeof import('../util/readable-watch')).ReadableWatch();
    const fire = (): void => {
      this.disarm();
      onConnection();
    };
    this.cancels = fds.map((fd) => (this.watch as ReadableWatch).once(fd, fire));
  }

  get armed(): boolean {
    return this.cancels.length > 0;
  }

  disarm(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
  }
}
