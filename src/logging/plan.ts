/**
 * The logging options, read once from the configuration: what a worker needs
 * (serializable, it travels in the worker's JSON config) and what the master
 * does with the log file.
 */
import path from 'node:path';
import type { Options } from '../config/options';
import { requestLogFilterFromOptions, type RequestLogFilter } from './filters';
import { logDateFromOptions, requestLogSettingsFromOptions, type RequestLogSettings } from './settings';
import type { LogDateSetting } from './log-date';

/** Part of every worker's configuration (re-read on reload, like the rest of it). */
export interface WorkerLogSettings {
  /** --log-date: the prefix of the worker's own lines. */
  date: LogDateSetting;
  /** Which request lines, in which format. */
  request: RequestLogSettings;
  filter: RequestLogFilter;
  /** --log-master: request lines go through the master too, not straight to the log. */
  viaMaster: boolean;
}

/** Where the master sends the log, and when it reopens or rotates it. */
export interface LogOutputPlan {
  /** --logto FILE|HOST:PORT, opened before privileges are dropped (files as absolute paths). */
  logto: string | undefined;
  /** --logto2: the same, opened after privileges are dropped; replaces logto from then on. */
  logto2: string | undefined;
  /** --log-truncate. */
  truncate: boolean;
  /** --log-maxsize bytes (0 = never rotate by size). */
  maxSize: number;
  /** --log-backupname. */
  backupName: string | undefined;
  /** --log-reopen: reopen the file on each reload. */
  reopenOnReload: boolean;
  /** --touch-logreopen / --touch-logrotate files. */
  touchReopen: string[];
  touchRotate: string[];
}

export interface LoggingPlan {
  worker: WorkerLogSettings;
  output: LogOutputPlan;
}

/**
 * `cwd` resolves log files (uWSGI opens them before any chdir: workers that
 * later chdir must still reopen the same path); `base` (the --chdir
 * directory) resolves touch files, as the other touch-* options.
 */
export function loggingPlanFromOptions(o: Options, cwd: string, base: string): LoggingPlan {
  return {
    worker: {
      date: logDateFromOptions(o).setting,
      request: requestLogSettingsFromOptions(o),
      filter: requestLogFilterFromOptions(o),
      viaMaster: o.bool('log-master'),
    },
    output: {
      logto: absoluteTarget(o.str('logto'), cwd),
      logto2: absoluteTarget(o.str('logto2'), cwd),
      truncate: o.bool('log-truncate'),
      maxSize: o.has('log-maxsize') ? o.int('log-maxsize') : 0,
      backupName: o.has('log-backupname') ? path.resolve(cwd, o.str('log-backupname') ?? '') : undefined,
      reopenOnReload: o.bool('log-reopen'),
      touchReopen: o.list('touch-logreopen').map((f) => path.resolve(base, f)),
      touchRotate: o.list('touch-logrotate').map((f) => path.resolve(base, f)),
    },
  };
}

/** A file target made absolute; a UDP "host:port" (any ':') left as it is. */
function absoluteTarget(value: string | undefined, cwd: string): string | undefined {
  if (value === undefined || value === '' || value.includes(':')) return value;
  return path.resolve(cwd, value);
}
