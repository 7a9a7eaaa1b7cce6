/**
 * Datagrams to a UNIX socket path (/dev/log for the syslog logger,
 * "socket:/path" for the socket logger). Node's dgram has no AF_UNIX, so the
 * few libc calls go through koffi, loaded on first use.
 *
 * The socket is non-blocking: when the reader (syslogd, journald) is slow or
 * gone, a line is dropped instead of stalling the master, which also
 * supervises the workers. A path nobody listens on is retried at each line.
 */
import { endianness } from 'node:os';
import { NuwsgiError } from '../util/errors';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_BYTES = 108;

interface Calls {
  errno(): number;
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  close(fd: number): number;
}

let calls: Calls | undefined;

function libcCalls(): Calls {
  if (calls !== undefined) return calls;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { koffi } = require('../util/libc') as typeof import('../util/libc');
  const lib = koffi.load('libc.so.6');
  calls = {
    errno: () => koffi.errno(),
    socket: lib.func('int socket(int, int, int)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    close: lib.func('int close(int)'),
  };
  return calls;
}

/** A sockaddr_un for an absolute or relative path, and its length. */
export function unixAddress(socketPath: string): { addr: Buffer; length: number } {
  const name = Buffer.from(socketPath, 'utf8');
  if (name.length === 0 || name.length + 1 > SUN_PATH_BYTES) {
    throw new NuwsgiError('E_LOG_TARGET', `unix socket path '${socketPath}' must be 1-${SUN_PATH_BYTES - 1} bytes`);
  }
  const addr = Buffer.alloc(2 + SUN_PATH_BYTES);
  if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  name.copy(addr, 2);
  return { addr, length: 2 + name.length + 1 };
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
    const c = libcCalls();
    if (this.fd < 0) this.fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (this.fd < 0) return c.errno();
    return c.sendto(this.fd, data, data.length, MSG_NOSIGNAL, this.addr, this.addrLength) >= 0 ? 0 : c.errno();
  }

  close(): void {
    if (this.fd < 0) return;
    libcCalls().close(this.fd);
    this.fd = -1;
  }
}
