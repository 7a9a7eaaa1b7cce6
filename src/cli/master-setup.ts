/**
 * Builds the running master from the plan: the supervisor itself, its stats,
 * the master FIFO and the signal table. Everything here happens after the
 * sockets are bound and privileges dropped.
 */
import { Master } from '../master/master';
import { cheaperSettings, type CheaperSettings } from '../master/cheaper';
import { MasterFifo, type FifoHandlers } from '../master/fifo';
import { MasterStats } from '../master/stats-feed';
import type { BoundSocket } from '../master/sockets';
import { attachToEmperor } from '../emperor/vassal-link';
import { announceToEmperor } from '../emperor/announce';
import { SystemdNotifier } from '../util/sd-notify';
import { NuwsgiError } from '../util/errors';
import { writeLog } from '../util/log';
import type { WorkerTemplate } from '../worker/worker';
import { reportDaemonReady } from './daemonize';
import { writePidfile } from './pidfile';
import type { ServerPlan } from './plan';
import type { MasterLog } from '../logging/master-log';

/** Until the master runs, a reload request has nothing to reload: it must not kill us (SIGHUP's default). */
export const ignoreEarlyReload = (): void => writeLog('SIGHUP received while starting: ignored');

export async function runMaster(
  plan: ServerPlan,
  sockets: BoundSocket[],
  template: WorkerTemplate,
  reload: () => WorkerTemplate | null,
  logging?: MasterLog,
): Promise<number> {
  const stats = MasterStats.wanted({ ...plan, dashboardAddress: plan.dashboard.address }) ? new MasterStats(statsSettings(plan, template), sockets, writeLog) : undefined;
  const emperor = attachToEmperor({ reload: () => master.reload(true), stopGracefully: () => master.stopGracefully(), stopNow: () => master.stopNow() }, writeLog);
  const systemd = SystemdNotifier.fromEnv(process.env, writeLog); // Type=notify units: READY=1 after boot and after each reload
  const master: Master = new Master(
    {
      processes: plan.processes,
      workerReloadMercyMs: plan.workerReloadMercyMs,
      harakiri: plan.harakiri,
      harakiriVerbose: plan.harakiriVerbose,
      touchReload: plan.touchReload,
      touchChainReload: plan.touchChainReload,
      touchWorkersReload: plan.touchWorkersReload,
      evilReloadOnRssBytes: plan.evilReloadOnRssBytes,
      log: writeLog,
      ...(logging !== undefined ? { logging } : {}),
      reloadTemplate: reload,
      onAllReady: () => {
        stats?.allReady(); // /ready: a reload has finished
        emperor.ready();
        systemd.ready();
        reportDaemonReady();
      },
      ...(stats !== undefined ? { events: stats, onTick: () => stats.tick() } : {}),
      ...(plan.cheaper.cheaper > 0 ? { cheaper: validCheaper(plan) } : {}),
    },
    sockets,
    template,
  );
  stats?.setCommands({
    reload: () => master.reload(true),
    chainReload: () => master.chainReload(),
    addWorker: () => master.addWorker(),
    removeWorker: () => master.removeWorker(),
  });
  await stats?.start(writeLog);
  announceToEmperor(stats?.addresses() ?? {}, writeLog); // the emperor's dashboard links to ours
  const fifo = plan.masterFifo.length > 0 ? MasterFifo.open({ paths: plan.masterFifo, handlers: fifoHandlers(master, plan), log: writeLog }) : undefined;
  wireMasterSignals(master);
  try {
    return await master.run();
  } finally {
    fifo?.close(plan.vacuum);
    await stats?.close();
  }
}

function validCheaper(plan: ServerPlan): CheaperSettings {
  const settings = cheaperSettings(plan.cheaper, writeLog);
  if (typeof settings === 'string') throw new NuwsgiError('E_CONFIG', settings);
  return settings;
}

function statsSettings(plan: ServerPlan, template: WorkerTemplate): ConstructorParameters<typeof MasterStats>[0] {
  return {
    statsAddress: plan.statsAddress,
    statsHttp: plan.statsHttp,
    statsMinified: plan.statsMinified,
    metricsAddress: plan.metricsAddress,
    dashboard: plan.dashboard,
    apps: template.apps.map((a) => ({ mountpoint: a.mountpoint, chdir: template.chdir ?? '' })),
    listen: plan.listen,
    socketTimeoutMs: plan.socketTimeoutMs,
  };
}

/** uWSGI's one-character commands (core/master_fifo.c); the ones nuwsgi has no feature for stay no-ops, as in uWSGI. */
function fifoHandlers(master: Master, plan: ServerPlan): FifoHandlers {
  return {
    gracefulReload: () => master.reload(true),
    brutalReload: () => master.reloadBrutally(true),
    gracefulWorkersReload: () => master.reload(false),
    brutalWorkersReload: () => master.reloadBrutally(false),
    chainReload: () => master.chainReload(),
    gracefulShutdown: () => master.stopGracefully(),
    brutalShutdown: () => master.stopNow(),
    printStats: () => master.logCounters(),
    togglePause: () => master.togglePause(),
    reopenLog: () => master.reopenLogs(),
    rotateLog: () => master.rotateLogs(),
    addWorker: () => master.addWorker(),
    removeWorker: () => master.removeWorker(),
    rewritePidfiles: () => {
      if (plan.pidfile !== undefined) writePidfile(plan.pidfile, process.pid);
    },
  };
}

/** uWSGI's signal table, with SIGTERM as a graceful stop (docs/differences.md). */
function wireMasterSignals(master: Master): void {
  process.on('SIGTERM', () => master.stopGracefully());
  process.on('SIGINT', () => master.stopNow());
  process.on('SIGQUIT', () => master.stopNow());
  process.off('SIGHUP', ignoreEarlyReload);
  process.on('SIGHUP', () => master.reload(true));
  process.on('SIGUSR1', () => master.logCounters());
  process.on('SIGUSR2', () => master.logWorkerStatus());
  process.on('SIGTSTP', () => master.togglePause());
}
