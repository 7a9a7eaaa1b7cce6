import path from 'node:path';
import type { Options } from '../config/options';
import type { SocketProtocol, TlsFiles } from '../master/sockets';
import type { AppSpec } from '../worker/python/bridge';
import { NuwsgiError, type ConfigOrigin } from '../util/errors';
import { defaultSocketProtocol, type DefaultSocketProtocol } from '../config/socket-protocol';
import { globSync } from '../config/glob';
import type { RecyclePolicy } from '../contracts/worker-config';
import { loggingPlanFromOptions, type LoggingPlan } from '../logging/plan';
import { exchangeOptionsFrom, type ExchangeOptions } from '../worker/exchange-options';
import { procnameSettings, type ProcnameSettings } from '../util/procname';
import { daemonSpecs, type DaemonSpec } from '../master/daemon-specs';
import { cronSpecs, type CronSpec } from '../master/cron';
import { hookPlan, type HookPlan } from '../util/hooks';
import type { BusynessSettings } from '../master/cheaper';
import { atoi } from '../util/kvlist';
import { staticConfigFromOptions, type StaticConfig } from '../worker/static/config';
import type { DashboardSettings } from '../stats/dashboard-server';

/** What the options say to run, before anything is bound or spawned. */
export interface PlannedSocket {
  protocol: SocketProtocol;
  spec: string;
  tls?: TlsFiles;
}

export interface ServerPlan {
  sockets: PlannedSocket[];
  /** What `socket` entries and systemd-inherited sockets speak (--protocol; uwsgi by default). */
  defaultProtocol: DefaultSocketProtocol;
  apps: AppSpec[];
  pythonpath: string[];
  python: string | undefined;
  home: string | undefined;
  chdir: string | undefined;
  /** Where --chdir was set: a directory that cannot be entered is refused naming it (chdir.ts). */
  chdirOrigin: ConfigOrigin | undefined;
  env: Array<[string, string]>;
  master: boolean;
  processes: number;
  listen: number;
  /** --max-fd: the open-file limit, soft and hard; undefined = raise soft to hard. */
  maxFd: number | undefined;
  bufferSize: number;
  maxVars: number;
  limitPost: number;
  httpTimeoutMs: number;
  socketTimeoutMs: number;
  /** Request lines, --log-date, --logto and the rest of src/logging's options. */
  logging: LoggingPlan;
  workerReloadMercyMs: number;
  manageScriptName: boolean;
  /** Raw chmod-socket value ('' when given bare), undefined when unset. */
  chmodSocket: string | undefined;
  chownSocket: string | undefined;
  umask: string | undefined;
  vacuum: boolean;
  forwardedAllowIps: string[];
  harakiri: number;
  harakiriVerbose: boolean;
  recycle: RecyclePolicy;
  touchReload: string[];
  touchChainReload: string[];
  touchWorkersReload: string[];
  pidfile: string | undefined;
  /** --stats ADDR / --metrics ADDR (ours); undefined when off. */
  statsAddress: string | undefined;
  statsHttp: boolean;
  statsMinified: boolean;
  metricsAddress: string | undefined;
  /** --dashboard ADDR (ours) and its actions; undefined address when off. */
  dashboard: DashboardSettings;
  masterFifo: string[];
  /** --cheaper N (0 = off) and its tuning, validated by cheaperSettings(). */
  cheaper: { cheaper: number; processes: number; initial: number | undefined; step: number; overload: number; algo: string | undefined; busyness: Partial<BusynessSettings> };
  /** --cheap, --idle N (0 = off), --die-on-idle (src/master/idle.ts). */
  idle: { cheap: boolean; seconds: number; die: boolean };
  /** --uid / --gid: whom to become once the sockets are bound. */
  uid: string | undefined;
  gid: string | undefined;
  /** --daemonize FILE (at once) / --daemonize2 FILE (once the app is ready). */
  daemonize: string | undefined;
  daemonize2: string | undefined;
  /** --py-autoreload N seconds (0 = off). */
  pyAutoreload: number;
  /** --threads: cores per worker (1 = the inline sync path). */
  threads: number;
  /** --thunder-lock: serialize the workers' accept(). */
  thunderLock: boolean;
  /** --thread-stacksize KiB (0 = the system's default). */
  threadStackKiB: number;
  /** --threads-follow-loop (on unless turned off, and off under --cpu-affinity, which binds the worker itself). */
  threadsFollowLoop: boolean;
  /** --lifespan, --asgi-loop, --asgi-concurrency. */
  asgi: AsgiPlan;
  /** --evil-reload-on-rss MB, in bytes (0 = off). */
  evilReloadOnRssBytes: number;
  /** add-header, del-header, write errors, post-buffering, http-keepalive. */
  exchange: ExchangeOptions;
  /** --ksm [N]: seconds between KSM scans in each worker (0 = off; bare --ksm = 1, as uWSGI's optional int). */
  ksm: number;
  /** --cpu-affinity N: CPUs each worker is bound to (0 = not bound). */
  cpuAffinity: number;
  /** --reuse-port, --so-keepalive, TCP_DEFER_ACCEPT (--socket-timeout seconds unless --no-defer-accept) on TCP sockets. */
  tcpFlags: { reusePort: boolean; keepAlive: boolean; deferAcceptSecs: number };
  /** --auto-procname, --procname*: process titles. */
  procname: ProcnameSettings;
  /** --attach-daemon and friends. */
  daemons: DaemonSpec[];
  /** --cron, --unique-cron, --cron2. */
  crons: CronSpec[];
  /** --hook-*. */
  hooks: HookPlan;
  /** What reading the options found worth saying (unknown attach-daemon2 keys...), logged at startup. */
  warnings: string[];
  /** static-map and friends; undefined when none is set. */
  static: StaticConfig | undefined;
}

/** The sockets in the order they were given: uWSGI numbers them so (`socket 0 bound to ...`). */
function socketPlans(o: Options, base: string, defaultProtocol: PlannedSocket['protocol']): PlannedSocket[] {
  return o.listInOrder(['http-socket', 'https', 'https-socket', 'socket']).map(({ name, value }) => {
    if (name === 'http-socket') return { protocol: 'http' as const, spec: socketPath(value, base) };
    if (name === 'socket') return { protocol: defaultProtocol, spec: socketPath(value, base) };
    return httpsSocket(value, base);
  });
}

export function planFromOptions(o: Options, cwd: string): ServerPlan {
  const chdir = o.str('chdir');
  const base = chdir !== undefined ? path.resolve(cwd, chdir) : cwd;
  const warnings: string[] = [];
  const warn = (line: string): void => {
    warnings.push(line);
  };
  const defaultProtocol = defaultSocketProtocol(o.str('protocol'));
  return {
    procname: procnameSettings(o),
    ksm: o.has('ksm') ? Math.max(1, atoi(o.str('ksm') ?? '1') || 1) : 0,
    cpuAffinity: o.int('cpu-affinity'),
    tcpFlags: {
      reusePort: o.bool('reuse-port'),
      keepAlive: o.bool('so-keepalive'),
      deferAcceptSecs: o.bool('no-defer-accept') ? 0 : o.int('socket-timeout'),
    },
    thunderLock: o.bool('thunder-lock'),
    daemons: daemonSpecs(o, warn),
    crons: cronSpecs(o, warn),
    hooks: hookPlan(o),
    warnings,
    sockets: socketPlans(o, base, defaultProtocol),
    defaultProtocol,
    chmodSocket: o.has('chmod-socket') ? (o.str('chmod-socket') ?? '') : undefined,
    chownSocket: o.str('chown-socket'),
    umask: o.str('umask'),
    vacuum: o.bool('vacuum'),
    forwardedAllowIps: o.list('forwarded-allow-ips'),
    harakiri: o.int('harakiri'),
    harakiriVerbose: o.bool('harakiri-verbose'),
    recycle: {
      maxRequests: o.int('max-requests'),
      maxRequestsDelta: o.has('max-requests-delta') ? o.int('max-requests-delta') : 0,
      maxLifetimeMs: o.int('max-worker-lifetime') * 1000,
      reloadOnRssBytes: o.int('reload-on-rss') * 1024 * 1024,
      minLifetimeMs: o.int('min-worker-lifetime') * 1000,
    },
    touchReload: o.list('touch-reload').map((f) => path.resolve(base, f)),
    touchChainReload: o.list('touch-chain-reload').map((f) => path.resolve(base, f)),
    touchWorkersReload: o.list('touch-workers-reload').map((f) => path.resolve(base, f)),
    pidfile: o.str('pidfile') ?? o.str('safe-pidfile'),
    statsAddress: o.str('stats'),
    statsHttp: o.bool('stats-http'),
    statsMinified: o.bool('stats-minified'),
    metricsAddress: o.str('metrics'),
    dashboard: dashboardSettingsFrom(o, base),
    masterFifo: o.list('master-fifo').map((f) => path.resolve(base, f)),
    cheaper: {
      cheaper: o.has('cheaper') ? o.int('cheaper') : 0,
      processes: Math.max(1, o.int('processes')),
      initial: o.has('cheaper-initial') ? o.int('cheaper-initial') : undefined,
      step: o.has('cheaper-step') ? o.int('cheaper-step') : 1,
      overload: o.has('cheaper-overload') ? o.int('cheaper-overload') : 3,
      algo: o.str('cheaper-algo'),
      busyness: {
        max: o.int('cheaper-busyness-max'),
        min: o.int('cheaper-busyness-min'),
        multiplier: o.int('cheaper-busyness-multiplier'),
        penalty: o.int('cheaper-busyness-penalty'),
        verbose: o.bool('cheaper-busyness-verbose'),
        backlogAlert: o.int('cheaper-busyness-backlog-alert'),
        backlogMultiplier: o.int('cheaper-busyness-backlog-multiplier'),
        backlogStep: o.int('cheaper-busyness-backlog-step'),
        backlogNonzero: o.int('cheaper-busyness-backlog-nonzero'),
      },
    },
    idle: { cheap: o.bool('cheap'), seconds: o.int('idle'), die: o.bool('die-on-idle') },
    uid: o.str('uid'),
    gid: o.str('gid'),
    daemonize: o.str('daemonize'),
    daemonize2: o.str('daemonize2'),
    pyAutoreload: o.has('py-autoreload') ? o.int('py-autoreload') : 0,
    threads: Math.max(1, o.int('threads')),
    threadStackKiB: o.has('thread-stacksize') ? o.int('thread-stacksize') : 0,
    threadsFollowLoop: o.bool('threads-follow-loop') && o.int('cpu-affinity') === 0,
    asgi: asgiPlanFromOptions(o),
    evilReloadOnRssBytes: o.int('evil-reload-on-rss') * 1024 * 1024,
    exchange: exchangeOptionsFrom(o),
    static: staticConfigFromOptions(o, base, warn),
    apps: appsFromOptions(o, base),
    pythonpath: o.list('pythonpath').flatMap((p) => expandPythonpath(p, base)),
    python: o.str('python'),
    home: o.str('home'),
    chdir: chdir === undefined ? undefined : chdir === '' ? '' : base, // '': chdir("") fails in uWSGI; so it does here (chdir.ts)
    chdirOrigin: o.originOf('chdir'),
    env: o.list('env').map(parseEnvPair),
    master: o.bool('master'),
    processes: Math.max(1, o.int('processes')),
    listen: o.int('listen'),
    maxFd: o.has('max-fd') ? o.int('max-fd') : undefined,
    bufferSize: o.int('buffer-size'),
    maxVars: o.int('max-vars'),
    limitPost: o.int('limit-post'),
    httpTimeoutMs: o.int('http-timeout') * 1000,
    socketTimeoutMs: o.int('socket-timeout') * 1000,
    logging: loggingPlanFromOptions(o, cwd, base),
    manageScriptName: o.bool('manage-script-name'),
    workerReloadMercyMs: o.int('worker-reload-mercy') * 1000,
  };
}

/** `addr,cert,key[,ciphers,ca]`, as uWSGI's https and https-socket. */
function httpsSocket(value: string, base: string): PlannedSocket {
  const [spec, cert, key, ciphers, ca] = value.split(',');
  if (spec === undefined || spec === '' || cert === undefined || cert === '' || key === undefined || key === '') {
    throw new NuwsgiError('E_CONFIG', `https "${value}" is not addr,cert,key[,ciphers,ca]`);
  }
  const tls: TlsFiles = { cert: path.resolve(base, cert), key: path.resolve(base, key) };
  if (ciphers !== undefined && ciphers !== '') tls.ciphers = ciphers;
  if (ca !== undefined && ca !== '') tls.ca = path.resolve(base, ca);
  return { protocol: 'https', spec: socketPath(spec, base), tls };
}

/**
 * uWSGI takes any address without a ':' as a UNIX socket path (`socket =
 * myproject.sock`), and binds after --chdir, so a relative path is relative to
 * the chdir directory. nuwsgi's master does not chdir, so the path is made
 * absolute here, against the same directory. '@name' is abstract: no file.
 */
export function socketPath(spec: string, base: string): string {
  if (spec.includes(':') || spec.startsWith('@') || spec.startsWith('/')) return spec;
  return path.resolve(base, spec);
}

/**
 * App 0 is --wsgi-file, --module or --asgi (the default app); each --mount adds one, in order, as uWSGI numbers
 * them. --interface says how to call them (auto: detected in the worker); --asgi is always ASGI.
 */
function appsFromOptions(o: Options, base: string): AppSpec[] {
  const callable = o.str('callable') ?? 'application';
  const iface = interfaceOption(o);
  const apps: AppSpec[] = [];
  const file = o.str('wsgi-file');
  const module = o.str('module');
  const asgi = o.str('asgi');
  if (file !== undefined) apps.push({ mountpoint: '', kind: 'file', target: path.resolve(base, file), callable, interface: iface });
  // uWSGI imports --module as a dotted name, always: `mysite.wsgi` is a package's module, never a file.
  else if (module !== undefined) apps.push({ mountpoint: '', kind: 'module', target: module, callable, interface: iface });
  else if (asgi !== undefined) apps.push({ mountpoint: '', kind: 'module', target: asgi, callable: asgiCallable(asgi, o), interface: 'asgi' });
  for (const mount of o.list('mount')) {
    const eq = mount.indexOf('=');
    if (eq <= 0) throw new NuwsgiError('E_CONFIG', `mount "${mount}" is not /mountpoint=app`);
    apps.push({ ...mountSpec(mount.slice(0, eq), mount.slice(eq + 1), callable, base), interface: iface });
  }
  return apps;
}

function interfaceOption(o: Options): 'auto' | 'wsgi' | 'asgi' {
  return oneOf(o, 'interface', ['auto', 'wsgi', 'asgi'] as const);
}

/** `--asgi main` without `:name` means main:app, as uvicorn users write it; --callable still wins when set. */
function asgiCallable(target: string, o: Options): string {
  return target.includes(':') ? '' : o.has('callable') ? (o.str('callable') as string) : 'app';
}

export interface AsgiPlan {
  lifespan: 'auto' | 'on' | 'off';
  loop: 'auto' | 'asyncio' | 'uvloop';
  concurrency: number;
  ws: { maxSize: number; pingIntervalMs: number; pingTimeoutMs: number; perMessageDeflate: boolean };
}

function asgiPlanFromOptions(o: Options): AsgiPlan {
  return {
    lifespan: oneOf(o, 'lifespan', ['auto', 'on', 'off'] as const),
    loop: oneOf(o, 'asgi-loop', ['auto', 'asyncio', 'uvloop'] as const),
    concurrency: Math.max(1, o.int('asgi-concurrency')),
    ws: {
      maxSize: o.int('ws-max-size'),
      pingIntervalMs: o.int('ws-ping-interval') * 1000,
      pingTimeoutMs: o.int('ws-ping-timeout') * 1000,
      perMessageDeflate: o.bool('ws-per-message-deflate'),
    },
  };
}

function oneOf<T extends string>(o: Options, name: string, choices: readonly T[]): T {
  const value = o.str(name) ?? choices[0];
  if (!(choices as readonly string[]).includes(value as string)) {
    throw new NuwsgiError('E_CONFIG', `${name} "${value}" is not one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** uWSGI's mount loader: a value ending in .py/.wsgi is a file; anything else `pkg.mod[:app]`, `mod:factory()`. */
function mountSpec(mountpoint: string, target: string, callable: string, base: string): AppSpec {
  if (/\.(py|wsgi)$/.test(target)) return { mountpoint, kind: 'file', target: path.resolve(base, target), callable };
  return { mountpoint, kind: 'module', target, callable };
}

/** uWSGI accepts globs in pythonpath; a pattern that matches nothing is kept as it is. */
function expandPythonpath(entry: string, base: string): string[] {
  const resolved = path.resolve(base, entry);
  if (!/[*?[]/.test(entry)) return [resolved];
  // The config layer's glob(3): no match keeps the pattern (GLOB_NOCHECK), directories end in '/'.
  return globSync(resolved, base).map((p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p));
}

function parseEnvPair(pair: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new NuwsgiError('E_CONFIG', `env "${pair}" is not KEY=VALUE`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** --dashboard and friends; the token file is resolved against --chdir like the other paths. */
export function dashboardSettingsFrom(o: Options, base: string): DashboardSettings {
  const tokenFile = o.str('dashboard-token-file');
  return {
    address: o.str('dashboard'),
    actions: o.bool('dashboard-actions'),
    token: o.str('dashboard-token'),
    tokenFile: tokenFile !== undefined ? path.resolve(base, tokenFile) : undefined,
  };
}
