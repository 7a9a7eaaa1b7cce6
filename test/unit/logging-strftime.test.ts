/**
 * strftime against glibc, through the real uWSGI 2.0.21: every expected string
 * below is a --log-date prefix uWSGI printed, with the command that printed it:
 *
 *   TZ=<zone> uwsgi --plugin python3 --http-socket 127.0.0.1:9338 --wsgi-file app.py --log-date='<format>'
 *
 * The epoch is the second of the capture (from `date +%s` next to it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileStrftime } from '../../src/logging/strftime';
import { parsePosixTz, zoneAbbreviation } from '../../src/logging/tz-abbrev';
import { boundedStrftime } from '../../src/logging/time-cache';

function at(tz: string, format: string, epoch: number): string {
  process.env['TZ'] = tz;
  return compileStrftime(format)(epoch * 1000);
}

test('the conversions of the C locale print what glibc printed', () => {
  // TZ=UTC (the machine's zone) --log-date='%Y-%m-%d %H:%M:%S %% %y %b %a %e %j'
  assert.equal(at('UTC', '%Y-%m-%d %H:%M:%S %% %y %b %a %e %j', 1795474847), '2026-11-23 23:00:47 % 26 Nov Mon 23 327');
  // --log-date='%z %Z %s %T %F %Q %': unknown conversions and a trailing % stay as written
  assert.equal(at('UTC', '%z %Z %s %T %F %Q %', 1795474848), '+0000 UTC 1795474848 23:00:48 2026-11-23 %Q %');
  // TZ=America/New_York --log-date='%D %R %u %w %C %G %g %V'
  assert.equal(at('America/New_York', '%D %R %u %w %C %G %g %V', 1795474849), '11/23/26 18:00 1 1 20 2026 26 48');
  // TZ=America/New_York --log-date='%U %W %k %l'
  assert.equal(at('America/New_York', '%U %W %k %l', 1795474850), '47 47 18  6');
  // TZ=America/New_York --log-date='%c' / '%x %X' / '%r %P'
  assert.equal(at('America/New_York', '%c', 1795474850), 'Mon Nov 23 18:00:50 2026');
  assert.equal(at('America/New_York', '%x %X', 1795474850), '11/23/26 18:00:50');
  assert.equal(at('America/New_York', '%r %P', 1795474851), '06:00:51 PM pm');
  // TZ=America/New_York --log-date='%z|%Z|%I %p %A %B %h' (the capture was cut at 40 bytes by od; this is its start)
  assert.equal(at('America/New_York', '%z|%Z|%I %p %A %B %h', 1795474850), '-0500|EST|06 PM Monday November Nov');
  // TZ=Asia/Kolkata --log-date='%Z %z|%c|%r'
  assert.equal(at('Asia/Kolkata', '%Z %z|%c|%r', 1795475402), 'IST +0530|Tue Nov 24 04:40:02 2026|04:40:02 AM');
  // TZ=Asia/Kolkata --log-date='%x %X|%D|%h %B %A %p %P'
  assert.equal(at('Asia/Kolkata', '%x %X|%D|%h %B %A %p %P', 1795475405), '11/24/26 04:40:05|11/24/26|Nov November Tuesday AM am');
  // TZ=Asia/Kolkata --log-date='%C %g %e %k %l %I %s|%n|%t|%%|%Q|%'
  assert.equal(at('Asia/Kolkata', '%C %g %e %k %l %I %s|%n|%t|%%|%Q|%', 1795475406), '20 26 24  4  4 04 1795475406|\n|\t|%|%Q|%');
});

test('zone names come from the zone file, as glibc reads them', () => {
  // TZ=Europe/Berlin --log-date='%Z %z %G-W%V-%u %U %W %j'
  assert.equal(at('Europe/Berlin', '%Z %z %G-W%V-%u %U %W %j', 1795475393), 'CET +0100 2026-W48-2 47 47 328');
  // TZ=Asia/Dubai --log-date='%Z|%-d|%_H|%^a|%10Y|%-j': flags and widths
  assert.equal(at('Asia/Dubai', '%Z|%-d|%_H|%^a|%10Y|%-j', 1795475393), '+04|24| 3|TUE|0000002026|328');
  // Summer time picks the DST name.
  assert.equal(at('Europe/Berlin', '%Z %z', Date.UTC(2026, 6, 1) / 1000), 'CEST +0200');
  assert.equal(at('America/New_York', '%Z', Date.UTC(2026, 6, 1) / 1000), 'EDT');
  process.env['TZ'] = 'UTC';
  assert.equal(zoneAbbreviation(new Date(0)), 'UTC');
});

test('POSIX TZ strings: quoted names, offsets west-positive', () => {
  assert.deepEqual(parsePosixTz('<+04>-4'), { std: '+04', stdEastMinutes: 240, dst: undefined });
  assert.deepEqual(parsePosixTz('IST-5:30'), { std: 'IST', stdEastMinutes: 330, dst: undefined });
  assert.deepEqual(parsePosixTz('EST5EDT,M3.2.0,M11.1.0'), { std: 'EST', stdEastMinutes: -300, dst: 'EDT' });
  assert.equal(parsePosixTz('5'), undefined);
});

test('ISO weeks at year boundaries', () => {
  // 2027-01-01 is a Friday: ISO week 53 of 2026. 2024-12-30 is a Monday: week 1 of 2025.
  assert.equal(at('UTC', '%G %V %g', Date.UTC(2027, 0, 1) / 1000), '2026 53 26');
  assert.equal(at('UTC', '%G %V', Date.UTC(2024, 11, 30) / 1000), '2025 01');
  assert.equal(at('UTC', '%U %W %j', Date.UTC(2026, 0, 1) / 1000), '00 00 001');
});

test('a result longer than 63 bytes prints nothing (uWSGI formats into a 64-byte buffer)', () => {
  process.env['TZ'] = 'UTC';
  // uWSGI printed " - spawned ..." for --log-date='%Y-%m-%d %H:%M:%S %% %y %b %a %e %j %z %Z %s %T %F' (66 bytes)
  const long = boundedStrftime('%Y-%m-%d %H:%M:%S %% %y %b %a %e %j %z %Z %s %T %F');
  assert.equal(long(1795474843000), '');
  assert.equal(boundedStrftime('%Y')(1795474843000), '2026');
  // Exactly 63 bytes fits.
  assert.equal(boundedStrftime('x'.repeat(63))(0), 'x'.repeat(63));
  assert.equal(boundedStrftime('x'.repeat(64))(0), '');
});
