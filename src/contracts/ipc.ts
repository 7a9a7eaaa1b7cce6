/**
 * The IPC messages between the master and its workers (child_process IPC,
 * JSON serialization). Rare events only: per-request state goes through the
 * scoreboard (./scoreboard.ts), never through messages.
 */
export type { WorkerStatsMessage } from '../stats/worker-report';

/** Worker to master: booted and serving; or asking to be replaced (a recycling limit). */
export type WorkerMessage = { type: 'ready' } | { type: 'recycle'; reason: string };

/** Master to workers: reopen the log file (logrotate, --touch-logreopen). */
export const LOG_REOPEN_MESSAGE = { type: 'log-reopen' } as const;
export type MasterMessage = typeof LOG_REOPEN_MESSAGE;
