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
import { compileEncoder } from './encoders';
import { compilePattern, parseEncoderSpec, parseLoggerSpec, parseRouteSpec, type EncoderSpec, type LoggerSpec } from './logger-spec';

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
  /** logger, req-logger, log-route, log-encoder...: undefined when none is set (no routing at all). */
  routing?: RoutingPlan | undefined;
}

/** The pluggable loggers and what decides between them (src/logging/log-router.ts). Checked when the plan is made. */
export interface RoutingPlan {
  /** Relative file logger paths resolve here. */
  cwd: string;
  loggers: LoggerSpec[];
  reqLoggers: LoggerSpec[];
  /** "NAME REGEXP" values, validated. */
  routes: string[];
  reqRoutes: string[];
  drain: string[];
  filter: string[];
  encoders: EncoderSpec[];
  reqEncoders: EncoderSpec[];
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
      routing: routingPlanFromOptions(o, cwd),
    },
  };
}

/** Throws E_CONFIG for a bad route, pattern or encoder, so a broken configuration fails at startup. */
export function routingPlanFromOptions(o: Options, cwd: string): RoutingPlan | undefined {
  const plan: RoutingPlan = {
    cwd,
    loggers: o.list('logger').map(parseLoggerSpec),
    reqLoggers: o.list('req-logger').map(parseLoggerSpec),
    routes: o.list('log-route'),
    reqRoutes: o.list('log-req-route'),
    drain: o.list('log-drain'),
    filter: o.list('log-filter'),
    encoders: o.list('log-encoder').map(parseEncoderSpec),
    reqEncoders: o.list('log-req-encoder').map(parseEncoderSpec),
  };
  const lists = [plan.loggers, plan.reqLoggers, plan.routes, plan.reqRoutes, plan.drain, plan.filter, plan.encoders, plan.reqEncoders];
  if (lists.every((l) => l.length === 0)) return undefined;
  for (const r of plan.routes) parseRouteSpec('log-route', r);
  for (const r of plan.reqRoutes) parseRouteSpec('log-req-route', r);
  for (const d of plan.drain) compilePattern('log-drain', d);
  for (const f of plan.filter) compilePattern('log-filter', f);
  for (const e of plan.encoders) compileEncoder('log-encoder', e);
  for (const e of plan.reqEncoders) compileEncoder('log-req-encoder', e);
  return plan;
}

/** A file target made absolute; a UDP "host:port" (any ':') left as it is. */
function absoluteTarget(value: string | undefined, cwd: string): string | undefined {
  if (value === undefined || value === '' || value.includes(':')) return value;
  return path.resolve(cwd, value);
}
