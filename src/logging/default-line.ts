/**
 * uWSGI's default request line (uwsgi_logit_simple), with everything the
 * worker's formatRequestLog leaves out: --log-micros, the " via sendfile() "
 * marker, the switch count, --memory-report and --log-x-forwarded-for.
 *
 *   [pid: 6878|app: 0|req: 2/2] 127.0.0.1 () {24 vars in 248 bytes} [Mon Nov 23 23:00:23 2026]
 *     GET /fw => generated 1007 bytes in 325 micros via sendfile() (HTTP/1.1 200) 1 headers in 45 bytes (0 switches on core 0)
 *
 * For a record formatRequestLog also accepts, and without those options, the
 * line is the same byte for byte.
 */
import { logAddress } from './filters';
import type { RequestLogRecordV2, ResponseVia } from './record';
import type { RequestFormatter } from './request-format';
import { ctimeFormat } from './strftime';
import { boundedStrftime, perSecond } from './time-cache';

export interface DefaultLineOptions {
  /** --log-micros: the duration in microseconds ("in 325 micros"). */
  micros?: boolean;
  /** --log-x-forwarded-for. */
  logXForwardedFor?: boolean;
  /** --memory-report: the "{address space usage: ...} {rss usage: ...} " prefix. */
  memoryReport?: boolean;
}

/** uWSGI formats the line into a 4096-byte buffer and falls back to a minimal line past it. */
const MAX_LINE = 4096;

const VIA: Record<ResponseVia, string> = { sendfile: ' via sendfile() ', route: ' via route() ', offload: ' via offload() ' };

export function compileDefaultLine(opts: DefaultLineOptions = {}): RequestFormatter {
  const ctime = perSecond(boundedStrftime(ctimeFormat));
  const micros = opts.micros ?? false;
  const xff = opts.logXForwardedFor ?? false;
  const memory = opts.memoryReport ?? false;
  return (r) => {
    const time = ctime(Math.floor(r.startedAtUs / 1000));
    const duration = micros ? `${Math.max(0, Math.floor(r.durationUs))} micros` : `${Math.max(0, Math.floor(r.durationUs / 1000))} msecs`;
    const via = r.via === undefined ? ' ' : VIA[r.via];
    const tail =
      `{${r.varsCount} vars in ${r.varsBytes} bytes} [${time}] ${r.method} ${r.uri} => generated ${r.bodyBytes} bytes in ${duration}` +
      `${via}(${r.protocol} ${r.status}) ${r.headerCount} headers in ${r.headerBytes} bytes (${r.switches} switches on core ${r.core})\n`;
    const head = `[pid: ${r.pid}|app: ${r.appId}|req: ${r.appRequests}/${r.workerRequests}] `;
    // Request strings are latin-1 byte strings: length is the byte count on the wire.
    let line = `${head}${logAddress(r, xff)} (${r.remoteUser}) ${tail}`;
    if (line.length > MAX_LINE) line = minimalLine(head, r, time, duration, via);
    return memory ? memoryPrefix(r) + line : line;
  };
}

/** uWSGI's "safe minimal message" for a request whose line would not fit. */
function minimalLine(head: string, r: RequestLogRecordV2, time: string, duration: string, via: string): string {
  const line =
    `${head}0.0.0.0 () {${r.varsCount} vars in ${r.varsBytes} bytes} [${time}] - - => generated ${r.bodyBytes} bytes in ${duration}` +
    `${via}(- ${r.status}) ${r.headerCount} headers in ${r.headerBytes} bytes (${r.switches} switches on core ${r.core})\n`;
  return line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line;
}

function memoryPrefix(r: RequestLogRecordV2): string {
  const vsz = r.vsz ?? 0;
  const rss = r.rss ?? 0;
  const mb = (n: number): number => Math.floor(n / 1024 / 1024);
  return `{address space usage: ${vsz} bytes/${mb(vsz)}MB} {rss usage: ${rss} bytes/${mb(rss)}MB} `;
}
