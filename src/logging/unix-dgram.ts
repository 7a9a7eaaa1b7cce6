/**
 * Datagrams to a UNIX socket path (/dev/log for the syslog logger,
 * "socket:/path" for the socket logger). Node's dgram has no AF_UNIX, so the
 * few libc calls go through koffi, loaded on first use.
 *
 * The socket is non-blocking: when the reader (syslogd, journald) is slow or
 * gone, a line is dropped instead of stalling the master, which also
 * supervises the workers. A path nobody listens on is retried at each line.
 */
import { NuwsgiError } from '../util/errors';
import { AF_UNIX, SUN_PATH_BYTES, socketCalls, sockaddrUn } from '../util/socket-calls';

const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

/** A sockaddr_un for an absolute or relative path, and its length. */
export function unixAddress(socketPath: string): { addr: Buffer; length: number } {
  const name = Buffer.from(socketPath, 'utf8');
  if (name.length === 0 || name.length + 1 > SUN_PATH_BYTES) {
    throw new NuwsgiError('E_LOG_TARGET', `unix socket path '${socketPath}' must be 1-${SUN_PATH_BYTES - 1} bytes`);
  }
  return sockaddrUn(name, false);
}

export class UnixDgramSender {
  readonly path: string;
  private readonly addr: Buffer;
  private readonly addrLength: number;
  private fd = -1;

  constructor(socketPath: string) {
    this.path = socketPath;
    const { addr, length } = unixAddress(socketPath);
    this.addr = addr;
    this.addrLength = length;
  }

  /** One datagram; 0 when sent, else the errno (no listener: ENOENT/ECONNREFUSED; a full queue: EAGAIN): the line is dropped. */
  send(data: Buffer): number {
    const c = socketCalls();
    if (this.fd < 0) this.fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (this.fd < 0) return c.errno();
    return c.sendto(this.fd, data, data.length, MSG_NOSIGNAL, this.addr, this.addrLength) >= 0 ? 0 : c.errno();
  }

  close(): void {
    if (this.fd < 0) return;
    socketCalls().close(this.fd);
    this.fd = -1;
  }
}
