/**
 * The dashboard's data: what the master sends the page once a second over
 * server-sent events. Built from the InstanceSnapshot only, so whatever
 * fixes the snapshot's figures fixes the page too.
 */
import type { Sample } from './history';
import type { HealthReport } from './http-endpoints';
import type { InstanceSnapshot, WorkerSnapshot } from './snapshot';

export interface CoreView {
  id: number;
  busy: boolean;
  /** Holds an open WebSocket (an ASGI slot after the 101): neither busy nor free. */
  open: boolean;
  method: string;
  uri: string;
  /** Epoch seconds the running request started (0 = idle). */
  since: number;
}

export interface WorkerView {
  id: number;
  pid: number;
  status: string;
  accepting: boolean;
  requests: number;
  exceptions: number;
  harakiri: number;
  respawns: number;
  rss: number;
  vsz: number;
  avgRtMs: number;
  lastSpawn: number;
  cores: CoreView[];
}

export interface EventView {
  /** Epoch ms. */
  t: number;
  kind: 'spawn' | 'respawn' | 'exit' | 'harakiri' | 'cheap' | 'reload' | 'stop' | 'ready';
  worker: number;
  text: string;
}

export interface MasterFrame {
  kind: 'master';
  t: number;
  version: string;
  pid: number;
  ready: HealthReport;
  live: HealthReport;
  listenQueue: number;
  listenQueueErrors: number;
  sockets: Array<{ name: string; proto: string; queue: number; max: number }>;
  workers: WorkerView[];
  sample: Sample | undefined;
  events: EventView[];
  actions: string[];
}

export interface MasterFrameFacts {
  snapshot: InstanceSnapshot;
  sample: Sample | undefined;
  ready: HealthReport;
  live: HealthReport;
  events: EventView[];
  actions: string[];
  nowMs: number;
}

export function masterFrame(f: MasterFrameFacts): MasterFrame {
  const s = f.snapshot;
  return {
    kind: 'master',
    t: f.nowMs,
    version: s.version,
    pid: s.pid,
    ready: f.ready,
    live: f.live,
    listenQueue: s.listenQueue,
    listenQueueErrors: s.listenQueueErrors,
    sockets: s.sockets.map((k) => ({ name: k.name, proto: k.proto, queue: k.queue, max: k.maxQueue })),
    workers: s.workers.map(workerView),
    sample: f.sample,
    events: f.events,
    actions: f.actions,
  };
}

function workerView(w: WorkerSnapshot): WorkerView {
  return {
    id: w.id,
    pid: w.pid,
    status: w.status,
    accepting: w.accepting,
    requests: w.requests,
    exceptions: w.exceptions,
    harakiri: w.harakiriCount,
    respawns: w.respawnCount,
    rss: w.rss,
    vsz: w.vsz,
    avgRtMs: Math.round(w.avgRtUs / 10) / 100,
    lastSpawn: w.lastSpawn,
    cores: w.cores.map((c) => ({
      id: c.id,
      busy: c.inRequest,
      open: c.openConnection === true,
      method: c.inRequest ? varOf(c.vars, 'REQUEST_METHOD') : '',
      uri: c.inRequest ? (varOf(c.vars, 'REQUEST_URI') || varOf(c.vars, 'PATH_INFO')) : '',
      since: c.inRequest ? c.requestStart : 0,
    })),
  };
}

function varOf(vars: readonly string[], key: string): string {
  const prefix = `${key}=`;
  const found = vars.find((v) => v.startsWith(prefix));
  return found === undefined ? '' : found.slice(prefix.length);
}

/** Accepting workers: what /ready counts. */
export function acceptingWorkers(s: InstanceSnapshot): number {
  return s.workers.filter((w) => w.accepting).length;
}
