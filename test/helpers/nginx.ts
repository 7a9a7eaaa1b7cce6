// Debian's real nginx in front of a server under test, as deployments run it:
// a complete nginx.conf written into a temp dir (pid, logs and every
// *_temp_path inside it), loopback ports only, the stock
// /etc/nginx/uwsgi_params for uwsgi_pass locations and proxy_params for
// proxy_pass ones.
//
// Every instance runs in its own process group and is registered, so a test
// that fails or forgets stop() still leaves no nginx behind (an after() hook,
// the 'exit' event and fatal signals kill what is left), like server.ts does.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { request } from './http';
import { getFreePort } from './ports';
import { killGroup, processGroupMembers } from './procs';
import { skipReason } from './system';
import { makeTempDir } from './tmp';
import { registerCleanup } from './cleanup';

export const NGINX_BIN = '/usr/sbin/nginx';
const UWSGI_PARAMS = '/etc/nginx/uwsgi_params';
const PROXY_PARAMS = '/etc/nginx/proxy_params';

export interface NginxLocation {
  /** The location prefix, e.g. "/" or "/app". */
  path: string;
  /** 'unix:/path/to.sock' or '127.0.0.1:PORT': makes this a uwsgi_pass location with the stock uwsgi_params. */
  uwsgiPass?: string;
  /** 'http://127.0.0.1:PORT' (or unix:...): a proxy_pass location with Debian's proxy_params. */
  proxyPass?: string;
  /** Extra directives inside the location, e.g. 'uwsgi_param SCRIPT_NAME /app;', 'uwsgi_modifier1 30;'. */
  extra?: string[];
}

export interface NginxServerBlock {
  /** 0 or absent: pick a free port. */
  listenPort?: number;
  locations: NginxLocation[];
  /** Extra directives at server level. */
  extra?: string[];
}

export interface NginxOptions {
  servers: NginxServerBlock[];
  /** client_max_body_size; default 64m (the e2e tests POST 10 MB). */
  clientMaxBodySize?: string;
  /** Extra directives at http level. */
  httpExtra?: string[];
  /** How long nginx may take until every port accepts. Default 15 s. */
  deadlineMs?: number;
}

export interface NginxInstance {
  /** The port of each server block, in order. */
  readonly ports: number[];
  /** ports[0] */
  readonly port: number;
  /** The temp dir holding nginx.conf, logs, pid and temp paths. */
  readonly dir: string;
  readonly confPath: string;
  readonly pid: number;
  /** nginx's stdout/stderr, error.log and access.log, for failure messages. */
  logs(): string;
  errorLog(): string;
  accessLog(): string;
  /** Stops nginx (SIGQUIT: graceful, then SIGKILL to the group at the deadline); no process is left. */
  stop(): Promise<void>;
}

/** Why nginx tests cannot run here, or undefined. */
export function nginxSkipReason(): string | undefined {
  if (!existsSync(NGINX_BIN)) return skipReason({ debPackages: ['nginx'] }) ?? `${NGINX_BIN} not found (apt-get install nginx)`;
  if (!existsSync(UWSGI_PARAMS)) return `${UWSGI_PARAMS} not found (Debian's nginx-common package)`;
  return undefined;
}

// ---------------------------------------------------------------------------
// Config

function indent(lines: readonly string[], depth: number): string {
  const pad = '    '.repeat(depth);
  return lines.map((l) => `${pad}${l}\n`).join('');
}

function locationBlock(loc: NginxLocation): string[] {
  const body: string[] = [];
  if (loc.uwsgiPass !== undefined) body.push(`include ${UWSGI_PARAMS};`, `uwsgi_pass ${loc.uwsgiPass};`);
  if (loc.proxyPass !== undefined) {
    if (existsSync(PROXY_PARAMS)) body.push(`include ${PROXY_PARAMS};`);
    body.push(`proxy_pass ${loc.proxyPass};`);
  }
  body.push(...(loc.extra ?? []));
  return [`location ${loc.path} {`, ...body.map((l) => `    ${l}`), '}'];
}

/** Answered by nginx itself: readiness without touching the backend. */
export const READY_PATH = '/__nginx_harness_ready';

function serverBlock(server: NginxServerBlock, port: number): string[] {
  return [
    'server {',
    `    listen 127.0.0.1:${port};`,
    '    server_name localhost;',
    `    location = ${READY_PATH} { access_log off; return 204; }`,
    ...(server.extra ?? []).map((l) => `    ${l}`),
    ...server.locations.flatMap(locationBlock).map((l) => `    ${l}`),
    '}',
  ];
}

/**
 * The whole nginx.conf. `daemon off` keeps the master as our child (so we own
 * its lifetime); the master/worker split is kept because that is how nginx
 * runs in production. As root, workers would drop to "nobody" and could not
 * reach sockets in our 0700 temp dirs, so they stay root there; as another
 * user no `user` directive is allowed at all.
 */
export function renderNginxConf(opts: NginxOptions, ports: readonly number[], dir: string): string {
  const isRoot = process.getuid?.() === 0;
  const temp = (name: string): string => join(dir, 'temp', name);
  const http = [
    `access_log ${join(dir, 'access.log')};`,
    `client_body_temp_path ${temp('client_body')};`,
    `proxy_temp_path ${temp('proxy')};`,
    `fastcgi_temp_path ${temp('fastcgi')};`,
    `uwsgi_temp_path ${temp('uwsgi')};`,
    `scgi_temp_path ${temp('scgi')};`,
    `client_max_body_size ${opts.clientMaxBodySize ?? '64m'};`,
    'default_type application/octet-stream;',
    ...(opts.httpExtra ?? []),
    ...opts.servers.flatMap((s, i) => serverBlock(s, ports[i] ?? 0)),
  ];
  return (
    `# Written by test/helpers/nginx.ts\n` +
    (isRoot ? 'user root root;\n' : '') +
    'daemon off;\nmaster_process on;\nworker_processes 1;\n' +
    `pid ${join(dir, 'nginx.pid')};\n` +
    `error_log ${join(dir, 'error.log')} info;\n` +
    'events {\n    worker_connections 1024;\n}\n' +
    `http {\n${indent(http, 1)}}\n`
  );
}

// ---------------------------------------------------------------------------
// Process

const live = new Set<NginxProcess>();

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

class NginxProcess implements NginxInstance {
  readonly pid: number;
  private output = '';
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  private stopping: Promise<void> | undefined;
  private exitWaiters: Array<() => void> = [];

  constructor(
    proc: ChildProcess,
    readonly ports: number[],
    readonly dir: string,
    readonly confPath: string,
  ) {
    this.pid = proc.pid as number;
    const onData = (d: Buffer): void => {
      this.output += d.toString('utf8');
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  get port(): number {
    return this.ports[0] ?? 0;
  }

  get exited(): boolean {
    return this.exitCode !== undefined || this.exitSignal !== null;
  }

  errorLog(): string {
    return readOr(join(this.dir, 'error.log'));
  }

  accessLog(): string {
    return readOr(join(this.dir, 'access.log'));
  }

  logs(): string {
    const exit = this.exited ? `\n--- exited: code ${String(this.exitCode)} signal ${String(this.exitSignal)}` : '';
    return `--- nginx output${exit}\n${this.output}\n--- error.log\n${this.errorLog().slice(-6000)}\n--- access.log\n${this.accessLog().slice(-3000)}`;
  }

  /** Resolves true when the master exited within ms. */
  waitExit(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.exitWaiters = this.exitWaiters.filter((w) => w !== done);
        resolve(this.exited);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.exitWaiters.push(done);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  killNow(): void {
    killGroup(this.pid, 'SIGKILL');
  }

  private async doStop(): Promise<void> {
    // SIGQUIT: graceful shutdown (workers finish their requests); TERM would cut them.
    if (!this.exited) {
      try {
        process.kill(this.pid, 'SIGQUIT');
      } catch {
        /* already gone */
      }
      if (!(await this.waitExit(10_000))) this.killNow();
      await this.waitExit(5_000);
    }
    // Workers normally exit with the master; anything left in the group is killed.
    const deadline = Date.now() + 5_000;
    while (processGroupMembers(this.pid).length > 0 && Date.now() < deadline) {
      this.killNow();
      await new Promise((r) => setTimeout(r, 20));
    }
    live.delete(this);
  }
}

function killAllNow(): void {
  for (const n of live) n.killNow();
  live.clear();
}

/** Stops every nginx this process started and did not stop. */
export async function stopAllNginx(): Promise<void> {
  const left = [...live];
  for (const n of left) process.stderr.write(`warning: nginx (pid ${n.pid}) was still running after the tests; stopping it\n`);
  await Promise.all(left.map((n) => n.stop()));
}

registerCleanup(killAllNow, stopAllNginx);

/**
 * Polls GET READY_PATH until nginx answers it; throws when nginx exits or at
 * the deadline. A connect alone is not enough: the master listens before it
 * forks the worker that will answer.
 */
async function waitAnswering(n: NginxProcess, port: number, deadline: number): Promise<void> {
  let backoff = 10;
  let last = '';
  for (;;) {
    if (n.exited) throw new Error(`nginx exited before port ${port} accepted`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`nginx: port ${port} not accepting (${last})`);
    try {
      const res = await request(port, { path: READY_PATH, headers: { Connection: 'close' }, timeoutMs: Math.min(left, 2_000) });
      if (res.status === 204) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    // Wake early if nginx dies meanwhile.
    await n.waitExit(Math.min(backoff, Math.max(0, deadline - Date.now())));
    backoff = Math.min(backoff * 2, 200);
  }
}

/** The ports to write into the config: the given ones, or free ones for 0/absent. */
async function choosePorts(servers: readonly NginxServerBlock[]): Promise<number[]> {
  const ports: number[] = [];
  for (const s of servers) {
    let p = s.listenPort ?? 0;
    // nginx cannot report a port it picked, so take a free one; a lost race is retried by startNginx.
    while (p === 0 || ports.includes(p)) p = await getFreePort();
    ports.push(p);
  }
  return ports;
}

async function startOnce(opts: NginxOptions): Promise<NginxProcess | 'port-race'> {
  const dir = makeTempDir('nuwsgi-nginx-');
  mkdirSync(join(dir, 'temp'));
  const ports = await choosePorts(opts.servers);
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, renderNginxConf(opts, ports, dir));
  // -e: the error log before the config is read (else /var/log/nginx/error.log, unwritable for non-root).
  const proc = spawn(NGINX_BIN, ['-c', confPath, '-p', dir, '-e', join(dir, 'error.log')], {
    detached: true, // own process group: stop() reaches the workers too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) {
    const err = await new Promise<Error>((resolve) => proc.once('error', resolve));
    throw new Error(`cannot start ${NGINX_BIN}: ${err.message}`);
  }
  const n = new NginxProcess(proc, ports, dir, confPath);
  live.add(n);
  try {
    const deadline = Date.now() + (opts.deadlineMs ?? 15_000);
    for (const port of ports) await waitAnswering(n, port, deadline);
    return n;
  } catch (err) {
    await n.stop();
    const logs = n.logs();
    // Someone took a port between getFreePort() and nginx's bind(): try again with new ones.
    if (/bind\(\) to 127\.0\.0\.1:\d+ failed \(98/.test(logs)) return 'port-race';
    throw new Error(`${(err as Error).message}\n${logs}\n--- nginx.conf\n${readOr(confPath)}`);
  }
}

/**
 * Starts nginx and waits until every server's port accepts connections.
 * Skip tests with nginxSkipReason() first.
 */
export async function startNginx(opts: NginxOptions): Promise<NginxInstance> {
  if (opts.servers.length === 0) throw new Error('startNginx: at least one server block is needed');
  for (let attempt = 1; ; attempt++) {
    const r = await startOnce(opts);
    if (r !== 'port-race') return r;
    if (attempt === 3) throw new Error('nginx: lost the race for a free port 3 times');
  }
}
