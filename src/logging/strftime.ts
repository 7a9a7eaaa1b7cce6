/**
 * glibc's strftime(3) in the C locale, local time, compiled once per format.
 *
 * uWSGI passes user formats straight to strftime (--log-date, %(ftime)), so we
 * follow glibc: every conversion of the C locale, the `-` `_` `0` `^` flags, a
 * field width, the E/O modifiers (ignored in the C locale), and an unknown
 * conversion printed as written ("%Q" stays "%Q").
 */
import { zoneAbbreviation } from './tz-abbrev';

/** The broken-down local time a conversion reads (struct tm, plus what %s/%z/%Z need). */
export interface Tm {
  date: Date;
  year: number;
  mon: number; // 0-11
  mday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number; // 0 = Sunday
  yday: number; // 0-365
  epoch: number; // seconds
}

type Conv = (t: Tm) => string;
/** How a conversion pads by default: numbers with '0' (or ' ' for %e %k %l), words not at all. */
interface Spec {
  conv: Conv;
  width: number;
  pad: '0' | ' ' | '';
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const num = (f: (t: Tm) => number, width: number, pad: '0' | ' ' = '0'): Spec => ({ conv: (t) => String(f(t)), width, pad });
const word = (conv: Conv): Spec => ({ conv, width: 0, pad: '' });
const composite = (format: string): Spec => {
  const compiled = compileParts(format);
  return word((t) => render(compiled, t));
};

const SPECS: Record<string, Spec> = {
  a: word((t) => DAYS[t.wday]!.slice(0, 3)),
  A: word((t) => DAYS[t.wday]!),
  b: word((t) => MONTHS[t.mon]!.slice(0, 3)),
  h: word((t) => MONTHS[t.mon]!.slice(0, 3)),
  B: word((t) => MONTHS[t.mon]!),
  C: num((t) => Math.floor(t.year / 100), 2),
  d: num((t) => t.mday, 2),
  e: num((t) => t.mday, 2, ' '),
  g: num((t) => isoWeek(t).year % 100, 2),
  G: num((t) => isoWeek(t).year, 1),
  H: num((t) => t.hour, 2),
  I: num((t) => t.hour % 12 || 12, 2),
  j: num((t) => t.yday + 1, 3),
  k: num((t) => t.hour, 2, ' '),
  l: num((t) => t.hour % 12 || 12, 2, ' '),
  m: num((t) => t.mon + 1, 2),
  M: num((t) => t.min, 2),
  n: word(() => '\n'),
  p: word((t) => (t.hour < 12 ? 'AM' : 'PM')),
  P: word((t) => (t.hour < 12 ? 'am' : 'pm')),
  s: num((t) => t.epoch, 1),
  S: num((t) => t.sec, 2),
  t: word(() => '\t'),
  u: num((t) => t.wday || 7, 1),
  U: num((t) => Math.floor((t.yday + 7 - t.wday) / 7), 2),
  V: num((t) => isoWeek(t).week, 2),
  w: num((t) => t.wday, 1),
  W: num((t) => Math.floor((t.yday + 7 - ((t.wday + 6) % 7)) / 7), 2),
  y: num((t) => t.year % 100, 2),
  Y: num((t) => t.year, 1),
  z: word(zoneOffset),
  Z: word((t) => zoneAbbreviation(t.date)),
  '%': word(() => '%'),
};
// Composites, in glibc's C locale.
Object.assign(SPECS, {
  c: composite('%a %b %e %H:%M:%S %Y'),
  D: composite('%m/%d/%y'),
  F: composite('%Y-%m-%d'),
  r: composite('%I:%M:%S %p'),
  R: composite('%H:%M'),
  T: composite('%H:%M:%S'),
  x: composite('%m/%d/%y'),
  X: composite('%H:%M:%S'),
});

type Part = string | { spec: Spec; flag: string; width: number };

/** A compiled strftime format: call it with epoch milliseconds. */
export type Strftime = (ms: number) => string;

export function compileStrftime(format: string): Strftime {
  const parts = compileParts(format);
  return (ms) => render(parts, toTm(ms));
}

/** C's ctime() without the newline: "Mon Nov 23 21:17:01 2026". */
export const ctimeFormat = '%a %b %e %H:%M:%S %Y';

function compileParts(format: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      literal += format.slice(i);
      break;
    }
    literal += format.slice(i, pct);
    const m = /^([-_0^#]*)(\d*)[EO]?(.?)/.exec(format.slice(pct + 1))!;
    const spec = m[3] === '' ? undefined : SPECS[m[3]!];
    if (spec === undefined) {
      // glibc prints an unknown (or truncated) conversion as written.
      literal += '%' + m[0];
      i = pct + 1 + m[0].length;
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ spec, flag: m[1]!.slice(-1), width: m[2] === '' ? 0 : Number(m[2]) });
    i = pct + 1 + m[0].length;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

function render(parts: readonly Part[], t: Tm): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : apply(part.spec, part.flag, part.width, t);
  return out;
}

function apply(spec: Spec, flag: string, width: number, t: Tm): string {
  let text = spec.conv(t);
  if (flag === '^') text = text.toUpperCase();
  if (flag === '-') return text;
  const pad = flag === '_' ? ' ' : flag === '0' ? '0' : spec.pad === '' ? ' ' : spec.pad;
  const w = width > 0 ? width : spec.width;
  if (text.length >= w) return text;
  // A sign stays in front of zero padding, as glibc does for %z and negative years.
  if (pad === '0' && (text[0] === '-' || text[0] === '+')) return text[0] + text.slice(1).padStart(w - 1, '0');
  return text.padStart(w, pad);
}

export function toTm(ms: number): Tm {
  const date = new Date(ms);
  const year = date.getFullYear();
  const startOfYear = new Date(year, 0, 1).getTime();
  const dayStart = new Date(year, date.getMonth(), date.getDate()).getTime();
  return {
    date,
    year,
    mon: date.getMonth(),
    mday: date.getDate(),
    hour: date.getHours(),
    min: date.getMinutes(),
    sec: date.getSeconds(),
    wday: date.getDay(),
    yday: Math.round((dayStart - startOfYear) / 86_400_000), // round: DST days are 23 or 25 hours
    epoch: Math.floor(ms / 1000),
  };
}

function zoneOffset(t: Tm): string {
  const east = -t.date.getTimezoneOffset();
  const abs = Math.abs(east);
  const hhmm = Math.floor(abs / 60) * 100 + (abs % 60);
  return (east < 0 ? '-' : '+') + String(hhmm).padStart(4, '0');
}

/** ISO 8601 week number and week-based year (%V, %G, %g). */
function isoWeek(t: Tm): { year: number; week: number } {
  const isoWday = t.wday || 7;
  const week = Math.floor((t.yday + 1 - isoWday + 10) / 7);
  if (week < 1) return { year: t.year - 1, week: weeksInYear(t.year - 1) };
  if (week > weeksInYear(t.year)) return { year: t.year + 1, week: 1 };
  return { year: t.year, week };
}

function weeksInYear(y: number): number {
  const p = (n: number): number => (n + Math.floor(n / 4) - Math.floor(n / 100) + Math.floor(n / 400)) % 7;
  return p(y) === 4 || p(y - 1) === 3 ? 53 : 52;
}
