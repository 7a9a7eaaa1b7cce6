/**
 * Finding app configuration files the way /usr/share/uwsgi/init/snippets and
 * do_command do:
 *
 * - an app is named by a "relative confpath": its apps directory and its file
 *   name without extension, e.g. "apps-enabled/site" for
 *   /etc/nuwsgi/apps-enabled/site.ini or .../apps-enabled/sub/site.ini;
 * - its namespace is the directory name minus "s-enabled" ("app"), which names
 *   its run and log subdirectories;
 * - files are searched in sub-directories too, symlinks followed, and of
 *   several files with the same name the first extension in alphabetical
 *   order wins.
 *
 * Differences (docs/debian.md): extensions match case-insensitively both when
 * listing and when resolving (Debian lists site.INI, then cannot resolve it),
 * and files in a directory come before those of its sub-directories, in
 * sorted order (Debian: whatever order find(1) returns).
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { APPS_CONFDIR_SUFFIX, DEFAULT_CONFNAMESPACE, appsConfDir, type ServiceLayout } from './layout';

/** Extensions of configuration files, alphabetically (UWSGI_CONFFILE_TYPES). */
export const CONFFILE_TYPES = ['db', 'ini', 'js', 'json', 'sqlite', 'sqlite3', 'xml', 'yaml', 'yml'] as const;
export type ConffileType = (typeof CONFFILE_TYPES)[number];

/** The option that loads a file of this type (conffile_option_name). */
export function conffileOptionName(type: ConffileType): string {
  switch (type) {
    case 'ini':
      return 'ini';
    case 'json':
    case 'js':
      return 'json';
    case 'sqlite':
    case 'sqlite3':
    case 'db':
      return 'sqlite';
    case 'xml':
      return 'xmlconfig';
    case 'yaml':
    case 'yml':
      return 'yaml';
  }
}

/** The type of a file from its extension (any case), or undefined. */
export function typeOfConffile(file: string): ConffileType | undefined {
  const ext = path.extname(file).slice(1).toLowerCase();
  return (CONFFILE_TYPES as readonly string[]).includes(ext) ? (ext as ConffileType) : undefined;
}

/** "apps-enabled/site" -> "app"; anything without the suffix -> the default namespace (extract_confnamespace). */
export function confNamespace(relative: string): string {
  const m = /^([^/]+)s-enabled\/./.exec(relative);
  return m === null ? DEFAULT_CONFNAMESPACE : (m[1] as string);
}

/** "apps-enabled/site" -> "site" (extract_confname). */
export function confName(relative: string): string {
  return path.basename(relative);
}

/**
 * Every app in apps-enabled (sub-directories included), as sorted unique
 * relative confpaths: what `start` with no names acts on.
 */
export function enabledConfs(layout: ServiceLayout): string[] {
  const dir = appsConfDir(layout, DEFAULT_CONFNAMESPACE);
  const top = path.basename(dir);
  const names = conffilesUnder(dir).map((file) => `${top}/${stripExtension(path.basename(file))}`);
  return [...new Set(names)].sort(byteOrder);
}

/**
 * The relative confpath for a name given on the command line ("site" or
 * "app/site"), or undefined when no such file exists
 * (relative_path_to_conffile_with_spec).
 */
export function relativeConfForSpec(layout: ServiceLayout, spec: string): string | undefined {
  const slash = spec.lastIndexOf('/');
  const namespace = slash < 0 ? DEFAULT_CONFNAMESPACE : spec.slice(0, slash);
  const name = spec.slice(slash + 1);
  // A namespace is one directory name: "a/b" or ".." must not walk out of the config directory.
  if (name === '' || namespace === '' || namespace.includes('/') || namespace === '.' || namespace === '..') return undefined;
  const relative = `${namespace}${APPS_CONFDIR_SUFFIX}/${name}`;
  return absoluteConffile(layout, relative) === undefined ? undefined : relative;
}

/** The file behind a relative confpath: the first extension (alphabetically) found (absolute_path_to_conffile). */
export function absoluteConffile(layout: ServiceLayout, relative: string): string | undefined {
  const dir = path.join(layout.confDir, path.dirname(relative));
  const name = confName(relative);
  const files = conffilesUnder(dir).filter((f) => stripExtension(path.basename(f)) === name);
  for (const type of CONFFILE_TYPES) {
    const hit = files.find((f) => typeOfConffile(f) === type);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function stripExtension(file: string): string {
  return file.slice(0, file.length - path.extname(file).length);
}

/** Regular files (symlinks followed) with a config extension: a directory's own files first, then its sub-directories'. */
function conffilesUnder(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  entries.sort((a, b) => byteOrder(a.name, b.name));
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    // find(1) without -L descends into real directories only; -xtype f follows a symlink to its target.
    if (entry.isDirectory()) subdirs.push(full);
    else if (typeOfConffile(entry.name) !== undefined && isRegularFile(full)) files.push(full);
  }
  return [...files, ...subdirs.flatMap(conffilesUnder)];
}

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false; // a dangling symlink
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
