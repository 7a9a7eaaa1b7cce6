/**
 * --logto host:port: every log line is one UDP datagram (with its "\n"), as
 * uWSGI sends them. The host is resolved once, when the sink opens, and the
 * socket is connected, so sending costs no lookup.
 *
 * Sending is fire-and-forget: a log line must never block or fail a request,
 * and a connected UDP socket reports ECONNREFUSED whenever nobody listens.
 */
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { NuwsgiError } from '../util/errors';
import { lineBuffer, type LineEncoding, type LogSink } from './sink';

// Loaded when a UDP log target is used: every master and worker imports this module, few log over UDP.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dgram = (): typeof import('node:dgram') => require('node:dgram') as typeof import('node:dgram');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dns = (): typeof import('node:dns/promises') => require('node:dns/promises') as typeof import('node:dns/promises');

const ignore = (): void => {};

export class UdpLog implements LogSink {
  readonly address: string;
  readonly port: number;
  private readonly socket: Socket;
  private closed = false;

  private constructor(socket: Socket, address: string, port: number) {
    this.socket = socket;
    this.address = address;
    this.port = port;
  }

  /** Resolves `host`, connects a UDP socket to it; throws E_LOG_TARGET when the host does not resolve. */
  static async open(host: string, port: number): Promise<UdpLog> {
    const address = await resolve(host);
    const socket = dgram().createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    socket.on('error', ignore);
    await new Promise<void>((done, fail) => {
      socket.once('connect', done);
      socket.once('error', fail);
      socket.connect(port, address);
    }).catch((err: unknown) => {
      socket.close();
      throw new NuwsgiError('E_LOG_TARGET', `cannot log to udp ${host}:${port}: ${(err as Error).message}`);
    });
    // A log socket must not keep the process alive on its own.
    socket.unref();
    return new UdpLog(socket, address, port);
  }

  write(line: string, encoding: LineEncoding = 'utf8'): void {
    if (this.closed) return;
    this.socket.send(lineBuffer(line, encoding), ignore);
  }

  /** One datagram per line, as uWSGI sends them. */
  writeLines(data: Buffer): void {
    if (this.closed) return;
    let start = 0;
    while (start < data.length) {
      const nl = data.indexOf(0x0a, start);
      const end = nl < 0 ? data.length : nl + 1;
      this.socket.send(data.subarray(start, end), ignore);
      start = end;
    }
  }

  /** One datagram of exactly these bytes (the socket logger: its prefix and the message, no newline added). */
  send(data: Buffer): void {
    if (this.closed) return;
    this.socket.send(data, ignore);
  }

  reopen(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** IPv4 first, as uWSGI (which only does IPv4): "localhost" must not become ::1 when the collector listens on 127.0.0.1. */
async function resolve(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await dns().lookup(host, { family: 4 }).catch(() => dns().lookup(host))).address;
  } catch (err) {
    throw new NuwsgiError('E_LOG_TARGET', `cannot resolve log host '${host}': ${(err as Error).message}`);
  }
}
