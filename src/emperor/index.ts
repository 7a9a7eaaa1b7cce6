/**
 * The emperor (--emperor DIR|GLOB): watches vassal config files and runs one
 * nuwsgi master per file. Entry point called by the CLI.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { MasterLog } from '../logging/master-log';
import { loggingPlanFromOptions, type LoggingPlan } from '../logging/plan';
import { writeLogVerbose } from '../util/log';
import type { Options } from '../config/options';
import { writePidfile } from '../cli/pidfile';
import { daemonize, isDaemon, reportDaemonReady } from '../cli/daemonize';
import { SystemdNotifier } from '../util/sd-notify';
import { Emperor } from './emperor';
import { attachToEmperor, hasEmperor } from './vassal-link';
import { emperorSettings, ignoredServerOptions, type EmperorSettings } from './settings';
import { nuwsgiEntry, spawnVassalProcess } from './spawn';
import { renderEmperorStats, startEmperorStats, type EmperorStatsServer } from './stats';
import type { ObservatorySettings } from './observatory';
import { ANNOUNCE_DIR_ENV, announceToEmperor } from './announce';
import { dashboardSettingsFrom } from '../cli/plan';
import { NuwsgiError } from '../util/errors';
import { dropPrivileges, resolveIdentity, type Identity } from '../master/privileges';

/** Runs the emperor until it is told to stop; resolves with the exit code. */
export async function runEmperor(options: Options, cwd: string, log: (line: string) => void, argv: readonly string[] = []): Promise<number> {
  // Debian's init script starts the emperor with --daemonize: the same detached copy as a master's.
  const daemonLog = options.str('daemonize') ?? options.str('daemonize2');
  if (daemonLog !== undefined && hasEmperor()) log(`daemonize ignored: a vassal stays attached to its emperor (log: ${daemonLog} unused)`);
  else if (daemonLog !== undefined && !isDaemon()) return daemonize(daemonLog, argv, options.str('daemonize') === undefined, log);
  // --log-date, --logto (the daemon's file under --daemonize); vassals inherit the emperor's stdout and stderr.
  const logs = await MasterLog.start(emperorLogging(options, cwd, daemonLog));
  const settings = emperorSettings(options);
  // Debian's emperor.ini has uid = gid = www-data: the emperor, and so every vassal, runs as www-data.
  const identity = resolveIdentity(options.str('uid'), options.str('gid'));
  checkTyrant(settings, identity);
  const ignored = ignoredServerOptions(options);
  if (ignored.length > 0) log(`[emperor] ignoring ${ignored.join(', ')}: an emperor serves nothing itself, its vassals do`);
  const notifier = SystemdNotifier.fromEnv(process.env, log);
  const sub = hasEmperor();
  // A sub-emperor (an emperor's vassal whose file says `emperor = ...`) answers to its own emperor like any vassal.
  const link = attachToEmperor({ reload: () => emperor.reloadAll(), stopGracefully: () => stop() }, log);
  // --metrics / --dashboard on an emperor: every vassal, with the addresses vassals announce (announce.ts).
  const watched: ObservatorySettings = { metricsAddress: options.str('metrics'), dashboard: dashboardSettingsFrom(options, cwd) };
  // The observatory (metrics, dashboard: a dozen modules) loads only when asked for: an emperor keeps what supervision needs.
  const wanted = watched.metricsAddress !== undefined || watched.dashboard.address !== undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const observatory = wanted ? new (require('./observatory') as typeof import('./observatory')).EmperorObservatory(() => emperor.statsView(), log) : undefined;
  const announceTo = process.env[ANNOUNCE_DIR_ENV]; // a sub-emperor announces itself to its own emperor
  const stop = (): void => {
    observatory?.stopping(); // /ready: 503 from the moment the stop begins
    emperor.ragnarok();
  };
  const emperor: Emperor = new Emperor(settings, {
    log,
    notifier,
    spawn: spawnVassalProcess(nuwsgiEntry()),
    env: observatory !== undefined ? { ...process.env, [ANNOUNCE_DIR_ENV]: observatory.announce.path } : withoutAnnounce(process.env),
    cwd,
    logVerbose: writeLogVerbose,
    onReady: () => {
      link.ready();
      reportDaemonReady(); // --daemonize2: the foreground command returns now
    },
  });
  log(sub ? '*** starting nuwsgi sub-Emperor ***' : '*** starting nuwsgi Emperor ***');
  for (const file of settings.pidfiles) writePidfile(file, process.pid);
  const stats = settings.statsAddress === undefined ? undefined : await startStats(settings, emperor, log);
  await observatory?.start(watched);
  announceToEmperor(observatory?.addresses() ?? {}, log, { [ANNOUNCE_DIR_ENV]: announceTo });
  dropPrivileges(identity, log);
  await logs.openAfterPrivilegesDropped(); // --logto2
  const unwire = wireSignals(emperor, stop);
  // touch-logreopen, touch-logrotate, log-maxsize: the emperor has no workers to tell.
  const logTicker = setInterval(() => logs.tick(() => undefined), 1000);
  try {
    return await emperor.run();
  } finally {
    clearInterval(logTicker);
    unwire();
    await stats?.close();
    await observatory?.close();
    if (settings.vacuum) removePidfiles(settings.pidfiles, log);
  }
}

/** The master's logging options; a daemon writes to its --daemonize file unless --logto says otherwise (as a master does). */
function emperorLogging(options: Options, cwd: string, daemonLog: string | undefined): LoggingPlan {
  const plan = loggingPlanFromOptions(options, cwd, cwd);
  if (!isDaemon() || daemonLog === undefined || plan.output.logto !== undefined) return plan;
  const logto = daemonLog.includes(':') ? daemonLog : path.resolve(cwd, daemonLog);
  return { ...plan, output: { ...plan.output, logto } };
}

/** Tyrant mode runs vassals as their files' owners, which needs root; uWSGI's vassals would each fail on setuid instead. */
function checkTyrant(settings: EmperorSettings, identity: Identity | undefined): void {
  if (!settings.tyrant) return;
  if (process.getuid?.() !== 0) {
    throw new NuwsgiError('E_EMPEROR', 'emperor-tyrant needs the emperor to run as root (each vassal runs as the owner of its file)');
  }
  if (identity !== undefined && identity.uid !== 0) {
    throw new NuwsgiError('E_EMPEROR', 'emperor-tyrant cannot be combined with uid/gid: the emperor must stay root to start each vassal as the owner of its file');
  }
}

function removePidfiles(files: readonly string[], log: (line: string) => void): void {
  for (const file of files) {
    try {
      rmSync(file, { force: true });
    } catch (err) {
      // Written as root, before the privileges were dropped.
      log(`[emperor] cannot remove ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

function startStats(settings: EmperorSettings, emperor: Emperor, log: (line: string) => void): Promise<EmperorStatsServer> {
  return startEmperorStats(settings.statsAddress as string, () => renderEmperorStats(emperor.statsView()), { http: settings.statsHttp, log });
}

/** uWSGI's emperor signal table (core/emperor.c emperor_loop). */
function wireSignals(emperor: Emperor, stop: () => void): () => void {
  const table: Array<[NodeJS.Signals, () => void]> = [
    ['SIGHUP', () => emperor.reloadAll()],
    ['SIGINT', stop],
    ['SIGTERM', stop],
    ['SIGQUIT', stop],
    ['SIGUSR1', () => emperor.logStates()],
    ['SIGURG', () => emperor.clearBlacklist()],
    ['SIGWINCH', () => emperor.scan()],
  ];
  for (const [signal, handler] of table) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of table) process.off(signal, handler);
  };
}

/** Vassals of an emperor without --dashboard/--metrics have nobody to announce to (the variable may be our own emperor's). */
function withoutAnnounce(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy[ANNOUNCE_DIR_ENV];
  return copy;
}
