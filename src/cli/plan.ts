import path from 'node:path';
import type { Options } from '../config/options';
import type { SocketProtocol } from '../master/sockets';
import type { AppSpec } from '../worker/python/bridge';
import { NuwsgiError } from '../util/errors';
import { expandGlob } from '../util/glob';

/** What the options say to run, before anything is bound or spawned. */
export interface ServerPlan {
  sockets: Array<{ protocol: SocketProtocol; spec: string }>;
  apps: AppSpec[];
  pythonpath: string[];
  python: string | undefined;
  home: string | undefined;
  chdir: string | undefined;
  env: Array<[string, string]>;
  master: boolean;
  processes: number;
  listen: number;
  bufferSize: number;
  maxVars: number;
  limitPost: number;
  httpTimeoutMs: number;
  socketTimeoutMs: number;
  logRequests: boolean;
  workerReloadMercyMs: number;
}

export function planFromOptions(o: Options, cwd: string): ServerPlan {
  const chdir = o.str('chdir');
  const base = chdir !== undefined ? path.resolve(cwd, chdir) : cwd;
  return {
    sockets: [
      ...o.list('http-socket').map((spec) => ({ protocol: 'http' as const, spec })),
      ...o.list('socket').map((spec) => ({ protocol: 'uwsgi' as const, spec })),
    ],
    apps: appsFromOptions(o, base),
    pythonpath: o.list('pythonpath').flatMap((p) => expandPythonpath(p, base)),
    python: o.str('python'),
    home: o.str('home'),
    chdir: chdir !== undefined ? base : undefined,
    env: o.list('env').map(parseEnvPair),
    master: o.bool('master'),
    processes: Math.max(1, o.int('processes')),
    listen: o.int('listen'),
    bufferSize: o.int('buffer-size'),
    maxVars: o.int('max-vars'),
    limitPost: o.int('limit-post'),
    httpTimeoutMs: o.int('http-timeout') * 1000,
    socketTimeoutMs: o.int('socket-timeout') * 1000,
    logRequests: !o.bool('disable-logging'),
    workerReloadMercyMs: 60_000,
  };
}

function appsFromOptions(o: Options, base: string): AppSpec[] {
  const callable = o.str('callable') ?? 'application';
  const apps: AppSpec[] = [];
  const file = o.str('wsgi-file');
  const module = o.str('module');
  if (file !== undefined) apps.push({ mountpoint: '', kind: 'file', target: path.resolve(base, file), callable });
  else if (module !== undefined) apps.push(moduleSpec('', module, callable, base));
  return apps;
}

/** `pkg.mod:app`, `pkg.mod`, `mod:factory()`; a path ending in .py/.wsgi is a file (as uWSGI does). */
function moduleSpec(mountpoint: string, target: string, callable: string, base: string): AppSpec {
  if (/\.(py|wsgi)$/.test(target)) return { mountpoint, kind: 'file', target: path.resolve(base, target), callable };
  return { mountpoint, kind: 'module', target, callable };
}

/** uWSGI accepts globs in pythonpath; a pattern that matches nothing is kept as it is. */
function expandPythonpath(entry: string, base: string): string[] {
  const resolved = path.resolve(base, entry);
  if (!/[*?[]/.test(entry)) return [resolved];
  const matches = expandGlob(resolved);
  return matches.length > 0 ? matches : [resolved];
}

function parseEnvPair(pair: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new NuwsgiError('E_CONFIG', `env "${pair}" is not KEY=VALUE`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}
