/**
 * The stats server's JSON, in uWSGI 2.0.21's exact shape, key order and
 * whitespace (uwsgi_master_generate_stats in core/master_utils.c), so that
 * uwsgitop, the Prometheus exporters, Telegraf, Netdata and people's own
 * scripts read it unchanged. Checked against a live uWSGI by
 * test/integration/stats-oracle.test.ts.
 */
import { UwsgiJsonWriter } from './json-writer';
import type { AppSnapshot, CoreSnapshot, InstanceSnapshot, SocketSnapshot, WorkerSnapshot } from './snapshot';

export interface RenderOptions {
  /** --stats-minified: no tabs, no newlines. */
  minified?: boolean;
  /** --stats-no-cores: leave out each worker's "cores" list. */
  noCores?: boolean;
}

export function renderStatsJson(s: InstanceSnapshot, opts: RenderOptions = {}): string {
  const w = new UwsgiJsonWriter(opts.minified === true);
  writeHeader(w, s);
  writeLocks(w, s);
  w.key('sockets');
  writeList(w, s.sockets, writeSocket);
  w.comma();
  w.key('workers');
  writeList(w, s.workers, (ww, worker) => writeWorker(ww, worker, opts.noCores === true));
  w.objectClose();
  return w.text();
}

function writeHeader(w: UwsgiJsonWriter, s: InstanceSnapshot): void {
  w.keyval('version', s.version);
  w.comma();
  longs(w, [
    ['listen_queue', s.listenQueue],
    ['listen_queue_errors', s.listenQueueErrors],
    ['signal_queue', s.signalQueue],
    ['load', s.load],
    ['pid', s.pid],
    ['uid', s.uid],
    ['gid', s.gid],
  ]);
  w.comma();
  w.keyval('cwd', s.cwd);
  w.comma();
}

function writeLocks(w: UwsgiJsonWriter, s: InstanceSnapshot): void {
  w.key('locks');
  writeList(w, s.locks, (ww, lock) => {
    ww.objectOpen();
    ww.keylong(lock.name, lock.pid);
    ww.objectClose();
  });
  w.comma();
}

function writeSocket(w: UwsgiJsonWriter, sock: SocketSnapshot): void {
  w.objectOpen();
  w.keyval('name', sock.name);
  w.comma();
  w.keyval('proto', sock.proto);
  w.comma();
  longs(w, [
    ['queue', sock.queue],
    ['max_queue', sock.maxQueue],
    ['shared', sock.shared],
    ['can_offload', sock.canOffload],
  ]);
  w.objectClose();
}

function writeWorker(w: UwsgiJsonWriter, worker: WorkerSnapshot, noCores: boolean): void {
  w.objectOpen();
  longs(w, [
    ['id', worker.id],
    ['pid', worker.pid],
    ['accepting', worker.accepting ? 1 : 0],
    ['requests', worker.requests],
    ['delta_requests', worker.deltaRequests],
    ['exceptions', worker.exceptions],
    ['harakiri_count', worker.harakiriCount],
    ['signals', worker.signals],
    ['signal_queue', worker.signalQueue],
  ]);
  w.comma();
  w.keyval('status', worker.status);
  w.comma();
  longs(w, [
    ['rss', worker.rss],
    ['vsz', worker.vsz],
    ['running_time', worker.runningTimeUs],
    ['last_spawn', worker.lastSpawn],
    ['respawn_count', worker.respawnCount],
    ['tx', worker.tx],
    ['avg_rt', worker.avgRtUs],
  ]);
  w.comma();
  w.key('apps');
  writeList(w, worker.apps, writeApp);
  if (!noCores) {
    w.comma();
    w.key('cores');
    writeList(w, worker.cores, writeCore);
  }
  w.objectClose();
}

function writeApp(w: UwsgiJsonWriter, app: AppSnapshot): void {
  w.objectOpen();
  longs(w, [
    ['id', app.id],
    ['modifier1', app.modifier1],
  ]);
  w.comma();
  w.keyval('mountpoint', app.mountpoint);
  w.comma();
  longs(w, [
    ['startup_time', app.startupTime],
    ['requests', app.requests],
    ['exceptions', app.exceptions],
  ]);
  w.comma();
  w.keyval('chdir', app.chdir);
  w.objectClose();
}

function writeCore(w: UwsgiJsonWriter, core: CoreSnapshot): void {
  w.objectOpen();
  longs(w, [
    ['id', core.id],
    ['requests', core.requests],
    ['static_requests', core.staticRequests],
    ['routed_requests', core.routedRequests],
    ['offloaded_requests', core.offloadedRequests],
    ['write_errors', core.writeErrors],
    ['read_errors', core.readErrors],
    ['in_request', core.inRequest ? 1 : 0],
  ]);
  w.comma();
  w.key('vars');
  w.listOpen();
  if (core.inRequest && core.vars.length > 0) {
    // uWSGI writes each var then a comma, and ends with an empty string.
    for (const v of core.vars) {
      w.str(v);
      w.comma();
    }
    w.str('');
  }
  w.listClose();
  w.comma();
  w.key('req_info');
  w.objectOpen();
  if (core.inRequest) w.keylong('request_start', core.requestStart);
  w.objectClose();
  w.objectClose();
}

/** Several "key":number pairs separated by commas (no comma after the last). */
function longs(w: UwsgiJsonWriter, pairs: ReadonlyArray<readonly [string, number]>): void {
  pairs.forEach(([key, value], i) => {
    if (i > 0) w.comma();
    w.keylong(key, value);
  });
}

function writeList<T>(w: UwsgiJsonWriter, items: readonly T[], writeItem: (w: UwsgiJsonWriter, item: T) => void): void {
  w.listOpen();
  items.forEach((item, i) => {
    if (i > 0) w.comma();
    writeItem(w, item);
  });
  w.listClose();
}
