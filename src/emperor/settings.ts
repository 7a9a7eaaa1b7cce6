/**
 * What the emperor's own configuration says, read once from the Options.
 */
import type { Options } from '../config/options';
import { NuwsgiError } from '../util/errors';
import type { OnDemandSource } from './on-demand';

/** Extra arguments every vassal gets, in uWSGI's order (see vassalArgv). */
export interface VassalArgs {
  inheritBefore: string[];
  includeBefore: string[];
  set: string[];
  inherit: string[];
  include: string[];
}

export interface EmperorSettings {
  /** The --emperor values as given: directories, globs, dir:// or glob:// URLs. */
  monitors: string[];
  /** Rescan period (the safety net under the directory watchers). */
  freqMs: number;
  nofollow: boolean;
  extraExtensions: string[];
  tyrant: boolean;
  tyrantNofollow: boolean;
  /** A vassal that sent heartbeats and then stops sending them for this long is killed and respawned. */
  requiredHeartbeatMs: number;
  throttleMs: number;
  maxThrottleMs: number;
  /** How long a vassal told to stop may take before SIGKILL. */
  curseToleranceMs: number;
  /** Stop vassals gracefully (byte 2) rather than at once (byte 0). */
  gracefulShutdown: boolean;
  statsAddress: string | undefined;
  statsHttp: boolean;
  /** --emperor-pidfile, and --pidfile (Debian's init script passes it to the emperor). */
  pidfiles: string[];
  vacuum: boolean;
  vassalArgs: VassalArgs;
  /** emperor-on-demand-*: where on-demand vassals' socket names come from (undefined: none). */
  onDemand: OnDemandSource | undefined;
  /** The backlog of on-demand sockets (the emperor's --listen). */
  listen: number;
}

/** Options that make an instance serve requests: an emperor ignores them (and says so). */
const SERVER_OPTIONS = ['http-socket', 'socket', 'https', 'https-socket', 'module', 'wsgi-file', 'asgi', 'mount'];

export function emperorSettings(o: Options): EmperorSettings {
  const throttleMs = o.int('emperor-throttle');
  const maxThrottleMs = o.int('emperor-max-throttle');
  if (maxThrottleMs < throttleMs) {
    throw new NuwsgiError('E_EMPEROR', `emperor-max-throttle (${maxThrottleMs} ms) is below emperor-throttle (${throttleMs} ms)`);
  }
  const pidfiles = [o.str('emperor-pidfile'), o.str('pidfile') ?? o.str('safe-pidfile')].filter((p): p is string => p !== undefined);
  return {
    monitors: o.list('emperor'),
    freqMs: o.int('emperor-freq') * 1000,
    nofollow: o.bool('emperor-nofollow'),
    extraExtensions: o.list('emperor-extra-extension'),
    tyrant: o.bool('emperor-tyrant'),
    tyrantNofollow: o.bool('emperor-tyrant-nofollow'),
    requiredHeartbeatMs: o.int('emperor-required-heartbeat') * 1000,
    throttleMs,
    maxThrottleMs,
    curseToleranceMs: o.int('emperor-curse-tolerance') * 1000,
    gracefulShutdown: o.bool('emperor-graceful-shutdown'),
    statsAddress: o.str('emperor-stats'),
    statsHttp: o.bool('stats-http'),
    pidfiles: [...new Set(pidfiles)],
    vacuum: o.bool('vacuum'),
    onDemand: onDemandSource(o),
    listen: o.int('listen'),
    vassalArgs: {
      inheritBefore: o.list('vassals-inherit-before'),
      includeBefore: o.list('vassals-include-before'),
      set: o.list('vassal-set'),
      inherit: o.list('vassals-inherit'),
      include: o.list('vassals-include'),
    },
  };
}

/** uWSGI checks extension, then directory, then exec: the first one set wins. */
function onDemandSource(o: Options): OnDemandSource | undefined {
  const extension = o.str('emperor-on-demand-extension');
  if (extension !== undefined) return { kind: 'extension', extension };
  const directory = o.str('emperor-on-demand-directory');
  if (directory !== undefined) return { kind: 'directory', directory };
  const command = o.str('emperor-on-demand-exec');
  if (command !== undefined) return { kind: 'exec', command };
  return undefined;
}

/** Server options set next to `emperor`: uWSGI would run a second instance beside the emperor; nuwsgi does not. */
export function ignoredServerOptions(o: Options): string[] {
  return SERVER_OPTIONS.filter((name) => o.has(name));
}
