/**
 * The static file server's settings, from uWSGI's `static-*` options. Built
 * once in the master (bad values fail at startup, naming the option) and
 * passed to every worker as JSON, so everything here is plain data.
 */
import path from 'node:path';
import type { Options } from '../../config/options';
import { NuwsgiError } from '../../util/errors';

/** One directory (or file) the server looks in. */
export interface StaticMount {
  /** URL prefix ('' for check-static: every request). */
  mount: string;
  /** Directory or file, absolute (relative values are taken from --chdir, else the cwd). */
  root: string;
  /**
   * 'strip': static-map (the mountpoint is removed from PATH_INFO);
   * 'append': static-map2 and check-static (the whole PATH_INFO is appended).
   */
  mode: 'strip' | 'append';
  /** Which option made it, for messages. */
  option: 'static-map' | 'static-map2' | 'check-static' | 'check-static-docroot';
}

export type ExpiresSubject = 'file' | 'path-info' | 'uri' | 'type';

/** static-expires*: the first rule that matches sets Expires and Cache-Control. */
export interface ExpiresRule {
  subject: ExpiresSubject;
  /** A regular expression (for 'type': the exact content type). */
  pattern: string;
  seconds: number;
  /** -mtime variants: from the file's modification time instead of now. */
  fromMtime: boolean;
}

export interface StaticConfig {
  mounts: StaticMount[];
  index: string[];
  skipExt: string[];
  /** static-safe: symlink targets allowed outside the mapped directories. */
  safe: string[];
  expires: ExpiresRule[];
  gzip: { all: boolean; dirs: string[]; exts: string[]; regexps: string[] };
  /** mimefile: read in order; the first file naming an extension wins. */
  mimeFiles: string[];
  /** static-cache-paths: seconds a resolved path is remembered (0 = off). */
  cachePathsSeconds: number;
  /** add-header: lines added to every static response (uWSGI adds them there too). */
  addHeaders: string[];
  /** --x-sendfile DIR (ours): where files named by an app's X-Sendfile may be. */
  xSendfileDirs: string[];
  /** check-static-docroot: look under the request's DOCUMENT_ROOT too, after the mounts. */
  checkDocroot: boolean;
  /** file-serve-mode: send the bytes ('raw'), or name the file for the front end in this header. */
  fileServeMode: FileServeMode;
}

export type FileServeMode = 'raw' | 'X-Accel-Redirect' | 'X-Sendfile';

/** uWSGI's names for file-serve-mode (compared without case, as uwsgi_opt_fileserve_mode). */
const FILE_SERVE_MODES: Record<string, FileServeMode> = {
  'x-sendfile': 'X-Sendfile',
  xsendfile: 'X-Sendfile',
  'x-accel-redirect': 'X-Accel-Redirect',
  xaccelredirect: 'X-Accel-Redirect',
  nginx: 'X-Accel-Redirect',
};

/** uWSGI ignores an unknown mode and sends the bytes; a typo here would silently change who serves the files, so it is an error. */
export function fileServeMode(value: string | undefined): FileServeMode {
  if (value === undefined) return 'raw';
  const mode = FILE_SERVE_MODES[value.toLowerCase()];
  if (mode === undefined) {
    throw new NuwsgiError('E_CONFIG', `file-serve-mode "${value}": unknown mode (use x-accel-redirect, nginx, or x-sendfile)`);
  }
  return mode;
}

export const DEFAULT_MIME_FILE = '/etc/mime.types';

/**
 * The static settings, or undefined when no option asks for static files (the
 * common case costs nothing). `warn` gets what is worth a startup line.
 */
export function staticConfigFromOptions(o: Options, base: string, warn: (line: string) => void = () => undefined): StaticConfig | undefined {
  const cacheName = cachePathsNameNote(o);
  if (cacheName !== undefined) warn(cacheName);
  const abs = (p: string): string => path.resolve(base, p);
  const mounts: StaticMount[] = [
    ...o.list('check-static').map((dir) => ({ mount: '', root: abs(dir), mode: 'append' as const, option: 'check-static' as const })),
    ...sortLongestFirst([
      ...o.list('static-map').map((v) => mapping(v, 'static-map', abs)),
      ...o.list('static-map2').map((v) => mapping(v, 'static-map2', abs)),
    ]),
  ];
  const xSendfileDirs = o.list('x-sendfile').map(abs);
  // Checked even when nothing is mapped: uWSGI refuses a malformed rule at startup too.
  const expires = expiresRules(o);
  const gzipRegexps = o.list('static-gzip').map((r) => checkRegexp('static-gzip', r));
  const mode = fileServeMode(o.str('file-serve-mode'));
  const checkDocroot = o.bool('check-static-docroot');
  if (mounts.length === 0 && xSendfileDirs.length === 0 && !checkDocroot) return undefined;
  return {
    mounts,
    index: o.list('static-index'),
    skipExt: o.list('static-skip-ext'),
    safe: o.list('static-safe').map(abs),
    expires,
    gzip: {
      all: o.bool('static-gzip-all'),
      dirs: o.list('static-gzip-dir'),
      exts: o.list('static-gzip-ext'),
      regexps: gzipRegexps,
    },
    mimeFiles: o.has('mimefile') ? o.list('mimefile').map(abs) : [DEFAULT_MIME_FILE],
    cachePathsSeconds: o.has('static-cache-paths') ? o.int('static-cache-paths') : 0,
    addHeaders: o.list('add-header'),
    xSendfileDirs,
    checkDocroot,
    fileServeMode: mode,
  };
}

/**
 * static-cache-paths-name picks one of uWSGI's named shared caches (cache2)
 * for the path cache. nuwsgi's path cache is each worker's own memory: there
 * is nothing to name, so the value is not looked up (uWSGI exits when the
 * cache does not exist; refusing here would refuse configs whose cache2 line
 * nuwsgi accepts and ignores). Without static-cache-paths uWSGI never reads
 * the name, and it turns nothing on here either.
 */
function cachePathsNameNote(o: Options): string | undefined {
  const name = o.str('static-cache-paths-name');
  if (name === undefined) return undefined;
  const effect = o.has('static-cache-paths')
    ? `static-cache-paths ${o.int('static-cache-paths')} keeps real paths in each worker's memory instead`
    : 'without static-cache-paths it turns nothing on, as in uWSGI';
  return `static-cache-paths-name "${name}": nuwsgi has no named caches, the name is not looked up; ${effect}`;
}

/** `/mount=dir`, as uWSGI's uwsgi_opt_static_map (which exits on a missing '='). */
export function mapping(value: string, option: 'static-map' | 'static-map2', abs: (p: string) => string): StaticMount {
  const eq = value.indexOf('=');
  if (eq < 0 || eq === value.length - 1) {
    throw new NuwsgiError('E_CONFIG', `${option} "${value}": invalid document root in static map, syntax mountpoint=docroot`);
  }
  return { mount: value.slice(0, eq), root: abs(value.slice(eq + 1)), mode: option === 'static-map' ? 'strip' : 'append', option };
}

/** uWSGI tries maps in the order given; the longest mountpoint first is what a reader expects (and nginx does). */
function sortLongestFirst(mounts: StaticMount[]): StaticMount[] {
  return mounts.map((m, i) => [m, i] as const).sort((a, b) => b[0].mount.length - a[0].mount.length || a[1] - b[1]).map(([m]) => m);
}

/** uWSGI's order of the Expires checks: file name, PATH_INFO, REQUEST_URI, then content type. */
function expiresRules(o: Options): ExpiresRule[] {
  const rules: ExpiresRule[] = [];
  const regexpRules = (subject: ExpiresSubject, option: string, fromMtime: boolean): void => {
    for (const v of o.list(option)) rules.push({ subject, ...regexpRule(option, v), fromMtime });
  };
  regexpRules('file', 'static-expires', false);
  regexpRules('file', 'static-expires-mtime', true);
  regexpRules('path-info', 'static-expires-path-info', false);
  regexpRules('path-info', 'static-expires-path-info-mtime', true);
  regexpRules('uri', 'static-expires-uri', false);
  regexpRules('uri', 'static-expires-uri-mtime', true);
  for (const fromMtime of [false, true]) {
    const option = fromMtime ? 'static-expires-type-mtime' : 'static-expires-type';
    for (const v of o.list(option)) {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new NuwsgiError('E_CONFIG', `${option} "${v}": invalid dictionary syntax (expected type=seconds)`);
      rules.push({ subject: 'type', pattern: v.slice(0, eq), seconds: seconds(option, v.slice(eq + 1)), fromMtime });
    }
  }
  return rules;
}

/** `REGEXP SECONDS`, space-separated as in uWSGI (uwsgi_opt_add_regexp_dyn_dict). */
function regexpRule(option: string, value: string): { pattern: string; seconds: number } {
  const space = value.indexOf(' ');
  if (space <= 0) throw new NuwsgiError('E_CONFIG', `${option} "${value}": invalid dictionary syntax (expected "regexp seconds")`);
  return { pattern: checkRegexp(option, value.slice(0, space)), seconds: seconds(option, value.slice(space + 1).trim()) };
}

function seconds(option: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw new NuwsgiError('E_CONFIG', `${option}: "${text}" is not a number of seconds`);
  return Number(text);
}

function checkRegexp(option: string, source: string): string {
  try {
    new RegExp(source);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `${option}: invalid regular expression "${source}": ${(err as Error).message}`);
  }
  return source;
}
