/**
 * The command line and environment a vassal is started with, as uWSGI's
 * emperor builds them (core/emperor.c uwsgi_emperor_spawn_vassal).
 */
import { envNameToKey } from '../config/env';
import { findOption } from '../config/registry';
import { EMPEROR_FD_ENV, EMPEROR_HEARTBEAT_ENV, VASSAL_CHANNEL_FD } from './protocol';
import type { VassalArgs } from './settings';

type ConfigFlag = '--ini' | '--yaml' | '--json' | '--xml';

const FLAG_BY_EXTENSION: ReadonlyArray<readonly [string, ConfigFlag]> = [
  ['.ini', '--ini'],
  ['.yml', '--yaml'],
  ['.yaml', '--yaml'],
  ['.js', '--json'],
  ['.json', '--json'],
  ['.xml', '--xml'],
];

/**
 * The option that reads the vassal file. uWSGI hands files with an
 * `emperor-extra-extension` to its pluggable `--config` loaders; nuwsgi has
 * no such loaders and reads them as INI, the format such files nearly always are.
 */
export function configFlag(name: string): ConfigFlag {
  const found = FLAG_BY_EXTENSION.find(([ext]) => name.endsWith(ext));
  return found === undefined ? '--ini' : found[1];
}

/**
 * uWSGI's order: inherit-before, include-before, vassal-set, the vassal file,
 * then vassals-inherit and vassals-include. Paths are passed as given, so a
 * relative one is found from the vassal's working directory, as in uWSGI.
 */
export function vassalArgv(configPath: string, args: VassalArgs): string[] {
  const pairs = (flag: string, values: readonly string[]): string[] => values.flatMap((v) => [flag, v]);
  return [
    ...pairs('--inherit', args.inheritBefore),
    ...pairs('--include', args.includeBefore),
    ...pairs('--set', args.set),
    configFlag(configPath),
    configPath,
    ...pairs('--inherit', args.inherit),
    ...pairs('--include', args.include),
  ];
}

/** Prefixes whose VASSAL_ variables are handed to vassals without it. */
const PREFIXES = ['UWSGI_', 'NUWSGI_'] as const;

/**
 * The emperor's environment as a vassal sees it:
 * - `UWSGI_VASSAL_X` becomes `UWSGI_X` (and `NUWSGI_VASSAL_X` `NUWSGI_X`), as in uWSGI;
 * - NOTIFY_SOCKET is removed (systemd talks to the emperor, not to each vassal), as in uWSGI;
 * - the emperor's own options given as variables (`UWSGI_EMPEROR=...`) are removed: in uWSGI
 *   every vassal would inherit them and become an emperor of the same directory itself;
 * - UWSGI_EMPEROR_FD names the channel, UWSGI_VASSALS_DIR the vassals directory, and
 *   NUWSGI_EMPEROR_HEARTBEAT the emperor's heartbeat tolerance (protocol.ts).
 */
export function vassalEnv(parent: NodeJS.ProcessEnv, vassalsDir: string | undefined, requiredHeartbeatMs?: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const renamed: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || name === 'NOTIFY_SOCKET' || name === 'UWSGI_RELOADS') continue;
    const prefix = PREFIXES.find((p) => name.startsWith(`${p}VASSAL_`));
    if (prefix !== undefined && name.length > `${prefix}VASSAL_`.length) {
      renamed[`${prefix}${name.slice(prefix.length + 'VASSAL_'.length)}`] = value;
      continue;
    }
    if (isEmperorOption(name)) continue;
    env[name] = value;
  }
  Object.assign(env, renamed);
  env[EMPEROR_FD_ENV] = String(VASSAL_CHANNEL_FD);
  if (requiredHeartbeatMs !== undefined) env[EMPEROR_HEARTBEAT_ENV] = String(Math.ceil(requiredHeartbeatMs / 1000));
  if (vassalsDir !== undefined) env['UWSGI_VASSALS_DIR'] = vassalsDir;
  else delete env['UWSGI_VASSALS_DIR'];
  return env;
}

function isEmperorOption(envName: string): boolean {
  const parsed = envNameToKey(envName);
  return parsed !== undefined && findOption(parsed.key)?.section === 'Emperor';
}
