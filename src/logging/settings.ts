/**
 * The logging options as plain settings: what the master reads at startup
 * and passes to its workers. Kept apart from the formatters so the master,
 * which formats no request, does not load them.
 */
import type { Options } from '../config/options';
import { LogDate, logDateSetting } from './log-date';

export interface RequestLogSettings {
  /** --log-format; undefined (or empty) for uWSGI's default line. */
  format: string | undefined;
  /** --logformat-json: one JSON object per line; wins over --log-format. */
  json: boolean;
  /** --log-micros (default line only, as uWSGI). */
  micros: boolean;
  /** --log-x-forwarded-for. */
  logXForwardedFor: boolean;
  /** --memory-report (default line prefix). */
  memoryReport: boolean;
  /** The --log-date strftime format when --log-format-strftime is on: %(ftime) uses it. */
  ftimeFormat: string | undefined;
}

export function requestLogSettingsFromOptions(opts: Options): RequestLogSettings {
  const date = logDateFromOptions(opts).setting;
  return {
    format: opts.str('log-format'),
    // nuwsgi's own option (see docs/logging.md).
    json: opts.bool('logformat-json'),
    micros: opts.bool('log-micros'),
    logXForwardedFor: opts.bool('log-x-forwarded-for'),
    memoryReport: opts.bool('memory-report'),
    ftimeFormat: opts.bool('log-format-strftime') && date.kind === 'strftime' ? date.format : undefined,
  };
}

/** --log-date: set without a value (or `true`) is ctime; with a value, a strftime format. */
export function logDateFromOptions(opts: Options): LogDate {
  return new LogDate(logDateSetting(opts.has('log-date') ? (opts.str('log-date') ?? '') : undefined));
}
