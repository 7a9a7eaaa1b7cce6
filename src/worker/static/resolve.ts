/**
 * From PATH_INFO to a file on disk, safely. uWSGI's rules (core/protocol.c,
 * core/static.c): check-static, then the maps; the file's realpath must lie
 * under the mapped directory (or a static-safe one); a directory is served
 * through its index files or falls through to the app, never listed.
 *
 * Stricter than uWSGI, on purpose: a mountpoint matches at a path-segment
 * boundary only ("/static" does not catch "/staticfoo"), "inside a
 * directory" is checked at a segment boundary too ("/srv/static2" is not
 * inside "/srv/static"), and a path with a NUL byte, a backslash or a ".."
 * segment (PATH_INFO is already percent-decoded: "%2e%2e" and "%2f" are
 * caught here) is never looked up.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { StaticMount } from './config';

/** What resolving needs from the file system (a test can count calls). */
export interface StaticFs {
  /** The canonical path, or null when it does not exist (or cannot be resolved). */
  realpath(p: string): string | null;
  /** stat(2), following symlinks; null when missing. */
  stat(p: string): Stats | null;
}

export const nodeFs: StaticFs = {
  realpath(p) {
    try {
      return realpathSync.native(p);
    } catch {
      return null;
    }
  },
  stat(p) {
    try {
      return statSync(p);
    } catch {
      return null;
    }
  },
};

export interface ResolvedFile {
  /** The real path of the file to send. */
  file: string;
  /** The name that was resolved (before realpath): what the open-file cache re-stats. */
  requested: string;
  stats: Stats;
  mount: StaticMount;
  /** The directory (real path) it was found under: encoded variants must be inside it too. */
  root: string;
}

/**
 * What a request path means under a mount: the part to append to its root,
 * or null when the mount does not apply. Pure.
 */
export function pathUnderMount(pathInfo: string, m: StaticMount): string | null {
  let rest: string;
  if (m.mount === '') rest = pathInfo;
  else if (pathInfo === m.mount) rest = '';
  else if (m.mount.endsWith('/') && pathInfo.startsWith(m.mount)) rest = pathInfo.slice(m.mount.length - 1);
  else if (pathInfo.startsWith(m.mount + '/')) rest = pathInfo.slice(m.mount.length);
  else return null;
  if (m.mode === 'append') rest = pathInfo;
  return rest;
}

/** A request path we never look up: NUL, backslash, or any "." / ".." segment. Pure. */
export function hostilePath(rest: string): boolean {
  if (rest.includes('\0') || rest.includes('\\')) return true;
  for (const segment of rest.split('/')) if (segment === '..' || segment === '.') return true;
  return false;
}

/** `p` is `dir` or below it (at a segment boundary). Pure. */
export function isInside(p: string, dir: string): boolean {
  if (dir === '/') return p.startsWith('/');
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

export interface ResolverOptions {
  mounts: readonly StaticMount[];
  index: readonly string[];
  safe: readonly string[];
  /** static-cache-paths, seconds (0 = off). */
  cacheSeconds: number;
  log: (line: string) => void;
  fs?: StaticFs;
  now?: () => number;
}

/** Most DOCUMENT_ROOTs remembered (they come from the front end; a client cannot vary them through nginx). */
const DOCROOT_LIMIT = 64;

/** Most remembered lookups before the cache starts over (bounds memory against path scans). */
const CACHE_LIMIT = 10_000;

export class StaticResolver {
  private readonly opts: ResolverOptions;
  private readonly fs: StaticFs;
  private readonly now: () => number;
  /** Each mount's root, resolved once it exists (uWSGI resolves it on first use too). */
  private readonly roots = new WeakMap<StaticMount, { real: string; isFile: boolean }>();
  private readonly cache = new Map<string, { real: string | null; until: number }>();
  private safeReal: string[] | undefined;
  /** check-static-docroot's mounts, one per DOCUMENT_ROOT seen (few: one per nginx server block). */
  private readonly docroots = new Map<string, StaticMount>();

  constructor(opts: ResolverOptions) {
    this.opts = opts;
    this.fs = opts.fs ?? nodeFs;
    this.now = opts.now ?? Date.now;
  }

  /** The file for this PATH_INFO, or null (the app gets the request). */
  resolve(pathInfo: string): ResolvedFile | null {
    for (const m of this.opts.mounts) {
      const rest = pathUnderMount(pathInfo, m);
      if (rest === null || hostilePath(rest)) continue;
      const found = this.lookIn(m, rest);
      if (found !== null) return found;
    }
    return null;
  }

  /**
   * check-static-docroot: the file for PATH_INFO under the request's
   * DOCUMENT_ROOT (relative: from the worker's directory, as uWSGI's
   * realpath), with the same checks as check-static; null when there is none.
   */
  resolveDocroot(documentRoot: string, pathInfo: string): ResolvedFile | null {
    if (documentRoot.includes('\0') || hostilePath(pathInfo)) return null;
    let m = this.docroots.get(documentRoot);
    if (m === undefined) {
      if (this.docroots.size >= DOCROOT_LIMIT) this.docroots.clear();
      m = { mount: '', root: resolvePath(documentRoot), mode: 'append', option: 'check-static-docroot' };
      this.docroots.set(documentRoot, m);
    }
    return this.lookIn(m, pathInfo);
  }

  /** Allowed: under `root` or under a static-safe directory. */
  allowed(real: string, root: string): boolean {
    if (isInside(real, root)) return true;
    this.safeReal ??= this.opts.safe.map((s) => this.fs.realpath(s) ?? s);
    return this.safeReal.some((s) => isInside(real, s)) || this.opts.safe.some((s) => isInside(real, s));
  }

  /** An absolute path named by the app (X-Sendfile): its real path must be a regular file inside one of `dirs`. */
  allowedFile(file: string, dirs: readonly string[]): ResolvedFile | null {
    if (!file.startsWith('/') || hostilePath(file)) return null;
    const real = this.fs.realpath(file);
    if (real === null) return null;
    const root = dirs.map((d) => this.fs.realpath(d) ?? d).find((d) => isInside(real, d));
    if (root === undefined) return null;
    const stats = this.fs.stat(real);
    if (stats?.isFile() !== true) return null;
    return { file: real, requested: file, stats, root, mount: { mount: '', root, mode: 'append', option: 'check-static' } };
  }

  /** FILE + suffix (".gz", ".br") as a regular file allowed where FILE was found, or null. */
  variant(found: ResolvedFile, suffix: string): { file: string; stats: Stats } | null {
    const real = this.realpath(found.file + suffix);
    if (real === null || !this.allowed(real, found.root)) return null;
    const stats = this.fs.stat(real);
    return stats?.isFile() === true ? { file: real, stats } : null;
  }

  private lookIn(m: StaticMount, rest: string): ResolvedFile | null {
    const root = this.root(m);
    if (root === null) return null;
    if (root.isFile) {
      if (m.option === 'check-static-docroot') return null; // a DOCUMENT_ROOT is a directory (uWSGI appends "/" + PATH_INFO)
      // A map to one file (/favicon.ico=/srv/favicon.ico) serves exactly its mountpoint.
      if (rest !== '' && m.mode === 'strip') return null;
      const stats = this.fs.stat(root.real);
      return stats?.isFile() === true ? { file: root.real, requested: root.real, stats, mount: m, root: root.real } : null;
    }
    const requested = root.real + rest;
    const real = this.realpath(requested);
    if (real === null) return null;
    if (!this.allowed(real, root.real)) {
      this.opts.log(`[uwsgi-fileserve] security error: ${real} is not under ${root.real} or a safe path\n`);
      return null;
    }
    const stats = this.fs.stat(real);
    if (stats === null) return null;
    if (stats.isFile()) return { file: real, requested, stats, mount: m, root: root.real };
    if (stats.isDirectory()) return this.index(m, real, root.real);
    return null; // sockets, fifos, devices: never
  }

  /** static-index: the first index file of a directory (checked like any file: no escape through it). */
  private index(m: StaticMount, dir: string, root: string): ResolvedFile | null {
    for (const name of this.opts.index) {
      if (hostilePath(name)) continue;
      const requested = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const real = this.realpath(requested);
      if (real === null || !this.allowed(real, root)) continue;
      const stats = this.fs.stat(real);
      if (stats?.isFile() === true) return { file: real, requested, stats, mount: m, root };
    }
    return null;
  }

  private root(m: StaticMount): { real: string; isFile: boolean } | null {
    const known = this.roots.get(m);
    if (known !== undefined) return known;
    const real = this.fs.realpath(m.root);
    if (real === null) return null; // not there (yet): asked again next time
    const entry = { real, isFile: this.fs.stat(real)?.isFile() === true };
    this.roots.set(m, entry);
    return entry;
  }

  /** realpath(3), remembered for static-cache-paths seconds when set. */
  private realpath(p: string): string | null {
    const seconds = this.opts.cacheSeconds;
    if (seconds <= 0) return this.fs.realpath(p);
    const now = this.now();
    const hit = this.cache.get(p);
    if (hit !== undefined && hit.until > now) return hit.real;
    const real = this.fs.realpath(p);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(p, { real, until: now + seconds * 1000 });
    return real;
  }
}
