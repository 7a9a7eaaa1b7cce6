/**
 * The libc socket calls Node does not expose: UNIX datagrams (syslog,
 * sd_notify), netlink (sock_diag), and options Node cannot set between
 * socket(2) and bind(2). One table, loaded with koffi on first use: the CLI
 * imports some of its users on every start, and most runs never call them.
 */
import { endianness } from 'node:os';

export interface SocketCalls {
  errno(): number;
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  /** `length` is a 4-byte buffer holding the value's size (socklen_t), updated by the call. */
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: Buffer): number;
  bind(fd: number, addr: Buffer, length: number): number;
  getsockname(fd: number, addr: Buffer, length: Buffer): number;
  send(fd: number, data: Buffer, length: number, flags: number): number;
  recv(fd: number, data: Buffer, length: number, flags: number): number;
  sendto(fd: number, data: Buffer, length: number, flags: number, addr: Buffer, addrLength: number): number;
  close(fd: number): number;
}

let calls: SocketCalls | undefined;

export function socketCalls(): SocketCalls {
  if (calls !== undefined) return calls;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { koffi } = require('./libc') as typeof import('./libc');
  const lib = koffi.load('libc.so.6');
  calls = {
    errno: () => koffi.errno(),
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void*, uint32_t)'),
    getsockopt: lib.func('int getsockopt(int, int, int, void*, void*)'),
    bind: lib.func('int bind(int, void*, uint32_t)'),
    getsockname: lib.func('int getsockname(int, void*, void*)'),
    send: lib.func('intptr_t send(int, const void*, size_t, int)'),
    recv: lib.func('intptr_t recv(int, void*, size_t, int)'),
    sendto: lib.func('intptr_t sendto(int, const void*, size_t, int, const void*, uint32_t)'),
    close: lib.func('int close(int)'),
  };
  return calls;
}

export const AF_UNIX = 1;
/** sizeof(sockaddr_un.sun_path) on Linux. */
export const SUN_PATH_BYTES = 108;

/**
 * A sockaddr_un and its exact length: a path with its trailing NUL, or an
 * abstract name after its leading NUL (whose length matters: no trailing NUL).
 * The caller checks that `name` fits (SUN_PATH_BYTES - 1 bytes).
 */
export function sockaddrUn(name: Buffer, abstract: boolean): { addr: Buffer; length: number } {
  const addr = Buffer.alloc(2 + SUN_PATH_BYTES);
  if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  name.copy(addr, abstract ? 3 : 2);
  return { addr, length: 2 + name.length + 1 };
}
