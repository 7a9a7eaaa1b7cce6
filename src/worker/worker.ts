import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import { NuwsgiError } from '../util/errors';
import type { Connection, ConnectionHost } from './connection';
import { makeSchemeResolver } from './scheme';
import { WorkerObserver, type RecyclePolicy } from './observer';
import type { WorkerStatsMessage } from '../stats/worker-counters';
import type { Exchange } from './exchange';
import { serveHttpConnection } from './http-adapter';
import { serveUwsgiConnection } from './uwsgi-adapter';
import { acceptQueued, acceptRawHandles, RawTransport, SocketTransport, type StreamHandle, type Transport } from './transport';
import { PythonBridge, type AppSpec } from './python/bridge';
import type { InterpreterInfo } from './python/locate';
import { makeAppRouter } from './mounts';
import { Runner } from './runner';
import { RequestLogger } from '../logging';
import type { WorkerLogSettings } from '../logging/plan';
import type { WorkerLogTarget } from '../logging/master-log';
import { processLog } from '../util/log';
import { VERSION } from '../version';
import type { SocketProtocol, TlsFiles } from '../master/sockets';

/** A listening socket as a worker sees it. */
export interface ListenerSpec {
  fd: number;
  protocol: SocketProtocol;
  name: string;
  tls?: TlsFiles;
}

/** Everything a worker needs, serializable (the master passes it as JSON). */
export interface WorkerConfig {
  id: number;
  interpreter: InterpreterInfo;
  apps: AppSpec[];
  pythonpath: string[];
  chdir: string | undefined;
  env: Array<[string, string]>;
  multiprocess: boolean;
  bufferSize: number;
  /** Most uwsgi vars (key/value pairs) in one packet. */
  maxVars: number;
  /** The listen backlog (--listen). */
  listen: number;
  limitPost: number;
  httpTimeoutMs: number;
  socketTimeoutMs: number;
  /** Request lines and --log-date (src/logging/plan.ts). */
  logging: WorkerLogSettings;
  /** How this worker reaches the log (the master fills it in per spawn; absent in single-process mode). */
  logTarget?: WorkerLogTarget;
  manageScriptName: boolean;
  /** Listening sockets, by the fd this process holds them at. */
  listeners: ListenerSpec[];
  /** Peers whose X-Forwarded-Proto / X-Forwarded-Ssl count (--forwarded-allow-ips). */
  forwardedAllowIps: string[];
  /** When the worker asks its master for a replacement (max-requests, reload-on-rss, ...). */
  recycle: RecyclePolicy;
  /** The master's shared scoreboard (absent in single-process mode). */
  scoreboard?: { fd: number; bytes: number; row: number };
  /** Report request counters to the master each second (--stats / --metrics are on). */
  stats: boolean;
  /** --py-autoreload: seconds between scans of the imported modules' files (0 = off). */
  pyAutoreload: number;
}

/** What the master fills in per worker; the rest is the template shared by all. */
export type WorkerTemplate = Omit<WorkerConfig, 'id' | 'listeners' | 'scoreboard' | 'logTarget'>;

/** Shared region: the largest request head (64 KiB) plus the largest in-memory body. */
const SPOOL_ABOVE = 1 << 20;
const REGION_SIZE = SPOOL_ABOVE + (2 << 20);

export type LogFn = (line: string) => void;

/** How long an idle keep-alive connection may still send one request while its worker drains. */
const DRAIN_IDLE_GRACE_MS = 2000;

/**
 * A worker: one embedded interpreter, the app(s) loaded in it, and the
 * connections accepted on the shared listening sockets.
 */
export class Worker implements ConnectionHost {
  readonly config: WorkerConfig;
  private readonly logFn: LogFn;
  private runner: Runner | undefined;
  private readonly servers: net.Server[] = [];
  /** Per plain listener: accept what is queued on it now (before the drain closes it). */
  private readonly takeQueued: Array<() => number> = [];
  private readonly connections = new Set<Connection>();
  private stopping = false;
  private observer: WorkerObserver | undefined;
  /** Called once when this worker should be replaced (set by the process entry). */
  onRecycle: (reason: string) => void = () => undefined;
  private whenNoConnections: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(config: WorkerConfig, log: LogFn) {
    this.config = config;
    this.logFn = log;
  }

  /** Start the interpreter and import the app. Throws E_APP_LOAD (exit 22) when no app loads. */
  boot(): void {
    const c = this.config;
    for (const [key, value] of c.env) process.env[key] = value;
    if (c.chdir !== undefined) process.chdir(c.chdir);
    const bridge = PythonBridge.boot({
      interpreter: c.interpreter,
      pythonpath: c.pythonpath,
      multiprocess: c.multiprocess,
      multithread: false,
      version: VERSION,
      node: os.hostname(),
      regionSize: REGION_SIZE,
      // --py-autoreload implies --master: the parent is the master, and SIGHUP there is a graceful reload.
      autoreload: c.pyAutoreload > 0 ? { seconds: c.pyAutoreload, masterPid: process.ppid } : undefined,
    });
    if (c.apps.length === 0) throw noApp('no app configured (use --module, --wsgi-file or --mount)');
    c.apps.forEach((app, id) => this.loadApp(bridge, app, id));
    const observer = new WorkerObserver(c, this.onRecycle);
    this.runner = new Runner(bridge, {
      requestLog: RequestLogger.fromSettings(c.logging, processLog),
      workerId: c.id,
      log: this.logFn,
      route: makeAppRouter(c.apps, c.manageScriptName),
      scheme: makeSchemeResolver(c.forwardedAllowIps),
      observer,
    });
    this.observer = observer;
    observer.startReporting((msg) => this.onStats(msg));
  }

  /** Where stats reports go (set by the process entry; the master's IPC channel). */
  onStats: (msg: WorkerStatsMessage) => void = () => undefined;

  private loadApp(bridge: PythonBridge, app: AppSpec, id: number): void {
    const started = Date.now();
    const reason = bridge.loadApp(app);
    if (reason !== null) {
      this.logFn(`unable to load app ${id} (mountpoint='${app.mountpoint}') (${reason})\n`);
      throw noApp(`app ${id} (${app.target}) failed to load: ${reason}`);
    }
    const seconds = Math.floor((Date.now() - started) / 1000);
    const suffix = id === 0 ? ' (default app)' : '';
    this.logFn(`WSGI app ${id} (mountpoint='${app.mountpoint}') ready in ${seconds} seconds on interpreter pid: ${process.pid}${suffix}\n`);
  }

  /** Accept on every configured listening socket. */
  serve(): void {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const conn of this.connections) conn.checkDeadline(now);
      this.observer?.checkLimits(now);
    }, 1000);
    this.sweeper.unref();
    const c = this.config;
    for (const listener of c.listeners) {
      const secure = listener.tls !== undefined ? loadTlsContext(listener.tls) : undefined;
      const start = this.connectionStarter(listener.protocol, secure !== undefined);
      const server = net.createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
        const transport =
          secure === undefined
            ? new SocketTransport(socket, true)
            : new SocketTransport(new tls.TLSSocket(socket, { isServer: true, secureContext: secure }), false);
        this.adopt(transport, start);
      });
      server.on('error', (err) => this.logFn(`error on socket ${listener.name}: ${err.message}\n`));
      // The master already listens with --listen's backlog; Node's default (511) must not replace it.
      server.listen({ fd: listener.fd }, c.listen); // the handle form: only it honours a backlog
      if (secure === undefined) {
        // Plain connections skip net.Socket: served on libuv's handles (see transport.ts).
        const onHandle = (handle: StreamHandle, localPort: number): void => this.adopt(new RawTransport(handle, localPort), start);
        acceptRawHandles(server, onHandle, (errno) => this.logFn(`accept() on socket ${listener.name} failed (errno ${errno})\n`));
        this.takeQueued.push(() => acceptQueued(server, onHandle));
      }
      this.servers.push(server);
    }
  }

  /** The protocol adapter for a listener, with its options built once (not per connection). */
  private connectionStarter(protocol: SocketProtocol, secure: boolean): (transport: Transport) => Connection {
    const c = this.config;
    const timeouts = { idleMs: c.httpTimeoutMs, stallMs: c.socketTimeoutMs };
    if (protocol === 'uwsgi') {
      const opts = { bufferSize: c.bufferSize, maxVars: c.maxVars, maxBodyBytes: c.limitPost, spoolAbove: SPOOL_ABOVE, timeouts };
      return (transport) => serveUwsgiConnection(transport, this, opts);
    }
    const opts = { maxHeadBytes: c.bufferSize, maxBodyBytes: c.limitPost, spoolAbove: SPOOL_ABOVE, timeouts, scheme: secure ? ('https' as const) : ('http' as const) };
    return (transport) => serveHttpConnection(transport, this, opts);
  }

  private adopt(transport: Transport, start: (transport: Transport) => Connection): void {
    if (this.stopping) {
      transport.destroy();
      return;
    }
    this.connections.add(start(transport));
  }

  // ------------------------------------------------------------ ConnectionHost

  dispatch(ex: Exchange): void {
    (this.runner as Runner).submit(ex);
  }

  log(line: string): void {
    this.logFn(line);
  }

  onClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) this.whenNoConnections?.();
  }

  /** While draining, every response closes its connection. */
  get draining(): boolean {
    return this.stopping;
  }

  // ------------------------------------------------------------------ stopping

  /** Stop accepting, finish what is in flight, close idle connections. */
  async drain(): Promise<void> {
    // Connections already queued carry requests a balancer will not retry
    // elsewhere (a POST): take them, then close in the same tick. When this
    // worker holds the socket's last descriptor (the master closes its own at
    // a stop), it stops listening here and later connections are refused.
    const taken = this.takeQueued.reduce((n, take) => n + take(), 0);
    if (taken > 0) this.logFn(`worker ${this.config.id} took ${taken} queued connection(s) before closing its sockets\n`);
    this.stopping = true;
    for (const server of this.servers) server.close();
    this.runner?.stopKeepingAlive();
    for (const conn of this.connections) conn.drainIdle(DRAIN_IDLE_GRACE_MS);
    if (this.runner !== undefined) await this.runner.whenIdle();
    if (this.connections.size === 0) return;
    await new Promise<void>((resolve) => (this.whenNoConnections = resolve));
  }

  get requests(): number {
    return this.runner?.requests ?? 0;
  }
}

/** Read the certificate and key once per worker; a bad file stops the worker with a clear message. */
function loadTlsContext(files: TlsFiles): tls.SecureContext {
  try {
    const options: tls.SecureContextOptions = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
    if (files.ciphers !== undefined) options.ciphers = files.ciphers;
    if (files.ca !== undefined) options.ca = readFileSync(files.ca);
    return tls.createSecureContext(options);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `https: cannot load certificate ${files.cert} / key ${files.key}: ${(err as Error).message}`);
  }
}

function noApp(detail: string): NuwsgiError {
  return new NuwsgiError('E_APP_LOAD', `${detail}\n*** no app loaded. GAME OVER ***`, 22);
}
