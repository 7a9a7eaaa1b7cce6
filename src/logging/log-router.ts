/**
 * Where each line goes when `logger`, `req-logger`, `log-route`,
 * `log-encoder`, `log-drain` or `log-filter` is set: the master's side of
 * uWSGI's log-master (core/logging.c, uwsgi_master_log and
 * uwsgi_master_req_log), applied to one whole line at a time.
 *
 * General lines (the master's and workers' messages, what apps print, and
 * request lines when there is no req-logger):
 *   1. a line matching a log-drain pattern is dropped;
 *   2. with log-filter patterns, a line matching none of them is dropped;
 *   3. for every log-route whose pattern matches, the line goes to that named
 *      logger (twice if two routes to it match); a routed line goes nowhere else;
 *   4. otherwise it goes to every unnamed logger, or, with none, to the
 *      default output (stderr or the --logto target).
 * Request lines (with a req-logger) follow steps 3 and 4 with log-req-route
 * and the req-loggers; drain and filter do not apply to them (as uWSGI).
 * Each destination gets the line through the encoder chain (log-encoder, or
 * log-req-encoder for request lines), skipping encoders scoped to another
 * logger's name.
 */
import { encodeFor, type LogEncoder } from './encoders';
import type { Logger } from './plugin-loggers';
import type { LineEncoding, LogSink } from './sink';
import { lineBuffer } from './sink';

export interface Route {
  pattern: RegExp;
  logger: Logger;
}

export interface RouterConfig {
  loggers: Logger[];
  reqLoggers: Logger[];
  routes: Route[];
  reqRoutes: Route[];
  drain: RegExp[];
  filter: RegExp[];
  encoders: LogEncoder[];
  reqEncoders: LogEncoder[];
}

interface Channel {
  unnamed: Logger[];
  routes: Route[];
  encoders: LogEncoder[];
  drain: RegExp[];
  filter: RegExp[];
}

const NEWLINE = 0x0a;

export class LogRouter {
  /** The master's messages and everything its workers write to stdout and stderr. */
  readonly general: LogSink;
  /** Request lines, when a req-logger is set (the workers' request pipes). */
  readonly requests: LogSink;
  private readonly all: Logger[];

  /** `fallback`: the default output now (it changes with --logto2), for lines no unnamed logger takes. */
  constructor(cfg: RouterConfig, fallback: () => LogSink) {
    this.all = [...cfg.loggers, ...cfg.reqLoggers];
    const general: Channel = {
      unnamed: cfg.loggers.filter((l) => l.id === undefined),
      routes: cfg.routes,
      encoders: cfg.encoders,
      drain: cfg.drain,
      filter: cfg.filter,
    };
    const requests: Channel = {
      unnamed: cfg.reqLoggers.filter((l) => l.id === undefined),
      routes: cfg.reqRoutes,
      encoders: cfg.reqEncoders,
      drain: [],
      filter: [],
    };
    this.general = channelSink((line) => routeLine(general, fallback, line), this);
    this.requests = channelSink((line) => routeLine(requests, fallback, line), this);
  }

  /** Reopen every file logger by path (uWSGI reopens only --logto; logrotate needs these too). */
  reopen(): void {
    for (const l of this.all) l.reopen();
  }

  close(): void {
    for (const l of this.all) l.close();
  }
}

/** A LogSink feeding whole lines to `route`; reopen and close act on every logger. */
function channelSink(route: (line: string) => void, router: LogRouter): LogSink {
  return {
    write: (line: string, encoding: LineEncoding = 'utf8') => route(lineBuffer(line, encoding).toString('latin1')),
    writeLines: (data: Buffer) => forEachLine(data, route),
    reopen: () => router.reopen(),
    close: () => router.close(),
  };
}

/** Calls `fn` with each line of `data` (as latin-1, its "\n" kept; a last piece without one as it is). */
export function forEachLine(data: Buffer, fn: (line: string) => void): void {
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(NEWLINE, start);
    const end = nl < 0 ? data.length : nl + 1;
    fn(data.toString('latin1', start, end));
    start = end;
  }
}

function routeLine(ch: Channel, fallback: () => LogSink, line: string): void {
  // Patterns see the line without its newline, so '$' anchors at its end (as PCRE's '$' does before a final newline).
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (ch.drain.some((p) => p.test(text))) return;
  if (ch.filter.length > 0 && !ch.filter.some((p) => p.test(text))) return;
  let routed = false;
  for (const r of ch.routes) {
    if (!r.pattern.test(text)) continue;
    deliver(ch.encoders, r.logger, line);
    routed = true;
  }
  if (routed) return;
  for (const l of ch.unnamed) deliver(ch.encoders, l, line);
  if (ch.unnamed.length === 0) fallback().writeLines(Buffer.from(encodeFor(ch.encoders, undefined, line), 'latin1'));
}

function deliver(encoders: readonly LogEncoder[], logger: Logger, line: string): void {
  logger.write(Buffer.from(encodeFor(encoders, logger.id, line), 'latin1'));
}
