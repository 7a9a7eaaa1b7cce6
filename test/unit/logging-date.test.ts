/**
 * --log-date prefixes and reading the logging options. The prefixes are what
 * uWSGI 2.0.21 printed before its own lines (machine zone UTC):
 *
 *   uwsgi ... --log-date            -> "Mon Nov 23 23:00:23 2026 - spawned uWSGI worker 1 ..."
 *   uwsgi ... --logdate='%Y'        -> "2026 - spawned uWSGI worker 1 ..."
 *   uwsgi ... --ini t.ini  (log-date = true)  -> "Mon Nov 23 23:02:11 2026 - ..."
 *   TZ=America/New_York uwsgi ... --log-date='%z %Z %e' -> "-0500 EST 23 - spawned ..."
 *
 * Request lines carried no prefix in any of those runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
process.env['TZ'] = 'UTC';
import { loadConfig } from '../../src/config/index';
import { createRequestFormatter, logDateFromOptions, requestLogSettingsFromOptions, RequestLogger } from '../../src/logging/index';
import { LogDate, logDateSetting } from '../../src/logging/log-date';
import { requestLogFilterFromOptions } from '../../src/logging/filters';
import type { LogSink } from '../../src/logging/sink';

const AT = 1795474823_400; // Mon Nov 23 23:00:23 2026 UTC

test('the prefix is ctime, a strftime result, or nothing', () => {
  assert.equal(new LogDate(logDateSetting('')).line('spawned uWSGI worker 1\n', AT), 'Mon Nov 23 23:00:23 2026 - spawned uWSGI worker 1\n');
  assert.equal(new LogDate(logDateSetting('%Y')).prefix(AT), '2026 - ');
  assert.equal(new LogDate(logDateSetting(undefined)).prefix(AT), '');
  // uwsgi_log_verbose lines are dated even without --log-date.
  assert.equal(new LogDate(logDateSetting(undefined)).verbosePrefix(AT), 'Mon Nov 23 23:00:23 2026 - ');
  // A format whose result passes 63 bytes leaves the bare " - " (uWSGI printed " - *** uWSGI is running ...").
  assert.equal(new LogDate(logDateSetting('%Y-%m-%d %H:%M:%S %% %y %b %a %e %j %z %Z %s %T %F')).prefix(AT), ' - ');
  process.env['TZ'] = 'America/New_York';
  assert.equal(new LogDate(logDateSetting('%z %Z %e')).prefix(AT), '-0500 EST 23 - ');
  process.env['TZ'] = 'UTC';
});

test('options: log-date with and without a value, log-date = true', () => {
  const kind = (argv: string[]): string => logDateFromOptions(loadConfig(argv, {}, '/').options).setting.kind;
  assert.equal(kind([]), 'off');
  assert.equal(kind(['--log-date']), 'ctime');
  assert.equal(kind(['--logdate=%Y']), 'strftime');
  assert.equal(kind(['--log-date=true']), 'ctime');
});

test('options: the formatter and filter the command line asks for', () => {
  const opts = loadConfig(['--log-date=%Y', '--log-format-strftime', '--log-format', '[%(ftime)] %(status)', '-L', '--log-5xx', '--log-slow', '250'], {}, '/').options;
  const settings = requestLogSettingsFromOptions(opts);
  assert.equal(settings.ftimeFormat, '%Y');
  assert.equal(settings.json, false);
  const filter = requestLogFilterFromOptions(opts);
  assert.deepEqual([filter.enabled, filter.log5xx, filter.slowMs, filter.log4xx], [false, true, 250, false]);
  // --log-format-strftime without a --log-date format leaves %(ftime) as %(ltime).
  const plain = requestLogSettingsFromOptions(loadConfig(['--log-date', '--log-format-strftime'], {}, '/').options);
  assert.equal(plain.ftimeFormat, undefined);
  assert.equal(plain.format, undefined);
});

test('RequestLogger writes what the filter lets through, as latin-1', () => {
  const written: Array<[string, string | undefined]> = [];
  const sink: LogSink = { write: (line, enc) => void written.push([line, enc]), writeLines: () => {}, reopen: () => {}, close: () => {} };
  const opts = loadConfig(['-L', '--log-4xx', '--log-format', '%(status) %(uri)'], {}, '/').options;
  const logger = RequestLogger.fromOptions(opts, sink);
  assert.equal(logger.active, true);
  const base = { status: 200, uri: '/a', bodyBytes: 1, durationUs: 1, readErrors: 0, writeErrors: 0 };
  logger.log(base as Parameters<RequestLogger['log']>[0]);
  logger.log({ ...base, status: 404, uri: '/caf\xc3\xa9' } as Parameters<RequestLogger['log']>[0]);
  assert.deepEqual(written, [['404 /caf\xc3\xa9\n', 'latin1']]);
  assert.equal(RequestLogger.fromOptions(loadConfig(['-L'], {}, '/').options, sink).active, false);
  assert.equal(typeof createRequestFormatter(requestLogSettingsFromOptions(opts)), 'function');
});
