/**
 * Builds the running master from the plan: the supervisor itself, its stats,
 * the master FIFO and the signal table. Everything here happens after the
 * sockets are bound and privileges dropped.
 */
import { Master } from '../master/master';
import { cheaperSettings, type CheaperSettings } from '../master/cheaper';
import { MasterFifo, type FifoHandlers } from '../master/fifo';
import type { MasterStats } from '../master/stats-feed';
import type { BoundSocket } from '../master/sockets';
import { attachToEmperor } from '../emperor/vassal-link';
import { announceToEmperor } from '../emperor/announce';
import { SystemdNotifier } from '../util/sd-notify';
import { NuwsgiError } from '../util/errors';
import { writeLog } from '../util/log';
import type { WorkerTemplate } from '../contracts/worker-config';
import { reportDaemonReady } from './daemonize';
import { writePidfile } from './pidfile';
import type { ServerPlan } from './plan';
import type { MasterLog } from '../logging/master-log';
import { masterTitle, setTitle, workerTitle } from '../util/procname';
import { DaemonManager } from '../master/daemons';
import { CronTable } from '../master/cron';
import { runHooks, type MasterSignalAction } from '../util/hooks';
import { constants } from 'node:os';
import { readListenQueues } from '../stats/socket-queue';
import { releaseStartupMemory } from '../worker/memory-trim';

/** Until the master runs, a reload request has nothing to reload: it must not kill us (SIGHUP's default). */
export const ignoreEarlyReload = (): void => writeLog('SIGHUP received while starting: ignored');

export async function runMaster(
  plan: ServerPlan,
  sockets: BoundSocket[],
  template: WorkerTemplate,
  reload: () => WorkerTemplate | null,
  logging?: MasterLog,
): Promise<number> {
  const stats = statsWanted(plan) ? new (statsFeed().MasterStats)(statsSettings(plan, template), sockets, writeLog) : undefined;
  const emperor = attachToEmperor({ reload: () => master.reload(true), stopGracefully: () => master.stopGracefully(), stopNow: () => master.stopNow() }, writeLog);
  const systemd = SystemdNotifier.fromEnv(process.env, writeLog); // Type=notify units: READY=1 after boot and after each reload
  setTitle(masterTitle(plan.procname)); // --auto-procname: "uWSGI master"
  const daemons = new DaemonManager(plan.daemons, {
    log: writeLog,
    ...(logging !== undefined ? { relay: (child) => logging.attach(child) } : {}),
    stopInstance: () => master.stopGracefully(),
  });
  const crons = new CronTable(plan.crons, writeLog);
  let daemonsStopped: Promise<void> | undefined;
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
      ...(stats !== undefined ? { events: stats } : {}),
      onTick: () => {
        stats?.tick();
        daemons.tick();
        crons.check(Date.now());
      },
      ...(plan.cheaper.cheaper > 0 ? { cheaper: validCheaper(plan) } : {}),
      workerTitle: (id) => workerTitle(plan.procname, id),
      onInstanceReload: () => void daemons.reload(),
      listenQueue: () => longestListenQueue(sockets),
      cheap: plan.idle.cheap,
      idleSeconds: plan.idle.seconds,
      // Descriptor 0 is the socket an emperor held for us (on demand): a connection waits for a worker.
      firstWorkerFirst: sockets.some((s) => s.fd === 0),
      // uWSGI: a vassal asks its emperor (byte 22), which stops it; alone, the instance stops.
      ...(plan.idle.die ? { onIdleDeath: () => void (emperor.voluntaryStop() || master.stopGracefully()) } : {}),
      onStopping: () => {
        daemonsStopped = daemons.stop(false);
      },
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
    const stopped = master.run(); // the workers are spawned now
    daemons.startAll(); // uWSGI's order: workers, daemons, then the master-start hooks
    const hooksOk = runHooks(plan.hooks.masterStart, 'master-start', { log: writeLog, bindSignal: (signum, action) => bindSignal(master, signum, action) });
    if (!hooksOk) master.stopNow(1);
    setImmediate(() => releaseStartupMemory(false)); // the config's parsing and the boot are garbage now
    return await stopped;
  } finally {
    await (daemonsStopped ?? daemons.stop(false));
    fifo?.close(plan.vacuum);
    await stats?.close();
  }
}

/** uWSGI's shared->backlog: the longest accept queue of the sockets (asked of the sockets themselves). */
function longestListenQueue(sockets: BoundSocket[]): number {
  return Math.max(0, ...readListenQueues(sockets).map((q) => q ?? 0));
}

/** hook-master-start `unix_signal:N FUNC`: signal N now does what uWSGI's master function FUNC does. */
function bindSignal(master: Master, signum: number, action: MasterSignalAction): void {
  const name = (Object.keys(constants.signals) as NodeJS.Signals[]).find((n) => constants.signals[n] === signum);
  if (name === undefined || name === 'SIGKILL' || name === 'SIGSTOP') throw new Error(`cannot bind signal ${signum}`);
  const actions: Record<MasterSignalAction, () => void> = {
    gracefully_kill_them_all: () => master.stopGracefully(),
    kill_them_all: () => master.stopNow(),
    grace_them_all: () => master.reload(true),
    reap_them_all: () => master.reloadBrutally(true),
    suspend_resume_them_all: () => master.togglePause(),
    stats: () => master.logCounters(),
  };
  process.removeAllListeners(name);
  process.on(name, actions[action]);
}

function validCheaper(plan: ServerPlan): CheaperSettings {
  const settings = cheaperSettings(plan.cheaper, writeLog);
  if (typeof settings === 'string') throw new NuwsgiError('E_CONFIG', settings);
  return settings;
}

/**
 * The stats feed (stats, metrics and dashboard servers: some twenty modules)
 * is loaded only when one of them is asked for: a master that only supervises
 * starts faster and keeps less (docs/architecture.md, "Memory").
 */
function statsFeed(): typeof import('../master/stats-feed') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../master/stats-feed') as typeof import('../master/stats-feed');
}

function statsWanted(plan: ServerPlan): boolean {
  return plan.statsAddress !== undefined || plan.metricsAddress !== undefined || plan.dashboard.address !== undefined;
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
