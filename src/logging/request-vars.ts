/**
 * The `%(name)` variables of --log-format, each formatted as uWSGI 2.0 does
 * (core/logging.c: the offsetof chunks and the uwsgi_lf_* functions).
 *
 * A getter may return ''; the compiled template prints '-' instead, as uWSGI
 * does for every empty variable.
 */
import { logAddress } from './filters';
import type { RequestLogRecordV2 } from './record';
import { ctimeFormat } from './strftime';
import { boundedStrftime, perSecond, type TimeFormatter } from './time-cache';

export type Getter = (r: RequestLogRecordV2) => string;

export interface VariableContext {
  logXForwardedFor: boolean;
  /** The --log-date strftime format when --log-format-strftime is on: %(ftime) uses it. */
  ftimeFormat: string | undefined;
  /** Wall clock in ms, for %(epoch) (the time of logging, not of the request). */
  now: () => number;
}

/** Apache's time, without brackets: "23/Nov/2026:22:59:36 +0000" (uWSGI's %(ltime)). */
export const LTIME_FORMAT = '%d/%b/%Y:%H:%M:%S %z';

const startMs = (r: RequestLogRecordV2): number => Math.floor(r.startedAtUs / 1000);
const micros = (r: RequestLogRecordV2): number => Math.max(0, Math.floor(r.durationUs));
const MB = 1024 * 1024;

/** Variables that need nothing but the record. */
const PLAIN: Record<string, Getter> = {
  uri: (r) => r.uri,
  method: (r) => r.method,
  user: (r) => r.remoteUser,
  host: (r) => r.host,
  proto: (r) => r.protocol,
  uagent: (r) => r.userAgent,
  referer: (r) => r.referer,
  status: (r) => String(r.status),
  rsize: (r) => String(r.bodyBytes),
  hsize: (r) => String(r.headerBytes),
  size: (r) => String(r.bodyBytes + r.headerBytes),
  cl: (r) => String(r.contentLength),
  micros: (r) => String(micros(r)),
  msecs: (r) => String(Math.floor(micros(r) / 1000)),
  // C's %f: six decimals.
  secs: (r) => (micros(r) / 1e6).toFixed(6),
  time: (r) => String(Math.floor(r.startedAtUs / 1e6)),
  tmsecs: (r) => String(Math.floor(r.startedAtUs / 1000)),
  tmicros: (r) => String(Math.floor(r.startedAtUs)),
  pid: (r) => String(r.pid),
  wid: (r) => String(r.workerId),
  core: (r) => String(r.core),
  switches: (r) => String(r.switches),
  vars: (r) => String(r.varsCount),
  pktsize: (r) => String(r.varsBytes),
  modifier1: (r) => String(r.modifier1),
  modifier2: (r) => String(r.modifier2),
  rss: (r) => String(r.rss ?? 0),
  vsz: (r) => String(r.vsz ?? 0),
  rssM: (r) => String(Math.floor((r.rss ?? 0) / MB)),
  vszM: (r) => String(Math.floor((r.vsz ?? 0) / MB)),
  headers: (r) => String(r.headerCount),
  rerr: (r) => String(r.readErrors),
  werr: (r) => String(r.writeErrors),
  ioerr: (r) => String(r.readErrors + r.writeErrors),
};

/** True for the names uWSGI registers itself (everything else is a var., metric. or logvar). */
export function isBuiltinVariable(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(PLAIN, name) || name === 'addr' || name === 'epoch' || TIMES.has(name);
}

const TIMES = new Set(['ctime', 'ltime', 'ftime']);

/** The getter for `%(name)`, resolved once when the template is compiled. */
export function resolveVariable(name: string, ctx: VariableContext): Getter {
  if (Object.prototype.hasOwnProperty.call(PLAIN, name)) return PLAIN[name]!;
  if (name === 'addr') return (r) => logAddress(r, ctx.logXForwardedFor);
  if (name === 'epoch') return () => String(Math.floor(ctx.now() / 1000));
  if (TIMES.has(name)) return timeGetter(name, ctx);
  if (name.startsWith('var.')) {
    const key = name.slice(4);
    return (r) => r.requestVar(key) ?? '';
  }
  // nuwsgi has no metrics subsystem; uWSGI prints 0 for a metric it does not know.
  if (name.startsWith('metric.')) return () => '0';
  // Anything else is a logvar (uwsgi.set_logvar); unset prints '-'.
  return (r) => r.logVar?.(name) ?? '';
}

function timeGetter(name: string, ctx: VariableContext): Getter {
  let format: TimeFormatter;
  if (name === 'ctime') format = perSecond(boundedStrftime(ctimeFormat));
  else if (name === 'ftime' && ctx.ftimeFormat !== undefined) format = perSecond(boundedStrftime(ctx.ftimeFormat));
  else format = perSecond(boundedStrftime(LTIME_FORMAT)); // ltime, and ftime without a format
  return (r) => format(startMs(r));
}
