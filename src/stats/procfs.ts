/**
 * The few numbers the stats need from Linux's /proc: a worker's memory and
 * the listen backlog the kernel allows. (Accept queues are asked of the
 * sockets themselves: socket-queue.ts.)
 *
 * The parsers are pure (text in, values out) and tested on captured text; the
 * readers around them return undefined when /proc has nothing to say.
 */
import { readFileSync } from 'node:fs';

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
