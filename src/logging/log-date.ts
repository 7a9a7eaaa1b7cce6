/**
 * --log-date / --logdate: the date prefix of non-request log lines.
 *
 * uWSGI prefixes the lines it writes itself (uwsgi_log) with ctime and " - ",
 * or with a strftime format when one is given:
 *
 *   Mon Nov 23 21:22:55 2026 - spawned uWSGI worker 1 (pid: 8456, cores: 1)
 *
 * Request lines are never prefixed, nor is what the app writes to stderr.
 * uwsgi_log_verbose lines (graceful shutdown, touch reloads...) always carry
 * the date, --log-date or not.
 */
import { ctimeFormat } from './strftime';
import { boundedStrftime, perSecond, type TimeFormatter } from './time-cache';

export type LogDateSetting = { kind: 'off' } | { kind: 'ctime' } | { kind: 'strftime'; format: string };

/**
 * From the option's value: undefined = not set; '' = set without a value (ctime);
 * anything else is a strftime format. The config layer turns `log-date = true`
 * into '' already (an optional-argument option given 'true' has no value).
 */
export function logDateSetting(value: string | undefined): LogDateSetting {
  if (value === undefined) return { kind: 'off' };
  if (value === '') return { kind: 'ctime' };
  return { kind: 'strftime', format: value };
}

/** Prefixes log lines per a LogDateSetting; the formatted date is computed once a second. */
export class LogDate {
  readonly setting: LogDateSetting;
  private readonly date: TimeFormatter;

  constructor(setting: LogDateSetting) {
    this.setting = setting;
    // ctime always fits uWSGI's buffer; a user format is cut to nothing past 63 bytes, as strftime does.
    this.date = perSecond(setting.kind === 'strftime' ? boundedStrftime(setting.format) : boundedStrftime(ctimeFormat));
  }

  /** "Mon Nov 23 21:22:55 2026 - " (or the strftime result and " - "); '' when --log-date is off. */
  prefix(nowMs: number = Date.now()): string {
    return this.setting.kind === 'off' ? '' : this.date(nowMs) + ' - ';
  }

  /** The prefix of uwsgi_log_verbose lines: present even when --log-date is off. */
  verbosePrefix(nowMs: number = Date.now()): string {
    return this.date(nowMs) + ' - ';
  }

  /** A non-request line with its prefix. */
  line(text: string, nowMs?: number): string {
    return this.prefix(nowMs) + text;
  }
}
