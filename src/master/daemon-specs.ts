/**
 * What --attach-daemon, --attach-daemon2, --smart-attach-daemon and
 * --smart-attach-daemon2 say (core/daemons.c uwsgi_opt_add_daemon{,2}).
 * Pure parsing: the running side is src/master/daemons.ts.
 */
import { constants } from 'node:os';
import { NuwsgiError } from '../util/errors';
import { atoi, parseKvList } from '../util/kvlist';

export interface DaemonSpec {
  /** Run with /bin/sh -c, as uWSGI. */
  command: string;
  /** Smart daemons: the pidfile that says whether it runs (it may outlive the master). */
  pidfile: string | undefined;
  /** The master writes the pidfile itself (smart-attach-daemon2, daemonize=1). */
  daemonize: boolean;
  /** Seconds a smart daemon may take to write its pidfile before it is started again. */
  freq: number;
  /** A control daemon: its death stops the whole instance. */
  control: boolean;
  /** Files whose mtime change restarts the daemon (its stop signal). */
  touch: string[];
  stopSignal: number;
  /** 0: the stop signal is used on reload too. */
  reloadSignal: number;
  /** Most seconds a respawn is delayed (0: uWSGI's 300). */
  maxThrottle: number;
  /** Keep the master's stdin instead of /dev/null. */
  stdin: boolean;
  chdir: string | undefined;
  /** A smart daemon is told (stop / reload signal) when the master stops or reloads. */
  notifyPid: boolean;
}

const SIGTERM = constants.signals.SIGTERM;

function base(command: string): DaemonSpec {
  return {
    command, pidfile: undefined, daemonize: false, freq: 10, control: false, touch: [], stopSignal: SIGTERM,
    reloadSignal: 0, maxThrottle: 0, stdin: false, chdir: undefined, notifyPid: false,
  };
}

/** --attach-daemon CMD */
export function attachDaemon(value: string): DaemonSpec {
  return base(value);
}

/** --smart-attach-daemon PIDFILE[,FREQ] CMD (and smart-attach-daemon2: the master daemonizes it). */
export function smartAttachDaemon(option: string, value: string, daemonize: boolean): DaemonSpec {
  const space = value.indexOf(' ');
  if (space < 0) throw new NuwsgiError('E_CONFIG', `${option} "${value}": invalid smart-attach-daemon syntax (expected: PIDFILE COMMAND)`);
  const [pidfile, freq] = value.slice(0, space).split(',', 2) as [string, string | undefined];
  return { ...base(value.slice(space + 1)), pidfile, daemonize, ...(freq !== undefined ? { freq: atoi(freq) } : {}) };
}

/** Keys uWSGI knows that nuwsgi does not act on: said once, at startup. */
const UNSUPPORTED_KEYS: Record<string, string> = {
  uid: 'the daemon runs as the master (after --uid)',
  gid: 'the daemon runs as the master (after --gid)',
  ns_pid: 'no PID namespaces',
  legion: 'no legions (the Legion subsystem is not in nuwsgi)',
};

/** --attach-daemon2 key=value,... */
export function attachDaemon2(value: string, warn: (line: string) => void): DaemonSpec {
  const items = parseKvList(value);
  if (typeof items === 'string') throw new NuwsgiError('E_CONFIG', `attach-daemon2 "${value}": invalid keyval syntax: ${items}`);
  let spec: DaemonSpec | undefined;
  const rest: Array<[string, string]> = [];
  for (const [key, val] of items) {
    if (key === 'command' || key === 'cmd' || key === 'exec') spec = base(val);
    else rest.push([key, val]);
  }
  if (spec === undefined) throw new NuwsgiError('E_CONFIG', `attach-daemon2 "${value}": you need to specify a 'command' key`);
  for (const [key, val] of rest) applyKey(spec, key, val, warn);
  return spec;
}

function applyKey(spec: DaemonSpec, key: string, val: string, warn: (line: string) => void): void {
  switch (key) {
    case 'freq': spec.freq = atoi(val); break;
    case 'pidfile': spec.pidfile = val; break;
    case 'control': spec.control = true; break;
    case 'daemonize': case 'daemon': spec.daemonize = true; break;
    case 'touch': spec.touch.push(...val.split(';').filter((f) => f !== '')); break;
    case 'stopsignal': case 'stop_signal': spec.stopSignal = atoi(val); break;
    case 'reloadsignal': case 'reload_signal': spec.reloadSignal = atoi(val); break;
    case 'stdin': spec.stdin = true; break;
    case 'chdir': spec.chdir = val; break;
    case 'max_throttle': spec.maxThrottle = atoi(val); break;
    case 'notifypid': spec.notifyPid = true; break;
    default: {
      const why = UNSUPPORTED_KEYS[key];
      warn(why !== undefined ? `attach-daemon2: key "${key}" ignored: ${why}` : `attach-daemon2: unknown key "${key}" ignored`);
    }
  }
}

/** Every daemon the options ask for, in uWSGI's order (the options' order within each kind). */
export function daemonSpecs(o: { list(name: string): string[] }, warn: (line: string) => void): DaemonSpec[] {
  return [
    ...o.list('attach-daemon').map(attachDaemon),
    ...o.list('smart-attach-daemon').map((v) => smartAttachDaemon('smart-attach-daemon', v, false)),
    ...o.list('smart-attach-daemon2').map((v) => smartAttachDaemon('smart-attach-daemon2', v, true)),
    ...o.list('attach-daemon2').map((v) => attachDaemon2(v, warn)),
  ];
}
