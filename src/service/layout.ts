/**
 * Where nuwsgi-service finds things: Debian's uWSGI init script layout
 * (/etc/init.d/uwsgi and /usr/share/uwsgi/init/*) with nuwsgi's names.
 *
 * Every built-in path sits under NUWSGI_SERVICE_ROOT (default: the real
 * root), so the command can run against a scratch tree without root, as the
 * integration tests do. Values read from the defaults file are used as
 * written.
 */
import path from 'node:path';
import { readDefaultsFile } from './defaults-file';

/** The suffix of apps directories: "apps-enabled" holds namespace "app" (UWSGI_APPS_CONFDIR_SUFFIX). */
export const APPS_CONFDIR_SUFFIX = 's-enabled';
/** Used when a path does not name a namespace (UWSGI_DEFAULT_CONFNAMESPACE). */
export const DEFAULT_CONFNAMESPACE = 'app';
/** What the init script's messages call the daemon (NAME) and what it manages (DESC). */
export const SERVICE_NAME = 'nuwsgi';
export const SERVICE_DESC = 'app server(s)';

export interface ServiceLayout {
  /** /etc/nuwsgi: apps-available/, apps-enabled/ (UWSGI_CONFDIR). */
  confDir: string;
  /** /run/nuwsgi/NAMESPACE/NAME/{socket,pid} (UWSGI_RUNDIR). */
  runDir: string;
  /** /var/log/nuwsgi/NAMESPACE/NAME.log. */
  logDir: string;
  /** The nuwsgi entry script started for each app (bin/nuwsgi of this installation). */
  daemon: string;
  /** /etc/default/nuwsgi, as read. */
  settings: ServiceSettings;
}

export interface ServiceSettings {
  /** VERBOSE: print the progress line (Debian's /etc/default/uwsgi sets yes). */
  verbose: boolean;
  /** PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT: names instead of `.`/`!`/`?`. */
  printConfnames: boolean;
  /** INHERITED_CONFIG: the options every app starts with. */
  inheritedConfig: string;
  /** READY_TIMEOUT (seconds): how long `start` waits for an app's workers (nuwsgi's own setting). */
  readyTimeoutMs: number;
  /** Lines of the defaults file that were not understood, already formatted. */
  warnings: string[];
}

const DEFAULT_READY_TIMEOUT_S = 90;

/** The layout for this process: NUWSGI_SERVICE_ROOT from `env`, the daemon next to this module. */
export function serviceLayout(env: NodeJS.ProcessEnv): ServiceLayout {
  const root = env['NUWSGI_SERVICE_ROOT'] ?? '/';
  const under = (p: string): string => path.join(root, p);
  return {
    confDir: under('/etc/nuwsgi'),
    runDir: under('/run/nuwsgi'),
    logDir: under('/var/log/nuwsgi'),
    // dist/src/service/layout.js -> bin/nuwsgi (a symlink such as /usr/bin/nuwsgi-service is resolved by node).
    daemon: path.resolve(__dirname, '..', '..', '..', 'bin', 'nuwsgi'),
    settings: readSettings(under('/etc/default/nuwsgi'), under('/usr/share/nuwsgi/conf/default.ini')),
  };
}

function readSettings(file: string, defaultInherited: string): ServiceSettings {
  const { values, warnings } = readDefaultsFile(file);
  const timeout = values.get('READY_TIMEOUT');
  const seconds = timeout !== undefined && /^\d+$/.test(timeout) ? Number(timeout) : DEFAULT_READY_TIMEOUT_S;
  if (timeout !== undefined && !/^\d+$/.test(timeout)) warnings.push(`${file}: READY_TIMEOUT=${timeout} is not a number of seconds: using ${DEFAULT_READY_TIMEOUT_S}`);
  return {
    verbose: values.get('VERBOSE') !== 'no',
    printConfnames: (values.get('PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT') ?? 'no') !== 'no',
    inheritedConfig: values.get('INHERITED_CONFIG') ?? defaultInherited,
    readyTimeoutMs: seconds * 1000,
    warnings,
  };
}

/** The apps directory of a namespace: "app" -> /etc/nuwsgi/apps-enabled. */
export function appsConfDir(layout: ServiceLayout, namespace: string): string {
  return path.join(layout.confDir, `${namespace}${APPS_CONFDIR_SUFFIX}`);
}
