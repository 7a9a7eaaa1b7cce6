/**
 * The few numbers the stats need from Linux's /proc: a worker's memory, and
 * how many connections wait in a listening socket's accept queue.
 *
 * uWSGI reads the queue with getsockopt(TCP_INFO) (tcpi_unacked on a LISTEN
 * socket), which /proc/net/tcp shows as the rx_queue of the LISTEN row. For
 * UNIX sockets stock Linux has no such counter (uWSGI reports 0); the
 * connections waiting in the queue are listed in /proc/net/unix as unaccepted
 * sockets (state 02, no inode of their own) carrying the listener's path, so
 * we count those.
 *
 * The parsers are pure (text in, rows out) and tested on captured text; the
 * readers around them return undefined when /proc has nothing to say.
 */
import { fstatSync, readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Resident set size, bytes. */
  rss: number;
  /** Virtual memory size, bytes. */
  vsz: number;
}

/** /proc/PID/statm: "size resident shared text lib data dt", in pages. */
export function parseStatm(text: string, pageSize: number): ProcessMemory | undefined {
  const [size, resident] = text.trim().split(/\s+/).map(Number);
  if (size === undefined || resident === undefined || !Number.isFinite(size) || !Number.isFinite(resident)) return undefined;
  return { vsz: size * pageSize, rss: resident * pageSize };
}

export function readProcessMemory(pid: number): ProcessMemory | undefined {
  try {
    return parseStatm(readFileSync(`/proc/${pid}/statm`, 'latin1'), pageSize());
  } catch {
    return undefined; // the process is gone (or this is not Linux)
  }
}

let cachedPageSize: number | undefined;

/**
 * The kernel's page size, from the auxiliary vector (AT_PAGESZ): Node has no
 * sysconf(), and arm64 kernels use 16 or 64 KiB pages, so 4096 is not a given.
 */
export function pageSize(): number {
  if (cachedPageSize !== undefined) return cachedPageSize;
  cachedPageSize = 4096;
  try {
    const auxv = readFileSync('/proc/self/auxv');
    const AT_PAGESZ = 6n;
    for (let off = 0; off + 16 <= auxv.length; off += 16) {
      if (auxv.readBigUInt64LE(off) === AT_PAGESZ) {
        cachedPageSize = Number(auxv.readBigUInt64LE(off + 8));
        break;
      }
    }
  } catch {
    // keep 4096
  }
  return cachedPageSize;
}

export interface TcpRow {
  /** Hex "ADDR:PORT" as /proc shows it. */
  local: string;
  /** Hex state; '0A' is LISTEN. */
  state: string;
  txQueue: number;
  rxQueue: number;
  inode: number;
}

export const TCP_LISTEN = '0A';

/** /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [tx, rx] = (f[4] ?? '').split(':');
    rows.push({ local: f[1] ?? '', state: f[3] ?? '', txQueue: parseInt(tx ?? '', 16), rxQueue: parseInt(rx ?? '', 16), inode: Number(f[9]) });
  }
  return rows;
}

export interface UnixRow {
  flags: number;
  /** Socket state: 01 unconnected (a listener), 02 connecting (queued, not yet accepted), 03 connected. */
  state: number;
  inode: number;
  /** '' for unbound sockets; abstract names start with '@'. */
  path: string;
}

/** /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path". */
export function parseProcNetUnix(text: string): UnixRow[] {
  const rows: UnixRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    rows.push({ flags: parseInt(f[3] ?? '', 16), state: parseInt(f[5] ?? '', 16), inode: Number(f[6]), path: f.slice(7).join(' ') });
  }
  return rows;
}

/** The accept queue of the TCP listener with this socket inode; undefined if not found. */
export function tcpAcceptQueue(rows: readonly TcpRow[], inode: number): number | undefined {
  const row = rows.find((r) => r.inode === inode && r.state === TCP_LISTEN);
  return row?.rxQueue;
}

const SS_CONNECTING = 2;

/** Connections queued on the UNIX listener bound to `path` (abstract: '@name'). */
export function unixAcceptQueue(rows: readonly UnixRow[], path: string): number {
  let n = 0;
  for (const r of rows) if (r.path === path && r.state === SS_CONNECTING && r.inode === 0) n++;
  return n;
}

/** Enough to find one listening socket in /proc. */
export interface ListenerRef {
  kind: 'tcp' | 'unix';
  /** The listening descriptor (its inode identifies TCP rows). */
  fd: number;
  /** UNIX only: the bound path, or '@name' for an abstract socket. */
  path?: string;
}

/** Text source for /proc/net files, replaceable in tests. */
export type ProcReader = (file: 'tcp' | 'tcp6' | 'unix') => string;

export const readProcNet: ProcReader = (file) => {
  try {
    return readFileSync(`/proc/net/${file}`, 'latin1');
  } catch {
    return ''; // no IPv6, or no /proc: no rows
  }
};

/**
 * Current accept queue of each listener, read with one pass over each /proc
 * file that is needed (these files list every socket of the host's network
 * namespace, so they are read once per call, not once per listener).
 */
export function readAcceptQueues(listeners: readonly ListenerRef[], read: ProcReader = readProcNet): Array<number | undefined> {
  let tcp: TcpRow[] | undefined;
  let unix: UnixRow[] | undefined;
  return listeners.map((l) => {
    if (l.kind === 'unix') {
      unix ??= parseProcNetUnix(read('unix'));
      return l.path === undefined ? undefined : unixAcceptQueue(unix, l.path);
    }
    tcp ??= [...parseProcNetTcp(read('tcp')), ...parseProcNetTcp(read('tcp6'))];
    const inode = socketInode(l.fd);
    return inode === undefined ? undefined : tcpAcceptQueue(tcp, inode);
  });
}

export function socketInode(fd: number): number | undefined {
  try {
    return fstatSync(fd).ino;
  } catch {
    return undefined;
  }
}

/** The backlog the kernel really applies: listen(2) silently caps it at net.core.somaxconn. */
export function effectiveBacklog(requested: number, somaxconn: number | undefined = readSomaxconn()): number {
  return somaxconn !== undefined && somaxconn > 0 ? Math.min(requested, somaxconn) : requested;
}

export function readSomaxconn(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/net/core/somaxconn', 'latin1').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
