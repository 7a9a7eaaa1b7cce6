import { existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import { dirname, resolve } from 'node:path';
import { NuwsgiError } from '../util/errors';
import { libc } from '../util/libc';

const osErrno = constants.errno;
import type { ListenerSpec } from '../contracts/worker-config';
import { bindReusePort, deferAccept, enableKeepAlive } from './sockopt';
import { ignoreNewConnections } from './syn-filter';

export type SocketProtocol = 'http' | 'https' | 'uwsgi';

/** uWSGI's https value: addr,cert,key[,ciphers,ca]. Paths, read by each worker. */
export interface TlsFiles {
  cert: string;
  key: string;
  ciphers?: string;
  ca?: string;
}

/** A listening socket the master owns and every worker accepts on. */
export interface BoundSocket {
  index: number;
  protocol: SocketProtocol;
  /** The address as configured, e.g. ":8000" or "/run/app/socket". */
  spec: string;
  kind: 'tcp' | 'unix';
  /** The master's descriptor; workers get it as an inherited fd. */
  fd: number;
  /** Resolved address for logs and tests, e.g. "127.0.0.1:43703". */
  address: string;
  port: number;
  /** Keeps the handle (and so the fd) alive in the master. */
  handle: unknown;
  /** https sockets: the certificate and key each worker loads. */
  tls?: TlsFiles;
  /** TCP_DEFER_ACCEPT was asked for and refused (logged once by the caller). */
  deferAcceptFailed?: boolean;
}

interface ServerHandle {
  fd: number;
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}

type CreateServerHandle = (address: string, port: number, addressType: number, fd: undefined, flags: number) => ServerHandle | number;

// Node's own cluster module binds this way: a bound socket that this process
// never accepts on. We then call listen(2) ourselves (so connections queue from
// the first moment, as with uWSGI) and let only the workers accept.
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

export interface ParsedAddress {
  kind: 'tcp' | 'unix';
  host: string;
  port: number;
  path: string;
}

/**
 * uWSGI's address forms: ":port", "host:port", "[v6]:port", "@abstract", and a
 * UNIX socket path: anything else without a ':' (uWSGI's test), or starting
 * with '/' (which uWSGI would misread as host:port when the path has a ':').
 */
export function parseAddress(spec: string): ParsedAddress {
  if (spec.startsWith('/') || spec.startsWith('@') || (!spec.includes(':') && spec !== '')) {
    const path = spec.startsWith('@') ? '\0' + spec.slice(1) : spec;
    return { kind: 'unix', host: '', port: -1, path };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d+)$/.exec(spec);
  if (match === null) throw new NuwsgiError('E_BIND', `invalid socket address "${spec}" (expected host:port, :port or /path)`);
  const port = Number(match[3]);
  if (port > 65535) throw new NuwsgiError('E_BIND', `invalid port in socket address "${spec}"`);
  const host = match[1] ?? (match[2] === '' ? '0.0.0.0' : (match[2] as string));
  return { kind: 'tcp', host, port, path: '' };
}

/** --reuse-port, --so-keepalive, TCP_DEFER_ACCEPT: TCP sockets only, as in uWSGI. */
export interface TcpSocketFlags {
  reusePort?: boolean;
  keepAlive?: boolean;
  /** TCP_DEFER_ACCEPT seconds (uWSGI: --socket-timeout, none with --no-defer-accept); 0 or absent: off. */
  deferAcceptSecs?: number;
}

export async function bindSocket(index: number, protocol: SocketProtocol, spec: string, backlog: number, flags: TcpSocketFlags = {}): Promise<BoundSocket> {
  const addr = parseAddress(spec);
  if (addr.kind === 'unix') return bindUnix(index, protocol, spec, addr.path, backlog);
  const bound = await bindTcp(index, protocol, spec, addr, backlog, flags.reusePort === true);
  if (flags.keepAlive === true) enableKeepAlive(bound.fd, spec);
  if ((flags.deferAcceptSecs ?? 0) > 0 && !deferAccept(bound.fd, flags.deferAcceptSecs as number)) {
    // uWSGI logs the failed setsockopt and goes on; so do we (the caller logs the warning).
    bound.deferAcceptFailed = true;
  }
  return bound;
}

async function bindTcp(index: number, protocol: SocketProtocol, spec: string, addr: ParsedAddress, backlog: number, reusePort: boolean): Promise<BoundSocket> {
  const ip = net.isIP(addr.host) !== 0 ? addr.host : await resolveHost(addr.host, spec);
  if (reusePort) return bindTcpReusePort(index, protocol, spec, ip, addr.port, backlog);
  const handle = createServerHandle(ip, addr.port, net.isIP(ip), undefined, 0);
  if (typeof handle === 'number') throw bindError(spec, handle);
  // libuv defers bind(2) errors such as EADDRINUSE to its own listen, which we
  // do not call: an unbound socket would then listen on a random port. A bound
  // one always reports the port it asked for.
  const name: { address?: string; port?: number } = {};
  handle.getsockname(name);
  if (name.port === undefined || name.port === 0 || (addr.port !== 0 && name.port !== addr.port)) {
    handle.close();
    throw new NuwsgiError('E_BIND', `cannot bind ${spec}: address already in use (or not available)`);
  }
  startListening(handle, spec, backlog);
  const port = name.port;
  const shown = net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
  return { index, protocol, spec, kind: 'tcp', fd: handle.fd, address: shown, port, handle };
}

/** Bound by hand (Node 20 binds before any option can be set): a bare descriptor, kept for the master's life. */
function bindTcpReusePort(index: number, protocol: SocketProtocol, spec: string, ip: string, port: number, backlog: number): BoundSocket {
  const bound = bindReusePort(ip, port, spec);
  if (libc().listen(bound.fd, backlog) !== 0) throw new NuwsgiError('E_BIND', `listen() on ${spec} failed (errno ${libc().errno()})`);
  const shown = net.isIPv6(ip) ? `[${ip}]:${bound.port}` : `${ip}:${bound.port}`;
  return { index, protocol, spec, kind: 'tcp', fd: bound.fd, address: shown, port: bound.port, handle: undefined };
}

function bindUnix(index: number, protocol: SocketProtocol, spec: string, path: string, backlog: number): BoundSocket {
  if (!path.startsWith('\0')) removeStaleSocket(path);
  const handle = createServerHandle(path, -1, -1, undefined, 0);
  if (typeof handle === 'number') throw bindError(spec, unixBindErrno(path, handle));
  startListening(handle, spec, backlog);
  return { index, protocol, spec, kind: 'unix', fd: handle.fd, address: spec, port: 0, handle };
}

function startListening(handle: ServerHandle, spec: string, backlog: number): void {
  if (libc().listen(handle.fd, backlog) !== 0) {
    const errno = libc().errno();
    handle.close();
    throw new NuwsgiError('E_BIND', `listen() on ${spec} failed (errno ${errno})`);
  }
}

/**
 * A unix socket file left by a dead instance would make bind() fail. We remove
 * it only when it is a socket file, so a typo never deletes a regular file.
 * (Whether someone still accepts on it is checked by the caller with a connect.)
 */
function removeStaleSocket(path: string): void {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new NuwsgiError('E_BIND', `${path} exists and is not a socket`);
  unlinkSync(path);
}

async function resolveHost(host: string, spec: string): Promise<string> {
  try {
    // node:dns/promises is loaded by the masters that bind a host name, not by every master's boot.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (await (require('node:dns/promises') as typeof import('node:dns/promises')).lookup(host)).address;
  } catch {
    throw new NuwsgiError('E_BIND', `cannot resolve host "${host}" in socket address "${spec}"`);
  }
}

/** `cannot bind X: <strerror>`: the C library's words for the errno, as uWSGI's `bind(): ...` line. */
function bindError(spec: string, uvErrno: number): NuwsgiError {
  return new NuwsgiError('E_BIND', `cannot bind ${spec}: ${libc().strerror(-uvErrno)}`);
}

/**
 * libuv reports a unix bind() that failed with ENOENT as EACCES (for Windows'
 * sake), so "/nonexistent/dir/x.sock" would read "Permission denied". The
 * directory tells which it was.
 */
function unixBindErrno(path: string, uvErrno: number): number {
  if (uvErrno !== -osErrno.EACCES || path.startsWith('\0')) return uvErrno;
  try {
    if (!statSync(dirname(resolve(path))).isDirectory()) return -osErrno.ENOTDIR;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return -osErrno.ENOENT;
    if (code === 'ENOTDIR') return -osErrno.ENOTDIR;
  }
  return uvErrno;
}

/**
 * At the start of a graceful stop: new connection attempts are ignored (TCP:
 * see syn-filter.ts) and the master's own descriptor is closed, so the socket
 * stops listening as soon as the last worker has closed its copy (each takes
 * what is queued first). Connections then are refused (a load balancer tries
 * the next host, even for a POST) instead of queueing where nobody will
 * accept them and being reset when the master exits. Sockets inherited from
 * systemd have no handle and are left alone: systemd keeps them listening
 * for the next instance.
 */
export function stopListening(s: BoundSocket): void {
  const handle = s.handle as { close?: () => void } | undefined;
  if (typeof handle?.close !== 'function') return;
  if (s.kind === 'tcp') ignoreNewConnections(s.fd);
  handle.close();
}

/** How a worker finds a socket: by the descriptor it holds it at, with its protocol and, for https, its certificate. */
export function listenerFor(s: BoundSocket, fd: number): ListenerSpec {
  return s.tls !== undefined ? { fd, protocol: s.protocol, name: s.spec, tls: s.tls } : { fd, protocol: s.protocol, name: s.spec };
}

/** uWSGI's start-up line for a bound socket. */
export function describeBinding(s: BoundSocket): string {
  if (s.kind === 'unix') return `nuwsgi socket ${s.index} bound to UNIX address ${s.spec} fd ${s.fd}`;
  const auto = /:0$/.test(s.spec) ? ' (port auto-assigned)' : '';
  return `nuwsgi socket ${s.index} bound to TCP address ${s.address}${auto} fd ${s.fd}`;
}
