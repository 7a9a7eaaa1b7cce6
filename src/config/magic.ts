/**
 * uWSGI's "magic variables" (%n, %d, %p...): substituted in a config file's
 * raw text when it is read, per file, before any line is parsed. Every
 * `%<char>` is replaced: known letters by their value, `%%` by `%`, `%(` is
 * kept for the later placeholder pass, and any other letter by nothing.
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { isSchemeSource } from './sources';
import { cpus, hostname, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { VERSION } from '../version';

/** The version string %V expands to (uWSGI prints its own, e.g. 2.0.21-debian). */
export const NUWSGI_VERSION = `${VERSION}-nuwsgi`;

export type MagicTable = Readonly<Record<string, string>>;

/**
 * Per-file variables. `given` is the path as written (%o), `section` the
 * `:section` part (%x). A config that is not a file (`-`, `fd://`, `exec://`...)
 * has only %o: uWSGI's config_magic_table_fill stops there, so %d %p %n...
 * expand to nothing rather than to a path made of the scheme's text.
 */
export function fileMagic(given: string, section: string, cwd: string): Record<string, string> {
  if (isSchemeSource(given)) return { o: given };
  const full = resolvedPath(given, cwd);
  const dir = `${dirname(full)}/`.replace(/\/+$/, '/');
  const name = basename(full);
  const dot = name.lastIndexOf('.');
  const table: Record<string, string> = {
    o: given,
    p: full,
    s: name,
    d: dir,
    c: basename(dirname(full)),
    // Of the file's name, not of the path as given (`conf.d/app` has no extension); no dot: %n is the whole name.
    e: dot === -1 ? '' : name.slice(dot + 1),
    n: dot === -1 ? name : name.slice(0, dot),
    x: section,
    j: djb33x(full),
    i: inodeOf(full),
  };
  dir.split('/').filter((part) => part !== '').slice(0, 10).forEach((part, index) => {
    table[String(index)] = part;
  });
  return table;
}

/** Variables that do not depend on the file. */
export function staticMagic(cwd: string): Record<string, string> {
  const user = safeUserInfo();
  const now = Date.now();
  return {
    h: hostname(),
    k: String(cpus().length),
    t: String(Math.floor(now / 1000)),
    T: String(now * 1000),
    V: NUWSGI_VERSION,
    u: String(user.uid),
    U: user.username,
    g: String(user.gid),
    G: user.group,
    v: cwd,
    '[': '\u001b',
  };
}

/** Uppercase forms (%N %P ...) name the first non-template config file. */
export function upperMagic(first: Record<string, string>): Record<string, string> {
  const upper: Record<string, string> = {};
  for (const letter of ['n', 'p', 's', 'd', 'e', 'c', 'x', 'o', 'i', 'j']) {
    upper[letter.toUpperCase()] = first[letter] ?? '';
  }
  return upper;
}

/** Replaces every `%<char>` in `text` in one left-to-right scan (no rescanning of substitutions). */
export function substituteMagic(text: string, table: MagicTable): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char !== '%' || i + 1 >= text.length) {
      out += char;
      continue;
    }
    const next = text.charAt(i + 1);
    out += next === '%' ? '%' : next === '(' ? '%(' : (table[next] ?? '');
    i++;
  }
  return out;
}

/**
 * uWSGI's djb33x hash (xor variant) of the full path. uWSGI hex-dumps the
 * 32-bit value's bytes in memory order, i.e. little-endian on x86.
 */
export function djb33x(text: string): string {
  let hash = 5381;
  for (const byte of Buffer.from(text)) {
    hash = (((hash << 5) + hash) ^ byte) >>> 0;
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(hash);
  return bytes.toString('hex').toUpperCase();
}

/** uWSGI resolves the path with realpath(), except for symlinks, which keep their own name. */
function resolvedPath(given: string, cwd: string): string {
  const joined = isAbsolute(given) ? given : join(cwd, given);
  try {
    return lstatSync(joined).isSymbolicLink() ? joined : realpathSync(joined);
  } catch {
    return joined;
  }
}

/** lstat(2), as uWSGI: a symlinked config (apps-enabled/x.ini -> ../apps-available/x.ini) has the link's own inode. */
function inodeOf(path: string): string {
  try {
    return String(lstatSync(path).ino);
  } catch {
    return '';
  }
}

function safeUserInfo(): { uid: number; gid: number; username: string; group: string } {
  const info = userInfo();
  return { uid: info.uid, gid: info.gid, username: info.username, group: groupName(info.gid) ?? String(info.gid) };
}

/** /etc/group lookup: Node has no getgrgid. */
function groupName(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[2] === String(gid)) return fields[0];
    }
  } catch {
    return undefined;
  }
  return undefined;
}
