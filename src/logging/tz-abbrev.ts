/**
 * The time zone abbreviation glibc's strftime prints for %Z ("UTC", "EST",
 * "CEST", "IST", "+04").
 *
 * ICU (Intl) only knows abbreviations for a few zones per locale and prints
 * "GMT+1" for the rest, so we read what glibc reads: the POSIX TZ string in the
 * footer of the TZif file (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"). That string
 * describes the zone's current rules, which is all a log timestamp needs.
 */
import { readFileSync } from 'node:fs';

interface ZoneNames {
  std: string;
  /** Standard time offset, minutes east of UTC. */
  stdEastMinutes: number;
  dst: string | undefined;
}

let cachedFor: string | undefined | null = null; // null: nothing cached yet
let cachedNames: ZoneNames | undefined;

/** %Z for `date` in the process's time zone (process.env.TZ, else /etc/localtime). */
export function zoneAbbreviation(date: Date): string {
  const tz = process.env['TZ'];
  if (cachedFor !== tz) {
    cachedNames = zoneNamesFor(tz);
    cachedFor = tz;
  }
  const names = cachedNames;
  if (names === undefined) return intlAbbreviation(date);
  const east = -date.getTimezoneOffset();
  return names.dst !== undefined && east !== names.stdEastMinutes ? names.dst : names.std;
}

function zoneNamesFor(tz: string | undefined): ZoneNames | undefined {
  if (tz === '') return { std: 'UTC', stdEastMinutes: 0, dst: undefined }; // glibc: empty TZ is UTC
  const spec = tz === undefined ? undefined : tz.startsWith(':') ? tz.slice(1) : tz;
  const file = spec === undefined ? '/etc/localtime' : spec.startsWith('/') ? spec : `/usr/share/zoneinfo/${spec}`;
  const footer = readFooter(file);
  if (footer !== undefined) return parsePosixTz(footer);
  // Not a zone file: TZ may itself be a POSIX string such as "EST5EDT" or "<+04>-4".
  return spec === undefined ? undefined : parsePosixTz(spec);
}

/** The POSIX TZ string at the end of a TZif version 2+ file, or undefined. */
function readFooter(file: string): string | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  if (data.length < 6 || data.toString('latin1', 0, 4) !== 'TZif' || data[4] === 0 || data[data.length - 1] !== 0x0a) return undefined;
  const start = data.lastIndexOf(0x0a, data.length - 2);
  return start < 0 ? undefined : data.toString('latin1', start + 1, data.length - 1);
}

/** "std offset [dst [offset] [,rule]]" → names and the standard offset. Exported for tests. */
export function parsePosixTz(spec: string): ZoneNames | undefined {
  const std = readName(spec, 0);
  if (std === undefined) return undefined;
  const offset = /^[+-]?\d{1,2}(?::\d{1,2}(?::\d{1,2})?)?/.exec(spec.slice(std.end));
  if (offset === null) return undefined;
  const dst = readName(spec, std.end + offset[0].length);
  return { std: std.name, stdEastMinutes: -posixOffsetMinutes(offset[0]), dst: dst?.name };
}

function readName(spec: string, at: number): { name: string; end: number } | undefined {
  if (spec[at] === '<') {
    const close = spec.indexOf('>', at);
    return close < 0 ? undefined : { name: spec.slice(at + 1, close), end: close + 1 };
  }
  const m = /^[A-Za-z]{3,}/.exec(spec.slice(at));
  return m === null ? undefined : { name: m[0], end: at + m[0].length };
}

/** POSIX offsets are west-positive: "5" means UTC-5. */
function posixOffsetMinutes(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const [h = '0', m = '0'] = text.replace(/^[+-]/, '').split(':');
  return sign * (Number(h) * 60 + Number(m));
}

/** Last resort when no zone file can be read: ICU's short name ("EST", or "GMT+1"). */
function intlAbbreviation(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}
