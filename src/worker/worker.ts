import { readFileSync } from 'node:fs';
import net from 'node:net';
import type * as Tls from 'node:tls';
import os from 'node:os';
import { NuwsgiError } from '../util/errors';
import type { Connection, ConnectionHost } from './connection';
import { makeSchemeResolver } from './scheme';
import { WorkerObserver } from './observer';
import type { WorkerStatsMessage } from '../stats/worker-report';
import type { Exchange } from './exchange';
import { serveHttpConnection } from './http-adapter';
import { serveUwsgiConnection } from './uwsgi-adapter';
import { acceptQueued as acceptAllQueued, acceptRawHandles, SocketTransport, type RawListener, type RawTransport, type Transport } from './transport';
import { PythonBridge, type AppSpec } from './python/bridge';
import { makeAppRouter } from './mounts';
import { InlineRunner, type Runner, type RunnerOptions } from './runner';
import type { AsgiRunner } from './asgi/asgi-runner';
import { appInterface, type AppInterface } from './asgi/interface';
import type { StaticServer, StaticHost } from './static/server';
import { requestLogRecord, type LoggedOutcome } from './access-log';
import { RequestLogger } from '../logging';
import { workerRequestLog } from '../logging/worker-log';
import { processLog } from '../util/log';
import { VERSION } from '../version';
import type { TlsFiles } from '../master/sockets';
import type { SocketProtocol } from '../master/sockets';
import type { WorkerConfig } from '../contracts/worker-config';
import { addedHeaderBlock, type ExchangeOptions } from './exchange-options';
import { BodyBudget } from './body';
import { AcceptBackoff } from './accept-backoff';
import { AcceptLock } from './accept-lock';
import { MemoryTrimmer } from './memory-trim';
import { Reservations } from './reservations';
import { readFdLimit } from '../util/fd-limit';
import { socketAddress } from './sockaddr';
import { errnoWords } from '../util/libc';

/**
 * A connection waking the loop this soon (ms) after the inline refill found
 * the listen queues empty means they fill again: a loop turn takes a few µs,
 * a client's next connection (nginx's, behind a sequential client) more.
 */
const REFILL_RETRY_MS = 0.02;

export type { ListenerSpec, WorkerConfig, WorkerTemplate } from '../contracts/worker-config';

/** Shared region: the largest in-memory body (below --post-buffering) plus room for the request head and the response. */
const regionSize = (exchange: ExchangeOptions): number => exchange.spoolAtBytes + (2 << 20);

export type LogFn = (line: string) => void;

/** How long an idle keep-alive connection may still send one request while its worker drains. */
const DRAIN_IDLE_GRACE_MS = 2000;
/** Most connections the inline runner's worker takes after libuv's in one callback, while each is answered without Python (the pump's REFILL_MAX). */
const INLINE_ACCEPT_MAX = 7;
/** Descriptors kept free for what is not a connection: body spool files, log reopening, the app's own files. */
const FD_HEADROOM = 16;
/**
 * How long a connection accepted on a unix socket before its first request
 * keeps a core promised (reservations.ts): a local proxy writes within
 * microseconds of its connect (nginx), or at its next event-loop turn. Short,
 * so that silent connections slow this worker's accepting down little.
 */
const RESERVE_MS = 10;
/** After a promise was lost (it lapsed, or its connection closed before a request), none is made for this long (reservations.ts). */
const RESERVE_SUSPEND_MS = 1000;

/**
 * A worker: one embedded interpreter, the app(s) loaded in it, and the
 * connections accepted on the shared listening sockets.
 */
/**
 * What only some configurations use loads when one does (static files,
 * threads, ASGI): a plain WSGI worker starts faster and keeps less.
 */
const lazy = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  staticServer: (): typeof import('./static/server') => require('./static/server') as typeof import('./static/server'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  threadedRunner: (): typeof import('./threaded-runner') => require('./threaded-runner') as typeof import('./threaded-runner'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  asgiRunner: (): typeof import('./asgi/asgi-runner') => require('./asgi/asgi-runner') as typeof import('./asgi/asgi-runner'),
};

export class Worker implements ConnectionHost, StaticHost {
  readonly config: WorkerConfig;
  private readonly logFn: LogFn;
  private runner: Runner | undefined;
  private statics: StaticServer | undefined;
  private asgiRunner: AsgiRunner | undefined;
  private requestLog: RequestLogger | undefined;
  private readonly servers: net.Server[] = [];
  /** Listeners this worker pauses while no core is free (docs/architecture.md, "Dispatch and cores"). */
  private readonly listeners: RawListener[] = [];
  /** Per plain listener: accept what is queued on it now (before the drain closes it). */
  private readonly takeQueued: Array<() => number> = [];
  /** Per server (same order): its raw listener, null for TLS ones. */
  private readonly rawListenerOf: Array<RawListener | null> = [];
  private readonly connections = new Set<Connection>();
  private stopping = false;
  /** Past reload-on-rss: takes no new connections or requests while its replacement starts. */
  private retiring = false;
  /** --body-buffer-budget, shared by all this worker's connections. */
  private readonly bodyBudget: BodyBudget;
  /** After a burst: garbage collected, malloc_trim, and the idle ASGI slots' pages given back. */
  private readonly trimmer = new MemoryTrimmer(undefined, () => this.asgiRunner?.releaseIdleMemory());
  /** accept() failing (EMFILE...): logged once per interval, listeners paused a while. */
  private readonly acceptBackoff: AcceptBackoff;
  /** --thunder-lock: watch the listeners only while holding the instance's accept lock (accept-lock.ts). */
  private lock: AcceptLock | undefined;
  private observer: WorkerObserver | undefined;
  /** Cores promised to connections whose first request has not arrived yet. */
  private readonly reservations = new Reservations<Connection>(RESERVE_MS, RESERVE_SUSPEND_MS, () => this.resumeAccepting());
  /** Called once when this worker should be replaced (set by the process entry). */
  onRecycle: (reason: string) => void = () => undefined;
  private whenNoConnections: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** Its cores once booted: --threads, or an ASGI worker's slots (--asgi-concurrency). */
  cores = 0;

  constructor(config: WorkerConfig, log: LogFn) {
    this.config = config;
    this.logFn = log;
    this.bodyBudget = new BodyBudget(config.exchange.bodyBudgetBytes);
    this.acceptBackoff = new AcceptBackoff({
      log,
      pause: () => this.stopWatching(),
      resume: () => this.resumeAccepting(),
    });
  }

  /**
   * --env, then --chdir: the process the app will run in. Before the
   * post-fork and pre-app hooks, so a hook's `chdir:` wins, as in uWSGI
   * (Zulip's `hook-post-fork = chdir:...` under `chdir = /`).
   */
  enterEnvironment(): void {
    const c = this.config;
    for (const [key, value] of c.env) process.env[key] = value;
    if (c.chdir !== undefined) enterDirectory(c.chdir);
  }

  /** Start the interpreter and import the app (after enterEnvironment). Throws E_APP_LOAD (exit 22) when no app loads. */
  boot(): void {
    const c = this.config;
    const bridge = PythonBridge.boot({
      interpreter: c.interpreter,
      pythonpath: c.pythonpath,
      multiprocess: c.multiprocess,
      multithread: c.threads > 1,
      version: VERSION,
      node: os.hostname(),
      regionSize: regionSize(c.exchange),
      responseHeaders: { add: c.exchange.addHeaders, del: c.exchange.delHeaders },
      cores: c.threads,
      // --py-autoreload implies --master: the parent is the master, and SIGHUP there is a graceful reload.
      autoreload: c.pyAutoreload > 0 ? { seconds: c.pyAutoreload, masterPid: process.ppid } : undefined,
    });
    if (c.apps.length === 0) throw noApp('no app configured (use --module, --wsgi-file, --asgi or --mount)');
    const interfaces = c.apps.map((app, id) => this.loadApp(bridge, app, id));
    const asgi = c.asgi ?? { lifespan: 'auto', loop: 'auto', concurrency: 100 };
    // An ASGI worker's cores are its slots: each request in flight has its own place in the scoreboard.
    const cores = (this.cores = interfaces.includes('asgi') ? asgi.concurrency : c.threads);
    const room = c.scoreboard?.rowCores ?? cores;
    // A reload raised --asgi-concurrency past the rows the master made at its start: say what is not watched.
    if (cores > room) this.logFn(`*** WARNING: ${cores} cores but the scoreboard has room for ${room} (sized when the master started): harakiri and the stats do not see cores past ${room - 1} until a restart ***\n`);
    const observer = new WorkerObserver(c, cores, (reason, retire) => {
      if (retire) this.retire();
      this.onRecycle(reason);
    });
    this.requestLog = RequestLogger.fromSettings(c.logging, workerRequestLog(c.logTarget) ?? processLog);
    if (c.static !== undefined) this.statics = new (lazy.staticServer().StaticServer)(c.static, this);
    const runnerOptions: RunnerOptions = {
      requestLog: this.requestLog,
      workerId: c.id,
      log: this.logFn,
      route: makeAppRouter(c.apps, c.manageScriptName),
      scheme: makeSchemeResolver(c.forwardedAllowIps),
      observer,
      addedHeaders: addedHeaderBlock(c.exchange),
      writeErrors: c.exchange,
      appFile: this.statics !== undefined && (c.static?.xSendfileDirs.length ?? 0) > 0 ? this.statics.serveAppFile.bind(this.statics) : undefined,
    };
    if (interfaces.includes('asgi')) {
      const ws = asgi.ws ?? { maxSize: 16 << 20, pingIntervalMs: 20_000, pingTimeoutMs: 20_000, perMessageDeflate: true };
      this.runner = this.asgiRunner = new (lazy.asgiRunner().AsgiRunner)(bridge, { ...asgi, ws, threads: c.threads }, interfaces, runnerOptions);
    } else if (c.threads > 1) {
      const threaded = new (lazy.threadedRunner().ThreadedRunner)(bridge, c.threads, c.threadStackKiB, runnerOptions, c.threadsFollowLoop === true);
      threaded.refill = () => this.acceptQueuedWhilePaused();
      this.runner = threaded;
    } else {
      const inline = new InlineRunner(bridge, runnerOptions);
      inline.refill = () => this.acceptQueued();
      // Python is about to block the loop: another idle worker watches the listeners meanwhile.
      inline.beforeRun = () => {
        if (this.lock !== undefined) this.stopWatching();
      };
      this.runner = inline;
    }
    this.runner.onCoreFree = () => this.resumeAccepting(true);
    this.runner.onFull = () => this.stopWatching();
    this.observer = observer;
    observer.startReporting((msg) => this.onStats(msg));
  }

  /** Where stats reports go (set by the process entry; the master's IPC channel). */
  onStats: (msg: WorkerStatsMessage) => void = () => undefined;

  private loadApp(bridge: PythonBridge, app: AppSpec, id: number): AppInterface {
    const started = Date.now();
    const reason = bridge.loadApp(app);
    if (reason !== null) {
      this.logFn(`unable to load app ${id} (mountpoint='${app.mountpoint}') (${reason})\n`);
      throw noApp(`app ${id} (${app.target}) failed to load: ${reason}`);
    }
    const iface = appInterface(bridge, app, id);
    const seconds = Math.floor((Date.now() - started) / 1000);
    const suffix = id === 0 ? ' (default app)' : '';
    this.logFn(`${iface === 'asgi' ? 'ASGI' : 'WSGI'} app ${id} (mountpoint='${app.mountpoint}') ready in ${seconds} seconds on interpreter pid: ${process.pid}${suffix}\n`);
    return iface;
  }

  /** False once the threaded runner's refill found no connection queued, until one is accepted again. */
  private mayHaveQueued = true;

  /** Accepted descriptors at or above this leave too few for spool files, logs and the app. */
  private fdCeiling = Infinity;

  /** Accept on every configured listening socket. */
  serve(): void {
    const limit = readFdLimit()?.soft ?? Infinity;
    this.fdCeiling = limit - FD_HEADROOM;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const conn of this.connections) conn.checkDeadline(now);
      this.observer?.checkLimits(now);
      this.trimmer.maybeTrim(this.bodyBudget); // after a burst of big bodies, give their memory back
    }, 1000);
    this.sweeper.unref();
    const c = this.config;
    for (const listener of c.listeners) {
      const secure = listener.tls !== undefined ? loadTlsContext(listener.tls) : undefined;
      const TLSSocket = secure !== undefined ? tlsModule().TLSSocket : undefined;
      const start = this.connectionStarter(listener.protocol, secure !== undefined);
      const server = net.createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
        const transport =
          TLSSocket === undefined
            ? new SocketTransport(socket, true)
            : new SocketTransport(new TLSSocket(socket, { isServer: true, secureContext: secure }), false);
        this.adopt(transport, start);
      });
      server.on('error', (err: NodeJS.ErrnoException) => {
        // accept() failing on a TLS socket (no raw listener): the same once-per-interval line and back-off.
        if (err.syscall === 'accept' && err.errno !== undefined) this.acceptBackoff.failed(err.errno, listener.name);
        else this.logFn(`error on socket ${listener.name}: ${err.message}\n`);
      });
      // The master already listens with --listen's backlog; Node's default (511) must not replace it.
      server.listen({ fd: listener.fd }, c.listen); // the handle form: only it honours a backlog
      if (secure === undefined) {
        // Only a unix socket's connections may hold a core promised (reservations.ts): on TCP, TCP_DEFER_ACCEPT
        // already keeps a connection out of accept() until its bytes arrive, and a slow head there (slowloris)
        // must not slow this worker's accepting down.
        const name = socketAddress(listener.fd, 'getsockname');
        const local = name !== null && name.address === undefined; // AF_UNIX
        // Plain connections skip net.Socket: served on libuv's handles (see transport.ts).
        const onAccepted = (transport: RawTransport): void => {
          this.mayHaveQueued = true;
          this.adopt(transport, start, local);
          // Descriptors are allocated lowest first: this one this high means
          // at most FD_HEADROOM are left. Stop accepting before accept(2)
          // fails, since libuv then silently accepts and closes every queued
          // connection (its "EMFILE trick"); they wait in the queue instead.
          if (transport.fd >= this.fdCeiling) this.acceptBackoff.failed(-os.constants.errno.EMFILE, listener.name);
        };
        const ownWatch = this.runner instanceof InlineRunner;
        const raw = acceptRawHandles(server, onAccepted, (errno) => this.acceptBackoff.failed(errno, listener.name), this.acceptPolicy, { ownWatch });
        if (raw !== null) this.listeners.push(raw);
        this.rawListenerOf.push(raw);
        this.takeQueued.push(() => acceptAllQueued(server, onAccepted));
      } else {
        this.rawListenerOf.push(null);
      }
      this.servers.push(server);
    }
    this.startAcceptLock();
  }

  /**
   * --thunder-lock (under a master: the lock is its scoreboard file): the
   * listeners are watched only while this worker holds the lock, so a new
   * connection wakes one idle worker. TLS listeners have no raw listener to
   * pause and stay watched by every worker.
   */
  private startAcceptLock(): void {
    const c = this.config;
    if (!c.thunderLock || c.scoreboard === undefined || this.listeners.length === 0) return;
    this.lock = new AcceptLock(c.scoreboard.fd, { acquired: () => this.lockAcquired(), log: this.logFn });
    this.pauseListeners();
    this.resumeAccepting();
  }

  private lockAcquired(): void {
    if (this.wantsConnections()) for (const listener of this.listeners) listener.resume();
    else this.lock?.release();
  }

  /** A core could start a new connection's request now (for the lock: not just "not holding the core"). */
  private wantsConnections(): boolean {
    return this.canAccept() && this.coresForNew() > 0;
  }

  /** Free cores not promised to a connection already taken (reservations.ts). */
  private coresForNew(): number {
    return (this.runner?.freeCores ?? 0) - this.reservations.count;
  }

  /**
   * Stop watching the listeners and let another worker have the lock. The
   * inline runner also gives up a wait in progress: its loop blocks in Python,
   * and a lock granted meanwhile would sit unused until the app returns.
   */
  private stopWatching(): void {
    this.pauseListeners();
    if (this.runner instanceof InlineRunner || this.stopping || this.retiring) this.lock?.releaseAndAbandon();
    else this.lock?.release();
  }

  /** With the lock, a paused listener leaves the epoll set at once: it wakes this worker no more. */
  private pauseListeners(): void {
    const now = this.lock !== undefined;
    for (const listener of this.listeners) listener.pause(now);
  }

  /** After a batch of accepts: the lock goes to the next idle worker; this one asks again if a core is still free. */
  private afterAccepting(): void {
    const lock = this.lock;
    if (lock === undefined || !lock.mayWatch) return;
    this.pauseListeners();
    lock.release();
    this.resumeAccepting();
  }

  /** The protocol adapter for a listener, with its options built once (not per connection). */
  private connectionStarter(protocol: SocketProtocol, secure: boolean): (transport: Transport) => Connection {
    const c = this.config;
    const x = c.exchange;
    const timeouts = {
      idleMs: c.httpTimeoutMs, stallMs: c.socketTimeoutMs,
      headerMs: x.headerTimeoutMs, bodyGraceMs: x.bodyGraceMs, bodyMinRate: x.bodyMinRate,
    };
    const spool = { spoolAtBytes: x.spoolAtBytes, spoolWriteBytes: x.spoolWriteBytes, budget: this.bodyBudget };
    if (protocol === 'uwsgi') {
      const opts = { bufferSize: c.bufferSize, maxVars: c.maxVars, maxBodyBytes: c.limitPost, spool, timeouts };
      return (transport) => serveUwsgiConnection(transport, this, opts);
    }
    // --http-keepalive N: how long a kept-alive connection may wait for its next request, as uWSGI's router.
    const idleMs = c.exchange.keepAliveIdleSeconds > 0 ? c.exchange.keepAliveIdleSeconds * 1000 : timeouts.idleMs;
    const opts = {
      maxHeadBytes: c.bufferSize, maxBodyBytes: c.limitPost, spool, timeouts: { ...timeouts, idleMs },
      scheme: secure ? ('https' as const) : ('http' as const), keepAlive: c.exchange.keepAlive,
    };
    return (transport) => serveHttpConnection(transport, this, opts);
  }

  private adopt(transport: Transport, start: (transport: Transport) => Connection, mayReserve = false): void {
    if (this.stopping) {
      transport.destroy();
      return;
    }
    const conn = start(transport);
    // Its request did not come with it (the eager read found nothing, or part of a head): a core waits for it.
    if (mayReserve && conn.awaitingFirstRequest && this.reservations.add(conn) && !this.canAccept()) this.stopWatching();
    this.lastAdopted = conn;
    this.connections.add(conn);
    this.trimmer.connections(this.connections.size);
  }

  /** The connection accepted last, for the inline accept policy below. */
  private lastAdopted: Connection | null = null;
  /** Connections taken after libuv's in the current listener callback (inline runner). */
  private takenWithoutCore = 0;

  /**
   * Inline runner: whether the connection accepted last was answered without
   * Python (a static file, an error) and closed in the same call. Not one still
   * open: with nothing read yet, or part of a request, it may queue for the
   * core later, and connections accepted meanwhile would wait for it (a kill
   * -9 loses them all). A keep-alive static client stays open, but it is
   * accepted once for many requests: the batch only matters for closes.
   */
  private lastAnsweredWithoutCore(): boolean {
    return this.lastAdopted?.closed === true;
  }

  // ------------------------------------------------------------ dispatching

  /**
   * Inline (threads = 1): libuv's one connection per loop turn, and the
   * runner's refill takes more only once the core is free again; the listener
   * pauses only while a streaming response holds the core. A connection
   * answered without Python (static files) leaves the core free and starts no
   * pump, so up to INLINE_ACCEPT_MAX more are taken right away while each is
   * answered the same way: one per loop turn cost every static `Connection:
   * close` request a libuv handle, an epoll_pwait and an epoll_ctl.
   * Threaded: take connections while a core is idle and not promised to a
   * queued request, pause when none is.
   */
  private readonly acceptPolicy = {
    more: (): boolean => {
      const runner = this.runner;
      if (runner === undefined || !this.accepting || this.acceptBackoff.backingOff || runner.freeCores <= 0) return false;
      if (!(runner instanceof InlineRunner)) return this.coresForNew() > 0;
      return this.takenWithoutCore++ < INLINE_ACCEPT_MAX && this.lastAnsweredWithoutCore();
    },
    full: (): boolean => !this.canAccept(),
    woke: (): void => this.wokeForConnection(),
    taken: (): void => {
      this.takenWithoutCore = 0;
      this.lastAdopted = null;
      this.afterAccepting();
    },
  };

  private canAccept(): boolean {
    const runner = this.runner;
    if (runner === undefined || !this.accepting || this.acceptBackoff.backingOff) return false;
    if (runner instanceof InlineRunner) return !runner.holdingCore && this.reservations.count === 0;
    return this.coresForNew() > 0;
  }

  /** Whether the refill asks the kernel (see acceptQueued). */
  private refillLikely = true;
  /** performance.now() when the refill last found the queues empty, or did not ask. */
  private refillGaveUpAt = -Infinity;

  /**
   * Inline runner's refill: one connection already queued in the kernel, if
   * any, from the first listener that has one. Once the queues were found
   * empty it stops asking (each ask an accept4 failing with EAGAIN: one per
   * request when connections come one at a time) until a connection wakes
   * the loop within REFILL_RETRY_MS of that: then they fill faster than this
   * worker empties them, and taking them in the pump saves loop turns again.
   */
  private acceptQueued(): boolean {
    if (!this.canAccept()) return false;
    if (this.refillLikely) {
      for (const listener of this.listeners) if (listener.acceptOne()) return true;
      this.refillLikely = false;
    }
    this.refillGaveUpAt = performance.now();
    return false;
  }

  /** A listener woke the loop: right after the refill gave up, the queue is filling again. */
  private wokeForConnection(): void {
    if (!this.refillLikely && performance.now() - this.refillGaveUpAt < REFILL_RETRY_MS) this.refillLikely = true;
  }

  /**
   * Threaded runner's refill: one connection queued in the kernel behind a
   * paused listener, if any (a watched one is libuv's: epoll reports it).
   * After one attempt finds none, none is made until a connection arrives
   * again: keep-alive clients connect once, and an accept4 that finds
   * nothing after every request is a syscall for nothing.
   */
  private acceptQueuedWhilePaused(): boolean {
    if (!this.mayHaveQueued || !this.accepting || this.acceptBackoff.backingOff || this.coresForNew() <= 0) return false;
    for (const listener of this.listeners) if (listener.paused && listener.acceptOne()) return true;
    this.mayHaveQueued = false;
    return false;
  }

  /** `afterBusy`: a core just finished (the lock is likely free if every worker is busy). */
  private resumeAccepting(afterBusy = false): void {
    if (!this.canAccept()) return;
    const lock = this.lock;
    if (lock !== undefined && !lock.mayWatch) {
      if (this.wantsConnections()) lock.acquire(afterBusy); // lockAcquired() resumes the listeners
      return;
    }
    for (const listener of this.listeners) listener.resume();
  }

  // ------------------------------------------------------------ ConnectionHost

  dispatch(ex: Exchange): void {
    // HTTP requests build their variables and learn the peer's address on first use; the request log needs both,
    // and a connection closed after its response no longer has an address: take them now.
    // (uwsgi requests carry their vars in the packet: made only if something reads them.)
    const http = ex.head !== undefined;
    if (http && this.requestLog?.active === true) void ex.vars;
    // STATIC HOOK: a request for a static file is answered by Node here and never reaches Python.
    if (this.statics !== undefined && this.statics.tryServe(ex)) return;
    // The variables are built when a runner first asks, while the connection is open (a closed one is not started):
    // an ASGI app without mountpoints never needs them.
    (this.runner as Runner).submit(ex);
  }

  /** StaticHost: a static response is over. The one place static_requests is counted. */
  staticDone(ex: Exchange, o: LoggedOutcome): void {
    // uWSGI's worker request counter includes static files ("req: -1/N").
    this.observer?.staticFinished(ex, o);
    const log = this.requestLog;
    if (log === undefined || !log.active) return;
    ex.appId = -1; // uWSGI logs static files as "app: -1|req: -1/N"
    log.log(requestLogRecord(ex, o, { workerId: this.config.id, appRequests: -1, workerRequests: this.observer?.requests ?? 0 }));
  }

  log(line: string): void {
    this.logFn(line);
  }

  /**
   * A promised core is taken by the request it waited for (dispatched by now: a
   * static answer left it free), or free again (the connection closed first).
   */
  reservationEnded(conn: Connection, started: boolean): void {
    this.reservations.end(conn, started);
    this.resumeAccepting();
  }

  onClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.acceptBackoff.fdFreed();
    this.trimmer.connections(this.connections.size);
    if (this.connections.size === 0) this.whenNoConnections?.();
  }

  /** While draining (or retiring), every response closes its connection. */
  get draining(): boolean {
    return this.stopping || this.retiring;
  }

  /** ASGI apps take request bodies as they arrive (docs/asgi.md). */
  get streamsBodies(): boolean {
    return this.asgiRunner !== undefined;
  }

  private get accepting(): boolean {
    return !this.stopping && !this.retiring;
  }

  /**
   * reload-on-rss: this worker stops growing now. It takes no new connection
   * (the other workers, or the kernel's queue until its replacement is ready,
   * have them), answers what it has with "Connection: close", and gives idle
   * keep-alive clients a moment to send one last request. The master drains
   * it once the replacement is ready.
   */
  private retire(): void {
    if (this.retiring || this.stopping) return;
    this.retiring = true;
    this.stopWatching();
    // TLS sockets have no raw listener to pause: this worker's copy of the socket closes (the master keeps its own).
    this.servers.forEach((server, i) => {
      if (this.rawListenerOf[i] === null) server.close();
    });
    this.runner?.stopKeepingAlive();
    for (const conn of this.connections) conn.drainIdle(DRAIN_IDLE_GRACE_MS);
  }

  // ------------------------------------------------------------------ stopping

  /** Stop accepting, finish what is in flight, close idle connections. */
  async drain(): Promise<void> {
    // Connections already queued carry requests a balancer will not retry
    // elsewhere (a POST): take them, then close in the same tick. When this
    // worker holds the socket's last descriptor (the master closes its own at
    // a stop), it stops listening here and later connections are refused.
    // A retired worker (reload-on-rss) leaves the queue to the others and its replacement.
    const taken = this.retiring ? 0 : this.takeQueued.reduce((n, take) => n + take(), 0);
    if (taken > 0) this.logFn(`worker ${this.config.id} took ${taken} queued connection(s) before closing its sockets\n`);
    this.stopping = true;
    this.stopWatching();
    for (const listener of this.listeners) listener.close();
    for (const server of this.servers) server.close();
    this.runner?.stopKeepingAlive();
    for (const conn of this.connections) conn.drainIdle(DRAIN_IDLE_GRACE_MS);
    if (this.runner !== undefined) await this.runner.whenIdle();
    if (this.asgiRunner !== undefined) await this.asgiRunner.shutdown(); // lifespan.shutdown, after the last request
    if (this.connections.size === 0) return;
    await new Promise<void>((resolve) => (this.whenNoConnections = resolve));
  }

  get requests(): number {
    return this.observer?.requests ?? 0;
  }
}

/**
 * node:tls (with crypto, ~50 internal modules, 5-10 ms of a worker's boot) is
 * loaded only by a worker that has an https socket.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsModule = (): typeof Tls => require('node:tls') as typeof Tls;

/** Read the certificate and key once per worker; a bad file stops the worker with a clear message. */
function loadTlsContext(files: TlsFiles): Tls.SecureContext {
  try {
    const options: Tls.SecureContextOptions = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
    if (files.ciphers !== undefined) options.ciphers = files.ciphers;
    if (files.ca !== undefined) options.ca = readFileSync(files.ca);
    return tlsModule().createSecureContext(options);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `https: cannot load certificate ${files.cert} / key ${files.key}: ${(err as Error).message}`);
  }
}

/** --chdir in the worker; the master checked it at start, but the directory may have gone since (a reload, a deploy). */
function enterDirectory(dir: string): void {
  try {
    process.chdir(dir);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `chdir() to ${dir}: ${errnoWords(err)}`);
  }
}

function noApp(detail: string): NuwsgiError {
  return new NuwsgiError('E_APP_LOAD', `${detail}\n*** no app loaded. GAME OVER ***`, 22);
}
