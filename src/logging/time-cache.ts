/**
 * Formatted timestamps change once a second; log lines come much faster.
 * Each cache belongs to one formatter (not the module), so a test or a reload
 * that changes TZ gets fresh values by compiling again.
 */
import { compileStrftime } from './strftime';

export type TimeFormatter = (ms: number) => string;

/** Memoizes `format` on the epoch second of its argument. */
export function perSecond(format: TimeFormatter): TimeFormatter {
  let second = Number.NaN;
  let text = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      text = format(s * 1000);
      second = s;
    }
    return text;
  };
}

/**
 * uWSGI formats user strftime strings into a 64-byte buffer: when the result
 * (plus its NUL) does not fit, strftime returns 0 and uWSGI prints nothing.
 */
export function boundedStrftime(format: string): TimeFormatter {
  const f = compileStrftime(format);
  return (ms) => {
    const text = f(ms);
    // 21 UTF-16 units make at most 63 UTF-8 bytes: only longer results need measuring.
    return text.length > 21 && Buffer.byteLength(text) > 63 ? '' : text;
  };
}
