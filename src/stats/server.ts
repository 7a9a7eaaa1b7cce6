/**
 * The stats server (--stats ADDR): like uWSGI, one JSON document per
 * connection, then close. With --stats-http the client must send something
 * first (any request: uWSGI reads once and ignores it), and gets a minimal
 * HTTP/1.0 response; a client that sends nothing within the socket timeout
 * is closed without an answer, as uWSGI does.
 */
import net from 'node:net';
import { listenOn } from './listen';
import type { InstanceSnapshot } from './snapshot';
import { renderStatsJson } from './uwsgi-json';

export interface StatsServerOptions {
  /** --stats-http */
  http: boolean;
  /** --stats-minified */
  minified: boolean;
  /** --stats-no-cores */
  noCores?: boolean;
  /** How long a --stats-http client may take to send its request (uWSGI: socket-timeout, 4 s). */
  socketTimeoutMs?: number;
  log: (line: string) => void;
}

export interface StatsServer {
  /** The bound address ("127.0.0.1:9191" with the real port, or the UNIX path). */
  address: string;
  close(): Promise<void>;
}

/** uWSGI's exact header block (core/utils.c uwsgi_send_http_stats). */
const HTTP_HEAD = 'HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\n\r\n';

const DEFAULT_SOCKET_TIMEOUT_MS = 4000;

export async function startStatsServer(address: string, getSnapshot: () => InstanceSnapshot, opts: StatsServerOptions): Promise<StatsServer> {
  const render = (): string => renderStatsJson(getSnapshot(), { minified: opts.minified, noCores: opts.noCores === true });
  const server = net.createServer((sock) => serve(sock, render, opts));
  const listening = await listenOn(server, address);
  // uWSGI logs the address as given; with port 0 the real one is the useful one.
  const shown = /:0$/.test(address) ? listening.address : address;
  opts.log(`*** Stats server enabled on ${shown} fd: ${listening.fd} ***`);
  return { address: listening.address, close: listening.close };
}

function serve(sock: net.Socket, render: () => string, opts: StatsServerOptions): void {
  // A client that vanishes mid-write is not worth a log line (uWSGI is silent too).
  sock.on('error', () => sock.destroy());
  if (!opts.http) {
    sendDocument(sock, '', render);
    return;
  }
  let answered = false;
  sock.setTimeout(opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS, () => sock.destroy());
  sock.once('data', () => {
    answered = true;
    sock.setTimeout(0);
    sendDocument(sock, HTTP_HEAD, render);
  });
  // Closed before asking: nothing to answer (destroying after an answer could cut it short).
  sock.once('end', () => {
    if (!answered) sock.destroy();
  });
}

function sendDocument(sock: net.Socket, head: string, render: () => string): void {
  let body: string;
  try {
    body = render();
  } catch {
    // uWSGI closes the connection without a byte when it cannot build the document.
    sock.destroy();
    return;
  }
  sock.end(head + body);
}
