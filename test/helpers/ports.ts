// Which sockets a server bound, read from its startup log.
//
// nuwsgi logs bound sockets exactly like uWSGI does ("<prog> socket N bound
// to TCP address HOST:PORT (port auto-assigned) fd F"), so one parser serves
// both, and tests can always ask for port 0 and learn the real port here.
import { createServer } from 'node:net';

/** What protocol a listening socket speaks, inferred from the flag that made it. */
export type SocketKind = 'http' | 'uwsgi' | 'https' | 'unknown';

export interface BoundSocket {
  /** uWSGI's socket number: the order the sockets were given on the command line. */
  index: number;
  transport: 'tcp' | 'unix';
  /** TCP only: host as logged ('' for ":8000", which means all addresses). */
  host?: string;
  /** TCP only. */
  port?: number;
  /** UNIX only. */
  path?: string;
  fd: number;
  kind: SocketKind;
}

const BOUND_LINE =
  /^(?:nuwsgi|uwsgi) socket (\d+) bound to (TCP|UNIX) address (\S+?)(?: \(port auto-assigned\))? fd (\d+)\s*$/;

/**
 * Socket flags in command-line order, as uWSGI numbers them. `--http11-socket`
 * is uWSGI's keep-alive variant of `--http-socket`.
 */
const SOCKET_FLAGS: ReadonlyMap<string, SocketKind> = new Map<string, SocketKind>([
  ['--http-socket', 'http'],
  ['--http11-socket', 'http'],
  ['--https-socket', 'https'],
  ['--socket', 'uwsgi'],
  ['-s', 'uwsgi'],
  ['--uwsgi-socket', 'uwsgi'],
]);

/** The kind of each socket the arguments ask for, in socket-number order. */
export function socketKindsFromArgs(args: readonly string[]): SocketKind[] {
  const kinds: SocketKind[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const kind = SOCKET_FLAGS.get(flag);
    if (kind === undefined) continue;
    kinds.push(kind);
    if (flag === arg) i++; // "--flag value": skip the value
  }
  return kinds;
}

/** Splits "127.0.0.1:8000", "[::1]:8000" or ":8000" into host and port. */
function splitHostPort(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return undefined;
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** Parses one log line; undefined when it is not a "socket N bound" line. */
export function parseBoundLine(line: string, kinds: readonly SocketKind[] = []): BoundSocket | undefined {
  const m = BOUND_LINE.exec(line);
  if (m === null) return undefined;
  const index = Number(m[1]);
  const fd = Number(m[4]);
  const kind = kinds[index] ?? 'unknown';
  const address = m[3] ?? '';
  if (m[2] === 'UNIX') return { index, transport: 'unix', path: address, fd, kind };
  const hp = splitHostPort(address);
  if (hp === undefined) return undefined;
  return { index, transport: 'tcp', host: hp.host, port: hp.port, fd, kind };
}

/** All bound sockets in a log, ordered by socket number (a re-log replaces). */
export function parseBoundSockets(log: string, kinds: readonly SocketKind[] = []): BoundSocket[] {
  const byIndex = new Map<number, BoundSocket>();
  for (const line of log.split('\n')) {
    const s = parseBoundLine(line.replace(/\r$/, ''), kinds);
    if (s !== undefined) byIndex.set(s.index, s);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/**
 * A port that was free a moment ago. Prefer passing port 0 to the server and
 * reading the bound port from its log: this has a small race window and is
 * only for programs that cannot report their port.
 */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
