/**
 * What a reload (SIGHUP, touch-reload, an emperor touching its vassal file)
 * cannot change. uWSGI re-executes its master, so an edited file applies
 * whole; nuwsgi's master stays (its listening sockets never close, which is
 * why a reload loses no request) and only the workers are rebuilt from the
 * re-read configuration. The settings the master holds therefore keep their
 * old values until the instance is restarted: say so, naming them, rather
 * than leave nginx pointed at a socket nobody binds.
 */
import type { ServerPlan } from './plan';

/** The master's own settings, by the name a user wrote them with. */
const MASTER_HELD: ReadonlyArray<readonly [string, (p: ServerPlan) => unknown]> = [
  ['socket', (p) => p.sockets.map((s) => `${s.protocol} ${s.spec}`)],
  ['processes', (p) => p.processes],
  ['master', (p) => p.master],
  ['listen', (p) => p.listen],
  ['harakiri', (p) => p.harakiri],
  ['max-requests/reload-on-rss/max-worker-lifetime', (p) => p.recycle],
  ['cheaper', (p) => ({ ...p.cheaper, processes: undefined })], // its own copy of processes is reported as processes
  ['idle', (p) => p.idle],
  ['uid/gid', (p) => [p.uid, p.gid]],
  ['stats', (p) => [p.statsAddress, p.statsHttp]],
  ['metrics', (p) => p.metricsAddress],
  ['pidfile', (p) => p.pidfile],
  ['master-fifo', (p) => p.masterFifo],
  ['touch-reload', (p) => [p.touchReload, p.touchChainReload, p.touchWorkersReload]],
  ['chmod-socket/chown-socket', (p) => [p.chmodSocket, p.chownSocket]],
  ['worker-reload-mercy', (p) => p.workerReloadMercyMs],
];

/** One line when settings only a restart applies changed between the running plan and the re-read one; none otherwise. */
export function restartOnlyChanges(running: ServerPlan, reread: ServerPlan): string[] {
  const changed = MASTER_HELD.filter(([, of]) => JSON.stringify(of(running)) !== JSON.stringify(of(reread))).map(([name]) => name);
  if (changed.length === 0) return [];
  return [`reload: ${changed.join(', ')} changed in the configuration: the master keeps the old value${changed.length > 1 ? 's' : ''} until the instance is stopped and started again (a reload rebuilds only the workers)`];
}
