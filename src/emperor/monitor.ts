/**
 * Where vassal files are found (uWSGI's "imperial monitors"): a directory
 * (not recursive) or a glob. A scan lists the vassal files present now; the
 * emperor compares it with what runs.
 */
import { existsSync, lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { globSync } from '../config/glob';
import { NuwsgiError } from '../util/errors';

/** A vassal's config file as seen by one scan. */
export interface VassalFile {
  /** Absolute path: the vassal's identity. */
  key: string;
  /** What uWSGI calls it: the file name for a directory monitor, the match for a glob. */
  name: string;
  /** Passed to the vassal's --ini/--yaml/...; relative to `cwd`. */
  configPath: string;
  /** The vassal's working directory: the vassals directory, or the emperor's for a glob (as uWSGI). */
  cwd: string;
  /** The --emperor value that found it. */
  monitor: string;
  mtimeMs: number;
  ino: number;
  /** Owner, for tyrant mode (lstat's with emperor-tyrant-nofollow). */
  uid: number;
  gid: number;
}

export interface ScanRules {
  nofollow: boolean;
  tyrantNofollow: boolean;
  extraExtensions: readonly string[];
}

export interface Monitor {
  readonly kind: 'dir' | 'glob';
  /** As given to --emperor (shown in stats). */
  readonly arg: string;
  /** A directory whose changes mean "rescan now" (fs.watch), when there is one. */
  readonly watchDir: string | undefined;
  /** The vassal files now; undefined when the monitor cannot tell (its directory is unreadable): keep what runs. */
  scan(): VassalFile[] | undefined;
}

/** uWSGI's vassal extensions (uwsgi_emperor_is_valid). */
export const VASSAL_EXTENSIONS: readonly string[] = ['.xml', '.ini', '.yml', '.yaml', '.js', '.json'];
/** uWSGI keeps vassal names in 255-byte buffers. */
const MAX_NAME_BYTES = 254;

export function isVassalName(name: string, extraExtensions: readonly string[]): boolean {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return false;
  return [...VASSAL_EXTENSIONS, ...extraExtensions].some((ext) => ext !== '' && name.endsWith(ext));
}

/** `dir://`, `glob://`, or (like uWSGI) a directory when the value names exactly one, a glob otherwise. */
export function buildMonitor(value: string, cwd: string, rules: ScanRules): Monitor {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value);
  if (scheme !== null) {
    const rest = value.slice(scheme[0].length);
    if (scheme[1] === 'dir') return new DirMonitor(value, rest, cwd, rules);
    if (scheme[1] === 'glob') return new GlobMonitor(value, rest, cwd, rules);
    throw new NuwsgiError('E_EMPEROR', `emperor = ${value}: unsupported monitor "${scheme[1]}://" (nuwsgi watches directories and globs)`);
  }
  const matches = globSync(value, cwd);
  if (matches.length === 1 && (matches[0] ?? '').endsWith('/')) return new DirMonitor(value, value, cwd, rules);
  if (!/[*?[]/.test(value) && !existsSync(path.resolve(cwd, value))) {
    throw new NuwsgiError('E_EMPEROR', `emperor = ${value}: no such directory`);
  }
  return new GlobMonitor(value, value, cwd, rules);
}

class DirMonitor implements Monitor {
  readonly kind = 'dir';
  readonly watchDir: string;

  constructor(
    readonly arg: string,
    dir: string,
    cwd: string,
    private readonly rules: ScanRules,
  ) {
    const absolute = path.resolve(cwd, dir);
    let real: string;
    try {
      real = realpathSync(absolute);
    } catch (err) {
      throw new NuwsgiError('E_EMPEROR', `emperor = ${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!statSync(real).isDirectory()) throw new NuwsgiError('E_EMPEROR', `emperor = ${arg}: not a directory`);
    this.watchDir = real;
  }

  scan(): VassalFile[] | undefined {
    let names: string[];
    try {
      names = readdirSync(this.watchDir);
    } catch {
      return undefined;
    }
    const found: VassalFile[] = [];
    for (const name of names.sort()) {
      if (!isVassalName(name, this.rules.extraExtensions)) continue;
      const file = statVassal(path.join(this.watchDir, name), this.rules);
      if (file !== undefined) found.push({ ...file, name, configPath: name, cwd: this.watchDir, monitor: this.arg });
    }
    return found;
  }
}

class GlobMonitor implements Monitor {
  readonly kind = 'glob';
  readonly watchDir: string | undefined;

  constructor(
    readonly arg: string,
    private readonly pattern: string,
    private readonly cwd: string,
    private readonly rules: ScanRules,
  ) {
    this.watchDir = staticDirectory(pattern, cwd);
  }

  scan(): VassalFile[] {
    const found: VassalFile[] = [];
    for (const match of globSync(this.pattern, this.cwd)) {
      if (!isVassalName(match, this.rules.extraExtensions)) continue;
      const file = statVassal(path.resolve(this.cwd, match), this.rules);
      if (file !== undefined) found.push({ ...file, name: match, configPath: match, cwd: this.cwd, monitor: this.arg });
    }
    return found;
  }
}

type StatFields = Pick<VassalFile, 'key' | 'mtimeMs' | 'ino' | 'uid' | 'gid'>;

/** A regular file (symlinks followed), or with emperor-nofollow the link itself; undefined otherwise. */
function statVassal(full: string, rules: ScanRules): StatFields | undefined {
  let st: Stats;
  try {
    st = rules.nofollow ? lstatSync(full) : statSync(full);
  } catch {
    return undefined;
  }
  if (!st.isFile() && !(rules.nofollow && st.isSymbolicLink())) return undefined;
  let owner: Stats = st;
  if (rules.tyrantNofollow && !rules.nofollow) {
    try {
      owner = lstatSync(full);
    } catch {
      return undefined;
    }
  }
  return { key: full, mtimeMs: st.mtimeMs, ino: st.ino, uid: owner.uid, gid: owner.gid };
}

/** The directory part of a glob before its first wildcard, if it exists: watching it catches new matches. */
function staticDirectory(pattern: string, cwd: string): string | undefined {
  const segments = pattern.split('/');
  const firstMagic = segments.findIndex((s) => /[*?[]/.test(s));
  const fixed = segments.slice(0, firstMagic === -1 ? segments.length - 1 : firstMagic).join('/');
  const dir = path.resolve(cwd, fixed === '' && pattern.startsWith('/') ? '/' : fixed);
  try {
    return statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}
