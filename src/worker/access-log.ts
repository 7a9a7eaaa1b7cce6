/**
 * The request log line, in uWSGI's default format, byte for byte where we can:
 *
 * [pid: 8456|app: 0|req: 1/1] 127.0.0.1 () {30 vars in 354 bytes} [Mon Nov 23 21:17:01 2026]
 *   POST /foo/bar?x=1 => generated 857 bytes in 4 msecs (HTTP/1.1 200) 2 headers in 72 bytes (1 switches on core 0)
 */

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
