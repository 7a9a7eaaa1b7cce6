/**
 * What a request path resolved to, remembered for a short while, with the
 * file's descriptor kept open for small files (nginx's open_file_cache, on
 * by default here and short-lived).
 *
 * A full lookup costs realpath(3) (an lstat per path component), a stat, an
 * open, an fstat and a close: measured at about a tenth of a small file's
 * cost in Connection: close mode (docs/static.md, "Speed"). A hit costs one
 * stat(2) of the name that was resolved: when it still names the same inode
 * with the same size, mtime and ctime, the path still leads to the file that
 * passed the checks, so it is served again (from the kept descriptor). Any
 * difference, a missing file, or an entry older than `ttlMs` (1 s, or
 * static-cache-paths) means a full lookup. So a replaced file, a moved
 * symlink (a deploy's `current -> v2`) or a deleted file is seen at once;
 * only a file newly created in an earlier mount or check-static directory,
 * shadowing this one, can go unseen for up to `ttlMs`.
 */
import { closeSync, openSync, statSync, type Stats } from 'node:fs';
import type { ResolvedFile } from './resolve';

interface Entry {
  found: ResolvedFile;
  /** Open read-only on `found.file` (small files only), or -1. */
  fd: number;
  until: number;
}

/** Most remembered paths; more, and the cache starts over (bounds descriptors against path scans, well under a 1024-descriptor ulimit). */
const LIMIT = 256;

export class OpenFileCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
    // Expired entries go, and their descriptors with them (a deleted file's space is freed within seconds).
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.min(Math.max(1000, ttlMs), 10_000)).unref();
  }

  /** The cached file for `key` when it is still the same file, with fresh stats; null otherwise. */
  lookup(key: string, nowMs: number): { readonly found: ResolvedFile; readonly fd: number } | null {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    let now: Stats | undefined;
    if (e.until > nowMs) {
      try {
        now = statSync(e.found.requested, { throwIfNoEntry: false });
      } catch {
        now = undefined;
      }
    }
    if (now === undefined || !sameFile(now, e.found.stats)) {
      this.drop(key, e);
      return null;
    }
    return e; // its found and fd: no copy per hit
  }

  /** Remember a fresh lookup; `small` files get a descriptor kept open. Returns that descriptor, or -1. */
  remember(key: string, found: ResolvedFile, small: boolean, nowMs: number): number {
    const old = this.entries.get(key);
    if (old !== undefined) this.drop(key, old);
    if (this.entries.size >= LIMIT) this.clear();
    let fd = -1;
    if (small) {
      try {
        fd = openSync(found.file, 'r');
      } catch {
        fd = -1;
      }
    }
    this.entries.set(key, { found, fd, until: nowMs + this.ttlMs });
    return fd;
  }

  /** A read through the kept descriptor failed: forget it. */
  forget(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) this.drop(key, e);
  }

  clear(): void {
    for (const e of this.entries.values()) closeQuietly(e.fd);
    this.entries.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(nowMs: number): void {
    for (const [key, e] of this.entries) if (e.until <= nowMs) this.drop(key, e);
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    closeQuietly(e.fd);
  }
}

/** Same inode, same content as far as stat can tell (ctime also moves on rename and chmod). */
export function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.isFile();
}

function closeQuietly(fd: number): void {
  if (fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
}
