/**
 * Socket options Node 20 cannot set on a listening socket: SO_REUSEPORT
 * (must be set between socket(2) and bind(2), which Node does in one call),
 * SO_KEEPALIVE on the listening socket, which Linux copies to every
 * accepted connection, and TCP_DEFER_ACCEPT (uWSGI sets all three on its
 * server sockets, core/socket.c).
 */
import net from 'node:net';
import { socketCalls as sock } from '../util/socket-calls';
import { NuwsgiError } from '../util/errors';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_KEEPALIVE = 9;
const SO_REUSEPORT = 15;
const IPPROTO_TCP = 6;
const TCP_DEFER_ACCEPT = 9;

/** setsockopt(2) of an int option. */
function setInt(fd: number, level: number, name: number, value: number): boolean {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  return sock().setsockopt(fd, level, name, buf, 4) === 0;
}

function setFlag(fd: number, name: number): boolean {
  return setInt(fd, SOL_SOCKET, name, 1);
}

/** A SOL_SOCKET boolean option's value (tests, and the start-up check). */
export function socketFlag(fd: number, name: 'SO_REUSEPORT' | 'SO_KEEPALIVE'): boolean {
  const value = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  if (sock().getsockopt(fd, SOL_SOCKET, name === 'SO_REUSEPORT' ? SO_REUSEPORT : SO_KEEPALIVE, value, len) !== 0) return false;
  return value.readInt32LE() !== 0;
}

/** --so-keepalive: on the listening socket; accepted connections inherit it. */
export function enableKeepAlive(fd: number, spec: string): void {
  if (!setFlag(fd, SO_KEEPALIVE)) throw new NuwsgiError('E_BIND', `setsockopt(SO_KEEPALIVE) on ${spec} failed (errno ${sock().errno()})`);
}

/**
 * TCP_DEFER_ACCEPT, as uWSGI sets it on every TCP socket it binds (unless
 * --no-defer-accept), for --socket-timeout seconds: the kernel completes the
 * handshake but queues the connection for accept(2) only once its first bytes
 * have arrived (or after about that long). A worker is then never woken for a
 * connection it cannot serve yet: its first read(2) finds the request, and the
 * connection is answered and closed without ever being registered with the
 * event loop (src/worker/transport.ts). Clients that connect before they
 * write (wrk, browsers, most HTTP libraries) made ~5 % of `Connection: close`
 * connections take that slower path. Not fatal when refused, as in uWSGI.
 */
export function deferAccept(fd: number, seconds: number): boolean {
  return setInt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, seconds);
}

function sockaddr(ip: string, port: number): Buffer {
  if (net.isIPv6(ip)) {
    const addr = Buffer.alloc(28);
    addr.writeUInt16LE(AF_INET6, 0);
    addr.writeUInt16BE(port, 2);
    ipv6Bytes(ip).copy(addr, 8);
    return addr;
  }
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  ip.split('.').forEach((part, i) => addr.writeUInt8(Number(part), 4 + i));
  return addr;
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const left = parse(head);
  const right = parse(tail);
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * --reuse-port: socket(2), SO_REUSEADDR and SO_REUSEPORT, bind(2). Returns
 * the descriptor (close-on-exec: workers get it through their stdio list)
 * and the port bound.
 */
export function bindReusePort(ip: string, port: number, spec: string): { fd: number; port: number } {
  const s = sock();
  const v6 = net.isIPv6(ip);
  const fd = s.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new NuwsgiError('E_BIND', `socket() for ${spec} failed (errno ${sock().errno()})`);
  const addr = sockaddr(ip, port);
  if (!setFlag(fd, SO_REUSEADDR) || !setFlag(fd, SO_REUSEPORT) || s.bind(fd, addr, addr.length) !== 0) {
    const errno = sock().errno();
    s.close(fd);
    throw new NuwsgiError('E_BIND', `cannot bind ${spec} with SO_REUSEPORT (errno ${errno}${errno === 98 ? ': address already in use' : ''})`);
  }
  const out = Buffer.alloc(28);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(out.length);
  s.getsockname(fd, out, len);
  return { fd, port: out.readUInt16BE(2) };
}
