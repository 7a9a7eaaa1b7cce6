/**
 * Process titles, as uWSGI sets them (core/utils.c uwsgi_set_processname,
 * core/master.c): with --auto-procname (or any --procname-* option, which
 * switches it on) the master shows "uWSGI master" and worker N shows
 * "uWSGI worker N", each between --procname-prefix and --procname-append.
 * --procname replaces both names, --procname-master the master's.
 *
 * The strings stay uWSGI's ("uWSGI master", not "nuwsgi master"): monitoring
 * scripts, pgrep patterns and process-exporter configs match them.
 * Without any of these options a process keeps its command line.
 */
import type { Options } from '../config/options';

export interface ProcnameSettings {
  /** --auto-procname, or implied by any --procname-* option. */
  auto: boolean;
  prefix: string;
  append: string;
  /** --procname: every process's name. */
  procname: string | undefined;
  /** --procname-master. */
  master: string | undefined;
}

const PROCNAME_OPTIONS = ['procname-prefix', 'procname-prefix-spaced', 'procname-append', 'procname', 'procname-master'];

export function procnameSettings(o: Options): ProcnameSettings {
  const spaced = o.str('procname-prefix-spaced');
  return {
    auto: o.bool('auto-procname') || PROCNAME_OPTIONS.some((name) => o.has(name)),
    // uWSGI keeps one prefix: the spaced form is the value plus a space.
    prefix: spaced !== undefined ? `${spaced} ` : (o.str('procname-prefix') ?? ''),
    append: o.str('procname-append') ?? '',
    procname: o.str('procname'),
    master: o.str('procname-master'),
  };
}

/** The master's title, or undefined to keep the command line. */
export function masterTitle(s: ProcnameSettings): string | undefined {
  const name = s.master ?? s.procname ?? (s.auto ? 'uWSGI master' : undefined);
  return name === undefined ? undefined : s.prefix + name + s.append;
}

/** A child's title (worker N: "uWSGI worker N"), or undefined to keep the command line. */
export function childTitle(s: ProcnameSettings, name: string): string | undefined {
  if (!s.auto) return undefined;
  return s.prefix + (s.procname ?? name) + s.append;
}

export function workerTitle(s: ProcnameSettings, id: number): string | undefined {
  return childTitle(s, `uWSGI worker ${id}`);
}

/** Node rewrites argv in place (libuv), as uWSGI does: `ps` and /proc/PID/cmdline show it. */
export function setTitle(title: string | undefined): void {
  if (title !== undefined) process.title = title;
}
