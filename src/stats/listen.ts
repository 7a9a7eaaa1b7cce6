/**
 * Binding the stats and metrics servers. These are the master's own small
 * servers (not the app's sockets), so plain node:net listening is enough.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { NuwsgiError } from '../util/errors';

export type StatsAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * uWSGI's rule for --stats (master.c): an address with a ':' is TCP
 * ("host:port", ":port" for every interface, "[v6]:port"), anything else a
 * UNIX socket path ("@name" for an abstract one).
 */
export function parseStatsAddress(spec: string): StatsAddress {
  const colon = spec.lastIndexOf(':');
  if (colon < 0) {
    if (spec === '') throw new NuwsgiError('E_STATS_BIND', 'empty stats address');
    return { kind: 'unix', path: spec.startsWith('@') ? `\0${spec.slice(1)}` : spec };
  }
  const portText = spec.slice(colon + 1);
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NuwsgiError('E_STATS_BIND', `invalid port in stats address "${spec}"`);
  }
  const rawHost = spec.slice(0, colon);
  const host = rawHost === '' ? '0.0.0.0' : rawHost.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port };
}

export interface Listening {
  /** The bound address: "host:port" with the real port, or the UNIX path. */
  address: string;
  /** The listening descriptor, for uWSGI's "fd: N" log line (-1 if unknown). */
  fd: number;
  /** Stops accepting, removes a UNIX socket file we created. */
  close(): Promise<void>;
}

export function listenOn(server: Server, spec: string): Promise<Listening> {
  const addr = parseStatsAddress(spec);
  if (addr.kind === 'unix') removeStaleSocket(addr.path);
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new NuwsgiError('E_STATS_BIND', `cannot bind "${spec}": ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    const onListening = (): void => {
      server.off('error', onError);
      resolve({ address: boundAddress(server, addr), fd: serverFd(server), close: () => closeServer(server) });
    };
    if (addr.kind === 'unix') server.listen(addr.path, onListening);
    else server.listen(addr.port, addr.host, onListening);
  });
}

function boundAddress(server: Server, addr: StatsAddress): string {
  if (addr.kind === 'unix') return addr.path.startsWith('\0') ? `@${addr.path.slice(1)}` : addr.path;
  const info = server.address();
  if (info === null || typeof info === 'string') return `${addr.host}:${addr.port}`;
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return `${host}:${info.port}`;
}

function serverFd(server: Server): number {
  // Node keeps the descriptor on its internal handle; only the log line needs it.
  const handle = (server as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/** Node (libuv) unlinks a UNIX socket's file on close itself. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // An HTTP client's idle keep-alive connection would hold close() open.
    const http = server as Server & { closeAllConnections?: () => void };
    http.closeAllConnections?.();
  });
}

/** A socket file left by a previous run would make bind fail with EADDRINUSE; uWSGI unlinks it too. */
function removeStaleSocket(path: string): void {
  if (path.startsWith('\0')) return;
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there: fine
  }
}
