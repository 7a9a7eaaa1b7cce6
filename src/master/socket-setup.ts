/**
 * What the master does around bindSocket(): permissions and ownership of UNIX
 * sockets (chmod-socket, chown-socket, umask), refusing to steal a path another
 * instance still accepts on, the listen-backlog sanity check, systemd socket
 * activation (LISTEN_FDS) and --vacuum at exit.
 *
 * Everything here either is pure or touches only the path/fd it is given; the
 * CLI decides when to call what (see the order in each function's comment).
 * Log wording follows uWSGI 2.0.21 where uWSGI logs something, so people who
 * grep their logs for uWSGI's lines keep finding them.
 */
import { chmodSync, chownSync, fstatSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { ConfigError, NuwsgiError } from '../util/errors';
import { socketCalls } from '../util/socket-calls';

/** Where log lines go (the CLI passes writeLog). */
export type LogFn = (line: string) => void;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** '@name' (uWSGI's spelling) or a leading NUL: a Linux abstract socket, which has no file. */
function isAbstract(path: string): boolean {
  return path.startsWith('@') || path.startsWith('\0');
}

// ---------------------------------------------------------------------------
// chmod-socket

/** The mode uWSGI uses for a bare `chmod-socket` ("for lazy and brave users"). */
export const LAZY_SOCKET_MODE = 0o666;

/**
 * uWSGI's `chmod-socket`: undefined = option not set (leave the mode alone);
 * '' (bare flag) or '1' (what uWSGI's own parser also maps to the bare form)
 * = 0666; otherwise exactly three octal digits ("660"), as uWSGI demands: it
 * rejects "0660" and "66" too, and so do we, with its message.
 *
 * Deliberate difference: uWSGI 2.0.21 rejects an empty value coming from a
 * config file (`chmod-socket =`) with "invalid chmod value: "; we treat it as
 * the bare flag, because that is what the person meant and our config layer
 * represents a bare optional-argument flag as ''.
 */
export function parseChmodSocket(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value === '1') return LAZY_SOCKET_MODE;
  if (!/^[0-7]{3}$/.test(value)) throw new ConfigError(`invalid chmod value: ${value}`, undefined, 'chmod-socket');
  return parseInt(value, 8);
}

// ---------------------------------------------------------------------------
// chown-socket: user[:group], names resolved from /etc/passwd and /etc/group

export interface NameTableEntry {
  name: string;
  id: number;
}

/**
 * Parses passwd(5) or group(5) text: `name:password:id:...`. Comments, blank
 * lines and NIS compat lines ("+", "-") are skipped. Only local files are
 * read (no NSS: LDAP/sssd names are not seen; numeric ids always work).
 */
export function parseNameTable(text: string): NameTableEntry[] {
  const out: NameTableEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const [name = '', , id = ''] = line.split(':');
    if (name === '' || !/^\d+$/.test(id)) continue;
    out.push({ name, id: Number(id) });
  }
  return out;
}

export interface OwnerFiles {
  passwd: string;
  group: string;
}

const SYSTEM_OWNER_FILES: OwnerFiles = { passwd: '/etc/passwd', group: '/etc/group' };

function lookupId(what: 'user' | 'group', name: string, file: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* an unreadable table resolves nothing: the error below names the missing entry */
  }
  const entry = parseNameTable(text).find((e) => e.name === name);
  // uWSGI's exact words; it then exits 1, we throw a config error (exit 1 too).
  if (entry === undefined) throw new ConfigError(`unable to find ${what} ${name}`, undefined, 'chown-socket');
  return entry.id;
}

/**
 * `user[:group]` (names or numeric ids) → uid/gid; gid -1 = leave the group
 * unchanged, as chown(2) and uWSGI do for a bare user.
 */
export function resolveOwner(spec: string, files: OwnerFiles = SYSTEM_OWNER_FILES): { uid: number; gid: number } {
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const group = colon < 0 ? undefined : spec.slice(colon + 1);
  const uid = lookupId('user', user, files.passwd);
  const gid = group === undefined ? -1 : lookupId('group', group, files.group);
  return { uid, gid };
}

// ---------------------------------------------------------------------------
// Applying chmod/chown to a bound UNIX socket

export interface UnixSocketOwnership {
  /** From parseChmodSocket; undefined = leave the mode the umask gave. */
  mode?: number | undefined;
  /** True when chmod-socket was given bare: uWSGI then logs its "lazy and brave users" line. */
  lazy?: boolean | undefined;
  /** chown-socket's `user[:group]`. */
  owner?: string | undefined;
}

/**
 * Builds the ownership settings from the raw option values, validating both
 * now (so a typo fails before anything is bound). chmodSocket: undefined =
 * not set, '' = bare flag.
 */
export function unixSocketOwnership(chmodSocket: string | undefined, chownSocket: string | undefined, files: OwnerFiles = SYSTEM_OWNER_FILES): UnixSocketOwnership {
  const mode = parseChmodSocket(chmodSocket);
  if (chownSocket !== undefined) resolveOwner(chownSocket, files);
  return { mode, lazy: mode !== undefined && (chmodSocket === '' || chmodSocket === '1'), owner: chownSocket };
}

/**
 * chmod then chown a freshly bound UNIX socket, in uWSGI's order. Call it
 * right after bindSocket() for every UNIX socket, before logging the
 * "socket N bound" line (uWSGI logs its chmod line first). Abstract sockets
 * have no file and are skipped, as in uWSGI.
 *
 * Deliberate difference: uWSGI only logs a failed chmod() and carries on; we
 * throw, because a socket nginx cannot open only shows up later as 502s.
 */
export function applyUnixSocketOwnership(path: string, opts: UnixSocketOwnership, log: LogFn, files: OwnerFiles = SYSTEM_OWNER_FILES): void {
  if (isAbstract(path)) return;
  if (opts.mode !== undefined) {
    if (opts.lazy === true) log('chmod() socket to 666 for lazy and brave users');
    try {
      chmodSync(path, opts.mode);
    } catch (err) {
      throw new NuwsgiError('E_BIND', `chmod() of ${path} to ${opts.mode.toString(8)} failed: ${(err as Error).message}`);
    }
  }
  if (opts.owner !== undefined) {
    const { uid, gid } = resolveOwner(opts.owner, files);
    try {
      chownSync(path, uid, gid);
    } catch (err) {
      throw new NuwsgiError('E_BIND', `chown() of ${path} to ${opts.owner} failed: ${(err as Error).message}`);
    }
  }
}

/**
 * Gives a bound UNIX socket file to the --uid/--gid identity (gid undefined:
 * leave the group), as if that user had created it, which is what uWSGI's
 * order (drop privileges, then bind) produces. Abstract sockets have no file.
 */
export function chownSocketTo(path: string, uid: number, gid: number | undefined): void {
  if (isAbstract(path)) return;
  try {
    chownSync(path, uid, gid ?? -1);
  } catch (err) {
    throw new NuwsgiError('E_BIND', `chown() of ${path} to ${uid}:${gid ?? -1} (--uid/--gid) failed: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// Stale or live socket files

export type UnixSocketState = 'absent' | 'stale' | 'live';

function tryConnect(path: string, timeoutMs: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const sock = net.connect({ path });
    const done = (outcome: 'connected' | string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome);
    };
    // A listener whose queue is full may leave connect() pending: somebody is there.
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    sock.once('connect', () => done('connected'));
    sock.once('error', (err) => done(errnoCode(err) ?? 'EUNKNOWN'));
  });
}

/**
 * Is somebody accepting on this UNIX socket path? Decided by connecting, the
 * only reliable test: 'absent' (no file), 'stale' (a socket file nobody
 * listens on: ECONNREFUSED; the caller may remove it), 'live' (a connection
 * was accepted, or the queue is full: EAGAIN / timeout).
 *
 * Throws E_BIND when the path exists and is not a socket, or when connect()
 * fails for another reason (EACCES: we cannot tell, so we must not delete).
 * A path no file can be at (missing or unsearchable directory) is 'absent':
 * bind() then fails and reports the real errno.
 * For an abstract socket ('@name') there is no file: 'absent' or 'live'.
 */
const NO_FILE_THERE = new Set(['ENOENT', 'ENOTDIR', 'EACCES']);

export async function checkStaleUnixSocket(path: string, timeoutMs = 2_000): Promise<UnixSocketState> {
  if (!isAbstract(path)) {
    try {
      if (!lstatSync(path).isSocket()) throw new NuwsgiError('E_BIND', `${path} exists and is not a socket: refusing to replace it`);
    } catch (err) {
      // No file can be there (or we may not look): bind() then fails with the real errno.
      if (NO_FILE_THERE.has(errnoCode(err) ?? '')) return 'absent';
      throw err;
    }
  }
  const target = path.startsWith('@') ? '\0' + path.slice(1) : path;
  const outcome = await tryConnect(target, timeoutMs);
  if (outcome === 'connected' || outcome === 'EAGAIN' || outcome === 'ETIMEDOUT') return 'live';
  if (outcome === 'ECONNREFUSED') return isAbstract(path) ? 'absent' : 'stale';
  if (outcome === 'ENOENT') return 'absent'; // removed between lstat and connect
  throw new NuwsgiError('E_BIND', `cannot tell whether ${path} is in use: connect() failed with ${outcome}`);
}

/**
 * Call before bindSocket() for each UNIX socket path. A stale file is
 * removed; a live one stops the start.
 *
 * Deliberate difference: uWSGI unlinks whatever is at the path and binds, so a
 * second instance silently steals the socket from a running one (and a typo
 * can delete a regular file). We refuse both.
 */
export async function prepareUnixSocketPath(path: string, log: LogFn): Promise<void> {
  const state = await checkStaleUnixSocket(path);
  if (state === 'live') throw new NuwsgiError('E_BIND', `another instance is accepting on ${path}: refusing to start (stop it, or use another socket path)`);
  if (state === 'stale') {
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new NuwsgiError('E_BIND', `cannot remove stale socket ${path}: ${(err as Error).message}`);
    }
    log(`removed stale unix socket ${path} (nobody was accepting on it)`);
  }
}

// ---------------------------------------------------------------------------
// listen backlog vs net.core.somaxconn

const SOMAXCONN_PATH = '/proc/sys/net/core/somaxconn';

/** The kernel's cap on listen backlogs, or undefined where it cannot be read. */
export function readSomaxconn(path = SOMAXCONN_PATH): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * uWSGI exits with "Listen queue size is greater than the system max
 * net.core.somaxconn (N)." when --listen is above the cap. We warn instead:
 * listen(2) silently truncates the backlog to somaxconn, so the server works
 * exactly as it would with --listen N; refusing to start over a tuning value
 * (typically in a container whose namespace has a smaller somaxconn than the
 * host the config was written for) takes a site down for nothing.
 */
export function somaxconnWarning(backlog: number, read: () => number | undefined = readSomaxconn): string | undefined {
  const somaxconn = read();
  if (somaxconn === undefined || backlog <= somaxconn) return undefined;
  return (
    `Listen queue size is greater than the system max net.core.somaxconn (${somaxconn}). ` +
    `The kernel caps the queue at ${somaxconn} (uWSGI refuses to start here; nuwsgi carries on): ` +
    `lower --listen or raise net.core.somaxconn.`
  );
}

// ---------------------------------------------------------------------------
// systemd socket activation

export interface InheritedSocket {
  fd: number;
  kind: 'tcp' | 'unix';
  /** "127.0.0.1:8000", "[::1]:8000", "0.0.0.0:8000", "/run/app.sock" or "@abstract". */
  address: string;
  /** TCP port; 0 for UNIX sockets. */
  port: number;
}

/** What a socket descriptor is, as the kernel tells it (describeSocketFd). */
export interface SocketDescription {
  kind: 'tcp' | 'unix';
  address: string;
  port: number;
  listening: boolean;
}

/** Formats 16 bytes as RFC 5952 text (longest zero run compressed, IPv4-mapped kept dotted). */
export function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join('.')}`;
  let best = { start: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

/** LISTEN_FDS for this pid, or 0 (not for us / not set), as sd_listen_fds() decides. */
function systemdFdCount(env: NodeJS.ProcessEnv, pid: number): number {
  const listenPid = env['LISTEN_PID'];
  const listenFds = env['LISTEN_FDS'];
  if (listenPid === undefined || listenFds === undefined || Number(listenPid) !== pid) return 0;
  if (!/^\d+$/.test(listenFds)) throw new NuwsgiError('E_BIND', `invalid LISTEN_FDS "${listenFds}" (systemd socket activation)`);
  return Number(listenFds);
}

/**
 * The sockets systemd passed us (socket activation): when LISTEN_PID is our
 * pid, fds 3 .. 3+LISTEN_FDS-1. Each must be a listening TCP or UNIX stream
 * socket. The address is found without touching the fd's queue (a net.Server
 * on it would start accepting in the master): describeSocketFd asks the
 * socket (getsockname, SO_ACCEPTCONN).
 *
 * uWSGI (observed, 2.0.21) logs "- SystemD socket activation detected -" and
 * serves them as uwsgi-protocol sockets numbered after the configured ones,
 * in addition to them (not only when no socket is configured). It also
 * unsets LISTEN_PID/LISTEN_FDS: see clearSystemdListenEnv.
 */
export function inheritedSystemdSockets(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): InheritedSocket[] {
  const count = systemdFdCount(env, pid);
  if (count === 0) return [];
  const out: InheritedSocket[] = [];
  for (let fd = 3; fd < 3 + count; fd++) out.push(describeFd(fd));
  return out;
}

/**
 * Descriptor 0, when it is a listening socket: what uWSGI serves as one more
 * uwsgi socket ("inherited UNIX address ... fd 0"). The emperor hands an
 * on-demand vassal its socket this way. uWSGI takes any socket there; a
 * socket that is not a listening stream (a connection some supervisor left
 * as stdin) is not served, as it could never accept.
 */
export function inheritedStdinSocket(): InheritedSocket | undefined {
  try {
    if (!fstatSync(0).isSocket()) return undefined;
  } catch {
    return undefined; // closed
  }
  const entry = describeSocketFd(0);
  if (entry === undefined || !entry.listening) return undefined;
  return { fd: 0, kind: entry.kind, address: entry.address, port: entry.port };
}

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SOCK_STREAM = 1;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * A socket descriptor's address and whether it listens, asked of the socket
 * itself (getsockname, SO_ACCEPTCONN) without touching its queue. Not read
 * from /proc/net/{tcp,tcp6,unix}: those list every socket of the host, tens
 * of thousands on a busy one, where reading and parsing them cost an
 * on-demand vassal's master ~1 s of CPU at start (docs/architecture.md,
 * "Worker startup"). Undefined for what nuwsgi cannot serve (a datagram
 * socket, another family).
 */
export function describeSocketFd(fd: number): SocketDescription | undefined {
  const s = socketCalls();
  const int = (name: number): number | undefined => {
    const value = Buffer.alloc(4);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(4);
    return s.getsockopt(fd, SOL_SOCKET, name, value, length) === 0 ? value.readInt32LE(0) : undefined;
  };
  if (int(SO_TYPE) !== SOCK_STREAM) return undefined;
  const addr = Buffer.alloc(128); // sizeof(struct sockaddr_storage)
  const length = Buffer.alloc(4);
  length.writeUInt32LE(addr.length);
  if (s.getsockname(fd, addr, length) !== 0) return undefined;
  const listening = int(SO_ACCEPTCONN) === 1;
  const family = addr.readUInt16LE(0);
  if (family === AF_UNIX) return { kind: 'unix', address: unixName(addr.subarray(2, Math.min(addr.length, length.readUInt32LE(0)))), port: 0, listening };
  const port = addr.readUInt16BE(2);
  if (family === AF_INET) return { kind: 'tcp', address: `${[...addr.subarray(4, 8)].join('.')}:${port}`, port, listening };
  if (family === AF_INET6) return { kind: 'tcp', address: `[${formatIPv6([...addr.subarray(8, 24)])}]:${port}`, port, listening };
  return undefined;
}

/** sun_path as /proc/net/unix shows it: the path, "@name" for an abstract one, "" unnamed. */
function unixName(path: Buffer): string {
  if (path.length === 0) return '';
  if (path[0] === 0) return `@${path.subarray(1).toString('latin1').replace(/\0/g, '@')}`;
  const end = path.indexOf(0);
  return path.subarray(0, end === -1 ? path.length : end).toString('utf8');
}

function describeFd(fd: number): InheritedSocket {
  try {
    if (!fstatSync(fd).isSocket()) throw new NuwsgiError('E_BIND', `LISTEN_FDS: fd ${fd} is not a socket`);
  } catch (err) {
    if (err instanceof NuwsgiError) throw err;
    throw new NuwsgiError('E_BIND', `LISTEN_FDS: fd ${fd} is not open (${errnoCode(err) ?? String(err)})`);
  }
  const entry = describeSocketFd(fd);
  if (entry === undefined) throw new NuwsgiError('E_BIND', `LISTEN_FDS: fd ${fd} is not a TCP or UNIX stream socket (e.g. a datagram socket): nuwsgi cannot serve it`);
  if (!entry.listening) {
    const what = entry.address === '' ? 'an unnamed UNIX socket' : entry.address;
    throw new NuwsgiError('E_BIND', `LISTEN_FDS: fd ${fd} (${what}) is not a listening socket (Accept=yes is not supported)`);
  }
  return { fd, kind: entry.kind, address: entry.address, port: entry.port };
}

/**
 * uWSGI's log line for an inherited socket: "attached to INET/INET6/UNIX
 * address ..."; uWSGI shows 0.0.0.0 as ":port". Log "- SystemD socket
 * activation detected -" once before the first of them.
 */
export function describeInheritedSocket(index: number, s: InheritedSocket): string {
  if (s.kind === 'unix') return `nuwsgi socket ${index} attached to UNIX address ${s.address} fd ${s.fd}`;
  const v6 = s.address.startsWith('[');
  const shown = s.address.startsWith('0.0.0.0:') ? s.address.slice('0.0.0.0'.length) : s.address;
  return `nuwsgi socket ${index} attached to ${v6 ? 'INET6' : 'INET'} address ${shown} fd ${s.fd}`;
}

/** As uWSGI (and sd_listen_fds(1)) do once the fds are taken: the app and its children must not take them again. */
export function clearSystemdListenEnv(env: NodeJS.ProcessEnv = process.env): void {
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
}

// ---------------------------------------------------------------------------
// vacuum

export type VacuumTarget =
  /**
   * identity: recorded right after bind and chmod/chown (socketIdentity); a
   * different one at exit means another instance owns the path now.
   */
  | { kind: 'unix-socket'; path: string; identity?: string | undefined }
  | { kind: 'pidfile'; path: string };

/**
 * Which file a bound UNIX socket is, for vacuum: inode plus birth time.
 * uWSGI compares the inode only, but filesystems hand a freed inode number
 * to the next file at once (observed on ext4 and tmpfs), so a socket that
 * replaced ours often has our old inode; the birth time tells them apart
 * (where the filesystem has none it reads 0 and only the inode counts).
 * Undefined for abstract sockets or a missing file.
 */
export function socketIdentity(path: string): string | undefined {
  if (isAbstract(path)) return undefined;
  try {
    const st = lstatSync(path, { bigint: true });
    return `${st.ino}:${st.birthtimeNs}`;
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): 'removed' | 'absent' | Error {
  try {
    unlinkSync(path);
    return 'removed';
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? 'absent' : (err as Error);
  }
}

function vacuumSocket(path: string, identity: string | undefined, log: LogFn): void {
  if (isAbstract(path)) return;
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // already gone
  }
  // Only ever remove a socket, and only ours: a path taken over by another instance (or replaced by a file) stays.
  if (!isSocket || (identity !== undefined && socketIdentity(path) !== identity)) {
    log(`VACUUM WARNING: unix socket ${path} changed inode. Skip removal`);
    return;
  }
  const r = unlinkQuietly(path);
  if (r === 'removed') log(`VACUUM: unix socket ${path} removed.`);
  else if (r instanceof Error) log(`VACUUM: unlink() of ${path} failed: ${r.message}`);
}

function vacuumFile(target: string, label: string, log: LogFn): void {
  const r = unlinkQuietly(target);
  if (r === 'removed') log(`VACUUM: ${label} removed.`);
  else if (r instanceof Error) log(`VACUUM: unlink() of ${target} failed: ${r.message}`);
}

/**
 * --vacuum, at exit (synchronous: it runs from exit paths): remove our UNIX
 * sockets and pidfiles, ignoring ones already gone, with uWSGI's log lines
 * ("VACUUM: pidfile removed.", "VACUUM: unix socket /x removed."). A bare
 * string is a UNIX socket if it is one now, else a file (pidfile).
 * Call only in the master, and not on a reload (the sockets stay bound).
 */
export function vacuum(targets: ReadonlyArray<string | VacuumTarget>, log: LogFn = () => undefined): void {
  for (const t of targets) {
    if (typeof t !== 'string') {
      if (t.kind === 'unix-socket') vacuumSocket(t.path, t.identity, log);
      else vacuumFile(t.path, 'pidfile', log);
      continue;
    }
    let isSocket = false;
    try {
      isSocket = lstatSync(t).isSocket();
    } catch {
      continue; // already gone
    }
    if (isSocket) vacuumSocket(t, undefined, log);
    else vacuumFile(t, t, log);
  }
}

// ---------------------------------------------------------------------------
// umask

/**
 * uWSGI's `umask`: an octal mask. We accept 1 to 4 octal digits ("22", "022",
 * "0022", "7").
 *
 * Deliberate difference: uWSGI 2.0.21 logs "invalid umask: 22" for values
 * shorter than 3 digits (and for non-octal ones) and then sets umask 0, i.e.
 * world-writable files and sockets. We read "22" as 022 and reject anything
 * that is not octal.
 */
export function parseUmask(value: string): number {
  if (!/^[0-7]{1,4}$/.test(value)) throw new ConfigError(`invalid umask: ${value}`, undefined, 'umask');
  return parseInt(value, 8) & 0o777;
}

/** Sets the process umask (call it before binding, so UNIX sockets are created with it); returns the new mask. */
export function applyUmask(value: string): number {
  const mask = parseUmask(value);
  process.umask(mask);
  return mask;
}
