/**
 * This process's log: where writeLog() lines go (stderr until --logto opens a
 * file or UDP target) and the --log-date prefix they get.
 *
 * One process-wide log, as uWSGI's uwsgi_log(): the master, the CLI and each
 * worker configure it once at startup and every module just calls writeLog.
 */
import { FdSink, type LineEncoding, type LogSink } from '../logging/sink';
import { LogDate } from '../logging/log-date';

let current: LogSink = new FdSink(2);
let date = new LogDate({ kind: 'off' });

/**
 * A stable handle on the process log: request loggers keep this object, and
 * still follow when the target is replaced (--logto2) or reopened.
 */
export const processLog: LogSink = {
  write: (line: string, encoding?: LineEncoding) => current.write(line, encoding),
  writeLines: (data: Buffer) => current.writeLines(data),
  reopen: () => current.reopen(),
  close: () => current.close(),
};

/** Sends this process's lines to `sink` from now on (the previous one is not closed: the caller owns it). */
export function setLogSink(sink: LogSink): void {
  current = sink;
}

/** The --log-date prefix of writeLog lines. */
export function setLogDate(logDate: LogDate): void {
  date = logDate;
}

/**
 * Write one log line (a "\n" is added when missing) with a single write(2):
 * lines from several processes sharing the log never interleave. Prefixed
 * with --log-date when set.
 */
export function writeLog(line: string): void {
  current.write(date.line(line));
}

/** uWSGI's uwsgi_log_verbose: always dated, --log-date or not (graceful shutdowns, touch reloads). */
export function writeLogVerbose(line: string): void {
  current.write(date.verbosePrefix() + line);
}
