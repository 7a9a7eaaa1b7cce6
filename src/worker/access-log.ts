/**
 * What the request logger is told about a finished request (requestLogRecord,
 * built from the exchange), and uWSGI's default line in its first, fixed form
 * (formatRequestLog: the reference the engine's default line is pinned to):
 *
 * [pid: 8456|app: 0|req: 1/1] 127.0.0.1 () {30 vars in 354 bytes} [Mon Nov 23 21:17:01 2026]
 *   POST /foo/bar?x=1 => generated 857 bytes in 4 msecs (HTTP/1.1 200) 2 headers in 72 bytes (1 switches on core 0)
 *
 * The worker writes its lines through src/logging (RequestLogger).
 */
import { performance } from 'node:perf_hooks';
import { lookupVar, type RequestLogRecordV2, type ResponseVia } from '../logging/record';
import type { Exchange } from './exchange';

export interface RequestLogRecord {
  pid: number;
  appId: number;
  appRequests: number;
  workerRequests: number;
  remoteAddr: string;
  remoteUser: string;
  varsCount: number;
  varsBytes: number;
  startedAtMs: number;
  method: string;
  uri: string;
  bodyBytes: number;
  durationMs: number;
  protocol: string;
  status: number;
  headerCount: number;
  headerBytes: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let cachedSecond = -1;
let cachedCtime = '';

/** C's ctime() without the newline, in local time: "Mon Nov 23 21:17:01 2026". Cached per second. */
export function ctime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === cachedSecond) return cachedCtime;
  const d = new Date(second * 1000);
  const pad = (n: number): string => (n < 10 ? '0' + n : String(n));
  const day = d.getDate();
  cachedCtime =
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? ' ' + day : day} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;
  cachedSecond = second;
  return cachedCtime;
}

export function formatRequestLog(r: RequestLogRecord): string {
  return (
    `[pid: ${r.pid}|app: ${r.appId}|req: ${r.appRequests}/${r.workerRequests}] ${r.remoteAddr} (${r.remoteUser}) ` +
    `{${r.varsCount} vars in ${r.varsBytes} bytes} [${ctime(r.startedAtMs)}] ${r.method} ${r.uri} => ` +
    `generated ${r.bodyBytes} bytes in ${Math.floor(r.durationMs)} msecs (${r.protocol} ${r.status}) ` +
    `${r.headerCount} headers in ${r.headerBytes} bytes (1 switches on core 0)\n`
  );
}

/** uWSGI counts both keys and values, and the bytes of the uwsgi packet they would make. */
export function measureVars(vars: ReadonlyArray<readonly [string, string]>): { count: number; bytes: number } {
  let bytes = 0;
  for (const [key, value] of vars) bytes += 4 + key.length + value.length;
  return { count: vars.length * 2, bytes };
}

/** How a response went, as the runner saw it. */
export interface LoggedOutcome {
  status: number;
  bodyBytes: number;
  headerCount: number;
  headerBytes: number;
  /** Set when the body was sent from a file (wsgi.file_wrapper). */
  via?: ResponseVia;
  /** 1 when the client went away before the response was written. */
  writeErrors?: number;
}

/** The worker's counters at the time the request ends. */
export interface LogCounters {
  workerId: number;
  appRequests: number;
  workerRequests: number;
  /** --memory-report: the worker's memory after the request, bytes. */
  memory?: { rss: number; vsz: number } | undefined;
}

/**
 * One finished request, for the request logger. The fields every format uses
 * are computed at once; the rest (headers, request variables) only when the
 * format reads them, so the default line costs what it cost before.
 */
class ExchangeLogRecord implements RequestLogRecordV2 {
  readonly pid = process.pid;
  readonly appId: number;
  readonly appRequests: number;
  readonly workerRequests: number;
  readonly workerId: number;
  readonly remoteAddr: string;
  readonly remoteUser: string;
  readonly varsCount: number;
  readonly varsBytes: number;
  readonly startedAtMs: number;
  readonly startedAtUs: number;
  readonly method: string;
  readonly uri: string;
  readonly bodyBytes: number;
  readonly durationMs: number;
  readonly durationUs: number;
  readonly protocol: string;
  readonly status: number;
  readonly headerCount: number;
  readonly headerBytes: number;
  readonly modifier1 = 0;
  readonly modifier2 = 0;
  readonly switches: number;
  readonly core: number;
  readonly via: ResponseVia | undefined;
  readonly readErrors = 0;
  readonly writeErrors: number;
  readonly rss: number;
  readonly vsz: number;
  /** Read only by formats that name a var (a uwsgi request's vars are made then). */
  private readonly ex: Exchange;

  constructor(ex: Exchange, o: LoggedOutcome, c: LogCounters) {
    this.ex = ex;
    const packet = ex.uwsgiVars;
    if (packet !== undefined) {
      // The block is the vars' lengths (2 bytes each) and bytes: what the loop below counts.
      this.varsCount = packet.count * 2;
      this.varsBytes = packet.block.length;
    } else {
      const vars = ex.vars;
      let bytes = 0;
      for (let i = 0; i < vars.length; i++) {
        const pair = vars[i] as [string, string];
        bytes += 4 + pair[0].length + pair[1].length;
      }
      this.varsCount = vars.length * 2;
      this.varsBytes = bytes;
    }
    this.appId = ex.appId;
    this.core = ex.core;
    this.appRequests = c.appRequests;
    this.workerRequests = c.workerRequests;
    this.workerId = c.workerId;
    this.remoteAddr = ex.remoteAddr;
    this.remoteUser = ex.remoteUser;
    this.startedAtMs = ex.startedAtMs;
    // Millisecond resolution: the wall clock is read once per request, as Date.now().
    this.startedAtUs = ex.startedAtMs * 1000;
    this.durationUs = ex.startedAtPerf !== undefined ? (performance.now() - ex.startedAtPerf) * 1000 : (Date.now() - ex.startedAtMs) * 1000;
    this.durationMs = this.durationUs / 1000;
    this.method = ex.method;
    this.uri = ex.uri;
    this.protocol = ex.requestProtocol;
    this.status = o.status;
    this.bodyBytes = o.bodyBytes;
    this.headerCount = o.headerCount;
    this.headerBytes = o.headerBytes;
    this.via = o.via;
    // uWSGI counts a sendfile response as no switch; an ASGI request, each time its task was woken.
    this.switches = o.via === 'sendfile' ? 0 : (ex.switches ?? 1);
    this.writeErrors = o.writeErrors ?? 0;
    this.rss = c.memory?.rss ?? 0;
    this.vsz = c.memory?.vsz ?? 0;
  }

  get host(): string {
    return lookupVar(this.ex.vars, 'HTTP_HOST') ?? '';
  }

  get userAgent(): string {
    return lookupVar(this.ex.vars, 'HTTP_USER_AGENT') ?? '';
  }

  get referer(): string {
    return lookupVar(this.ex.vars, 'HTTP_REFERER') ?? '';
  }

  get contentLength(): number {
    const cl = Number(lookupVar(this.ex.vars, 'CONTENT_LENGTH') ?? 0);
    return Number.isFinite(cl) ? cl : 0;
  }

  requestVar(name: string): string | undefined {
    return lookupVar(this.ex.vars, name);
  }
}

export function requestLogRecord(ex: Exchange, o: LoggedOutcome, c: LogCounters): RequestLogRecordV2 {
  return new ExchangeLogRecord(ex, o, c);
}
