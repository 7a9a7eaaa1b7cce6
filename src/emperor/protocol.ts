/**
 * The emperor ↔ vassal channel: uWSGI's own byte protocol (core/emperor.c),
 * one byte per message over a UNIX socketpair whose vassal end is named by
 * UWSGI_EMPEROR_FD. Using uWSGI's bytes and variable keeps a nuwsgi vassal
 * understandable by a uWSGI emperor and the other way round.
 */

/** Emperor → vassal. */
export const TO_VASSAL = {
  /** Stop now (uWSGI's kill_them_all). */
  stop: 0,
  /** Graceful reload: the configuration is read again. */
  reload: 1,
  /** Graceful stop: in-flight requests finish (uWSGI's emperor-graceful-shutdown). */
  gracefulStop: 2,
} as const;

/** Vassal → emperor. */
export const TO_EMPEROR = {
  /** The vassal's master runs ("has been spawned"). */
  spawned: 1,
  /** Ask for a pushed configuration (uWSGI's config-over-socket; nuwsgi never pushes one). */
  configRequest: 2,
  /** Every worker is ready ("is ready to accept requests"): after boot and after each reload. */
  accepting: 5,
  /** Once per vassal process: it came up healthy, so its deaths are not throttled. */
  loyal: 17,
  /** The vassal asks to be stopped. */
  voluntaryStop: 22,
  /** The vassal's master loop is alive. */
  heartbeat: 26,
  /** uWSGI's broodlord mode (zergs): not supported, ignored. */
  broodlord: 30,
} as const;

/** The environment variable naming the vassal's end of the channel (uWSGI's name). */
export const EMPEROR_FD_ENV = 'UWSGI_EMPEROR_FD';

/** The emperor hands the channel to each vassal as this descriptor. */
export const VASSAL_CHANNEL_FD = 3;

/**
 * How often a nuwsgi vassal sends a heartbeat. uWSGI vassals only do with
 * `heartbeat = N`; nuwsgi's always do, so `emperor-required-heartbeat` (30 s)
 * catches a vassal master whose event loop is stuck.
 */
export const HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * The emperor tells each vassal its `emperor-required-heartbeat` (seconds) in
 * this variable: a vassal beats at least three times per tolerance, so a
 * tolerance of 10 s or less does not SIGKILL healthy vassals in a loop.
 */
export const EMPEROR_HEARTBEAT_ENV = 'NUWSGI_EMPEROR_HEARTBEAT';

/** The vassal's heartbeat interval for the emperor's tolerance (ms): every 10 s, or a third of a shorter tolerance. */
export function heartbeatIntervalMs(requiredSecs: string | undefined): number {
  const required = requiredSecs !== undefined && /^\d+$/.test(requiredSecs) ? Number(requiredSecs) * 1000 : 0;
  return required > 0 ? Math.max(250, Math.min(HEARTBEAT_INTERVAL_MS, Math.floor(required / 3))) : HEARTBEAT_INTERVAL_MS;
}
