/**
 * What the master hands each worker, serializable (the master passes it as
 * JSON in _NUWSGI_WORKER_CONFIG): the contract between src/master and
 * src/worker, kept here so neither imports the other's implementation.
 */
import type { WorkerLogSettings } from '../logging/plan';
import type { WorkerLogTarget } from '../logging/master-log';
import type { SocketProtocol, TlsFiles } from '../master/sockets';
import type { AppSpec } from '../worker/python/bridge';
import type { InterpreterInfo } from '../worker/python/locate';
import type { ExchangeOptions } from '../worker/exchange-options';
import type { StaticConfig } from '../worker/static/config';
import type { Hook } from '../util/hooks';

/** uWSGI's recycling options, as one worker applies them. */
export interface RecyclePolicy {
  /** --max-requests; 0 = never. */
  maxRequests: number;
  /** --max-requests-delta: worker N recycles after maxRequests + N * delta, so they never all go at once. */
  maxRequestsDelta: number;
  /** --max-worker-lifetime, ms; 0 = never. */
  maxLifetimeMs: number;
  /** --reload-on-rss, bytes; 0 = never. */
  reloadOnRssBytes: number;
  /** --min-worker-lifetime, ms: recycling waits until the worker is at least this old. */
  minLifetimeMs: number;
}

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
  /** The master's shared scoreboard (absent in single-process mode); `rowCores`: the room of each row (src/contracts/scoreboard.ts). */
  scoreboard?: { fd: number; bytes: number; row: number; rowCores: number };
  /** Report request counters to the master each second (--stats / --metrics are on). */
  stats: boolean;
  /** --py-autoreload: seconds between scans of the imported modules' files (0 = off). */
  pyAutoreload: number;
  /** --thunder-lock: workers take turns watching the listeners (an flock on the scoreboard file; src/worker/accept-lock.ts). */
  thunderLock: boolean;
  /** --threads: cores (Python threads) per worker; 1 = the inline path. */
  threads: number;
  /** --thread-stacksize, KiB (0 = default). */
  threadStackKiB: number;
  /** --threads-follow-loop: the core threads are kept on the event loop's CPU (src/worker/core-placement.ts). */
  threadsFollowLoop?: boolean;
  /** --lifespan, --loop, --asgi-concurrency (used when an app is ASGI: src/worker/asgi). */
  asgi?: {
    lifespan: 'auto' | 'on' | 'off';
    loop: 'auto' | 'asyncio' | 'uvloop';
    concurrency: number;
    /** --ws-max-size, --ws-ping-interval/--ws-ping-timeout (ms), --ws-per-message-deflate (src/worker/asgi/websocket-session.ts). */
    ws?: { maxSize: number; pingIntervalMs: number; pingTimeoutMs: number; perMessageDeflate: boolean };
  };
  /** add-header, del-header, write errors, post-buffering, http-keepalive (src/worker/exchange-options.ts). */
  exchange: ExchangeOptions;
  /** --hook-post-fork, --hook-pre-app, --hook-post-app, --hook-accepting (run by the worker's entry around boot and serve). */
  hooks?: { postFork: Hook[]; preApp: Hook[]; postApp: Hook[]; accepting: Hook[] };
  /** --ksm N: seconds between offers of the worker's memory to KSM (0 = off). */
  ksm?: number;
  /** --cpu-affinity N: CPUs this worker is bound to, from its id (src/worker/cpu-affinity.ts); absent = not bound. */
  cpuAffinity?: number;
  /** The process title (--auto-procname...), set by the master per worker. */
  title?: string;
  /** static-map and friends (src/worker/static); absent when no static option is set. */
  static?: StaticConfig;
}

/** What the master fills in per worker; the rest is the template shared by all. */
export type WorkerTemplate = Omit<WorkerConfig, 'id' | 'listeners' | 'scoreboard' | 'logTarget' | 'title'>;
