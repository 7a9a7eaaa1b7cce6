/**
 * The stats data model: one immutable picture of the instance, taken by the
 * master whenever someone asks (stats server, --metrics, SIGUSR1, FIFO `s`).
 *
 * Field names are ours (camelCase); `uwsgi-json.ts` maps them to uWSGI's keys.
 * Each field says where the master gets the number from. Units are uWSGI's:
 * microseconds for durations, epoch seconds for instants, bytes for sizes.
 */

/**
 * uWSGI's worker statuses, in its order of precedence (master_utils.c):
 * cheap > pause (only when not busy) > sigN > busy > idle.
 */
export type WorkerStatus = 'idle' | 'busy' | 'cheap' | 'pause' | `sig${number}`;

export interface AppSnapshot {
  /** Index in the worker's app list (0 = the default app). */
  id: number;
  /** Always 0 for WSGI (uWSGI's python plugin modifier). */
  modifier1: number;
  /** '' for the default app, else the --mount prefix. */
  mountpoint: string;
  /** Seconds the app took to load (uWSGI reports 0 unless it was measured). */
  startupTime: number;
  /** Requests routed to this app (counted when they start), over every life of the slot. */
  requests: number;
  exceptions: number;
  /** The app's chdir, '' when none. */
  chdir: string;
}

export interface CoreSnapshot {
  /** Core (thread/async slot) index; nuwsgi's sync worker has exactly one: 0. */
  id: number;
  requests: number;
  staticRequests: number;
  routedRequests: number;
  offloadedRequests: number;
  /** Responses that failed while writing to the client (peer gone, reset). */
  writeErrors: number;
  /** Requests that failed while reading from the client. */
  readErrors: number;
  inRequest: boolean;
  /** The running request's variables as "KEY=VALUE" (uWSGI dumps them); [] when idle. */
  vars: string[];
  /** Epoch seconds the running request started; only meaningful while inRequest. */
  requestStart: number;
  /**
   * nuwsgi: the core (an ASGI slot) holds an open WebSocket after its 101:
   * not in a request (harakiri leaves it alone), but not free either. Not in
   * uWSGI's JSON; Prometheus' nuwsgi_websockets_open counts these.
   */
  openConnection?: boolean;
}

export interface WorkerSnapshot {
  /** Slot number, 1-based: Master's WorkerSlot.id. */
  id: number;
  /** Current pid of the slot (Master's WorkerSlot.pid); kept after death, as uWSGI does. */
  pid: number;
  /** 1 once the worker said 'ready' and until it starts draining or dies. */
  accepting: boolean;
  /** Requests the slot finished, over every life (uWSGI never resets it on respawn). */
  requests: number;
  /** Requests finished by the current life only (reset at each spawn). */
  deltaRequests: number;
  /** App exceptions over every life. */
  exceptions: number;
  /** Times the master killed this slot for harakiri. */
  harakiriCount: number;
  /** uWSGI signals handled; nuwsgi has no uWSGI signal framework: 0. */
  signals: number;
  /** Pending uWSGI signals for this worker; always 0 in nuwsgi. */
  signalQueue: number;
  status: WorkerStatus;
  /** Resident set size in bytes (/proc/PID/statm). */
  rss: number;
  /** Virtual size in bytes (/proc/PID/statm). */
  vsz: number;
  /** Sum of request durations in µs, over every life. */
  runningTimeUs: number;
  /** Epoch seconds of the current life's spawn. */
  lastSpawn: number;
  /** Spawns of this slot, the first included (uWSGI: 1 right after start). */
  respawnCount: number;
  /** Bytes sent to clients, over every life. */
  tx: number;
  /** uWSGI's running average: avg = (avg + rt) / 2 after each request, in µs. */
  avgRtUs: number;
  apps: AppSnapshot[];
  cores: CoreSnapshot[];
}

export interface SocketSnapshot {
  /** The address as configured (uWSGI's socket name), e.g. "127.0.0.1:8000" or "/run/app.sock". */
  name: string;
  /** 'uwsgi', 'http', 'https'. */
  proto: string;
  /** Connections waiting in the kernel's accept queue now (see procfs.ts). */
  queue: number;
  /** The effective backlog: min(--listen, net.core.somaxconn). */
  maxQueue: number;
  /** uWSGI's shared-socket flag; 0 in nuwsgi. */
  shared: number;
  /** uWSGI's offload flag; 0 in nuwsgi. */
  canOffload: number;
}

/** One of uWSGI's registered locks and the pid holding it (0 = free). */
export interface LockSnapshot {
  name: string;
  pid: number;
}

export interface InstanceSnapshot {
  /** Reported as uWSGI's "version"; the master passes nuwsgi's VERSION. */
  version: string;
  /** The largest accept queue among the sockets, refreshed once a second (ListenQueueMonitor). */
  listenQueue: number;
  /** Times a socket's queue was found full (ListenQueueMonitor). */
  listenQueueErrors: number;
  /** uWSGI's master signal queue; 0 in nuwsgi. */
  signalQueue: number;
  /** uWSGI sets load = listen queue; so do we. */
  load: number;
  /** The master's pid, uid, gid and working directory (process.*). */
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  locks: LockSnapshot[];
  sockets: SocketSnapshot[];
  workers: WorkerSnapshot[];
}

/**
 * The locks uWSGI 2.0.21 lists (one user lock by default). nuwsgi has none of
 * these mechanisms; they are listed free so parsers expecting them still work.
 */
export const UWSGI_LOCK_NAMES: readonly string[] = ['user 0', 'signal', 'filemon', 'timer', 'rbtimer', 'cron', 'rpc', 'snmp'];

export function defaultLocks(): LockSnapshot[] {
  return UWSGI_LOCK_NAMES.map((name) => ({ name, pid: 0 }));
}

/** What decides a worker's status, as uWSGI weighs it. */
export interface StatusFlags {
  cheaped: boolean;
  paused: boolean;
  /** A uWSGI signal number being handled, or 0. */
  signal: number;
  busy: boolean;
}

export function workerStatus(f: StatusFlags): WorkerStatus {
  if (f.cheaped) return 'cheap';
  if (f.paused && !f.busy) return 'pause';
  if (f.signal > 0) return `sig${f.signal}`;
  return f.busy ? 'busy' : 'idle';
}

export function idleCore(id: number): CoreSnapshot {
  return {
    id,
    requests: 0,
    staticRequests: 0,
    routedRequests: 0,
    offloadedRequests: 0,
    writeErrors: 0,
    readErrors: 0,
    inRequest: false,
    vars: [],
    requestStart: 0,
  };
}

/** Everything the master knows about itself, for `instanceSnapshot`. */
export interface InstanceFacts {
  version: string;
  listenQueue: number;
  listenQueueErrors: number;
  sockets: SocketSnapshot[];
  workers: WorkerSnapshot[];
}

/** Fills in the process facts (pid, uid, gid, cwd) and uWSGI's constant fields. */
export function instanceSnapshot(facts: InstanceFacts): InstanceSnapshot {
  return {
    version: facts.version,
    listenQueue: facts.listenQueue,
    listenQueueErrors: facts.listenQueueErrors,
    signalQueue: 0,
    load: facts.listenQueue,
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    cwd: process.cwd(),
    locks: defaultLocks(),
    sockets: facts.sockets,
    workers: facts.workers,
  };
}
