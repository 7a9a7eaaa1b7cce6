/**
 * The inverse of renderStatsJson: reads a stats document (uWSGI's or ours)
 * back into an InstanceSnapshot. Used by the oracle tests to re-render a real
 * uWSGI's numbers with our writer and compare byte for byte, and usable by
 * tools that read a stats server.
 */
import { NuwsgiError } from '../util/errors';
import type { AppSnapshot, CoreSnapshot, InstanceSnapshot, SocketSnapshot, WorkerSnapshot, WorkerStatus } from './snapshot';

type Json = Record<string, unknown>;

export function readStatsJson(text: string): InstanceSnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new NuwsgiError('E_STATS_FORMAT', `stats document is not JSON: ${(err as Error).message}`);
  }
  const o = obj(doc, 'document');
  return {
    version: str(o, 'version'),
    listenQueue: num(o, 'listen_queue'),
    listenQueueErrors: num(o, 'listen_queue_errors'),
    signalQueue: num(o, 'signal_queue'),
    load: num(o, 'load'),
    pid: num(o, 'pid'),
    uid: num(o, 'uid'),
    gid: num(o, 'gid'),
    cwd: str(o, 'cwd'),
    locks: list(o, 'locks').map(readLock),
    sockets: list(o, 'sockets').map(readSocket),
    workers: list(o, 'workers').map(readWorker),
  };
}

function readLock(v: unknown): { name: string; pid: number } {
  const o = obj(v, 'lock');
  const [name] = Object.keys(o);
  if (name === undefined) throw new NuwsgiError('E_STATS_FORMAT', 'empty lock object');
  return { name, pid: num(o, name) };
}

function readSocket(v: unknown): SocketSnapshot {
  const o = obj(v, 'socket');
  return {
    name: str(o, 'name'),
    proto: str(o, 'proto'),
    queue: num(o, 'queue'),
    maxQueue: num(o, 'max_queue'),
    shared: num(o, 'shared'),
    canOffload: num(o, 'can_offload'),
  };
}

function readWorker(v: unknown): WorkerSnapshot {
  const o = obj(v, 'worker');
  return {
    id: num(o, 'id'),
    pid: num(o, 'pid'),
    accepting: num(o, 'accepting') !== 0,
    requests: num(o, 'requests'),
    deltaRequests: num(o, 'delta_requests'),
    exceptions: num(o, 'exceptions'),
    harakiriCount: num(o, 'harakiri_count'),
    signals: num(o, 'signals'),
    signalQueue: num(o, 'signal_queue'),
    status: str(o, 'status') as WorkerStatus,
    rss: num(o, 'rss'),
    vsz: num(o, 'vsz'),
    runningTimeUs: num(o, 'running_time'),
    lastSpawn: num(o, 'last_spawn'),
    respawnCount: num(o, 'respawn_count'),
    tx: num(o, 'tx'),
    avgRtUs: num(o, 'avg_rt'),
    apps: list(o, 'apps').map(readApp),
    cores: 'cores' in o ? list(o, 'cores').map(readCore) : [],
  };
}

function readApp(v: unknown): AppSnapshot {
  const o = obj(v, 'app');
  return {
    id: num(o, 'id'),
    modifier1: num(o, 'modifier1'),
    mountpoint: str(o, 'mountpoint'),
    startupTime: num(o, 'startup_time'),
    requests: num(o, 'requests'),
    exceptions: num(o, 'exceptions'),
    chdir: str(o, 'chdir'),
  };
}

function readCore(v: unknown): CoreSnapshot {
  const o = obj(v, 'core');
  const vars = list(o, 'vars').map((x) => (typeof x === 'string' ? x : ''));
  // uWSGI ends the list with an empty string after the last var.
  if (vars.length > 0 && vars[vars.length - 1] === '') vars.pop();
  const info = obj(o['req_info'], 'req_info');
  return {
    id: num(o, 'id'),
    requests: num(o, 'requests'),
    staticRequests: num(o, 'static_requests'),
    routedRequests: num(o, 'routed_requests'),
    offloadedRequests: num(o, 'offloaded_requests'),
    writeErrors: num(o, 'write_errors'),
    readErrors: num(o, 'read_errors'),
    inRequest: num(o, 'in_request') !== 0,
    vars,
    requestStart: typeof info['request_start'] === 'number' ? info['request_start'] : 0,
  };
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NuwsgiError('E_STATS_FORMAT', `${what} is not an object`);
  return v as Json;
}

function list(o: Json, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new NuwsgiError('E_STATS_FORMAT', `"${key}" is not a list`);
  return v;
}

function num(o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new NuwsgiError('E_STATS_FORMAT', `"${key}" is not a number`);
  return v;
}

function str(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new NuwsgiError('E_STATS_FORMAT', `"${key}" is not a string`);
  return v;
}
