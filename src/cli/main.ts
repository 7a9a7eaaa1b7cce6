/**
 * The `nuwsgi` command. The only module that ends the process (process.exit):
 * everything below it throws typed errors or returns exit codes.
 */
import os from 'node:os';
import path from 'node:path';
import { loadConfig, renderConfigOutput, renderShowConfig } from '../config';
import { listenerFor, type BoundSocket } from '../master/sockets';
import { inheritedStdinSocket, inheritedSystemdSockets, vacuum } from '../master/socket-setup';
import { bindAll } from './bind';
import { locateInterpreter, locateInterpreterAsync, type InterpreterInfo } from '../worker/python/locate';
import type { WorkerTemplate } from '../contracts/worker-config';
import { signalPidfile, writePidfile } from './pidfile';
import { workerTemplate } from './template';
import { NuwsgiError } from '../util/errors';
import { writeLog } from '../util/log';
import { ctime } from '../worker/access-log';
import { VERSION } from '../version';
import { renderHelp } from './help';
import { planFromOptions, type ServerPlan } from './plan';
import { checkChdir } from './chdir';
import { restartOnlyChanges } from './restart-only';
import { MasterLog } from '../logging/master-log';
import { loggingPlanFromOptions } from '../logging/plan';
import { daemonize, isDaemon } from './daemonize';
import { dropPrivileges, resolveIdentity } from '../master/privileges';
import { hasEmperor } from '../emperor/vassal-link';
import { SystemdNotifier } from '../util/sd-notify';
import { applyFdLimit } from '../util/fd-limit';
import { runHooks, type Hook, type HookPhase } from '../util/hooks';

/**
 * Modules a master never runs, loaded only by the modes that do: a master
 * process stays for the server's whole life, and the worker's modules (the
 * Python bridge, parsers, request logging) or the emperor's add about 2 MB to it.
 */
const lazy = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  worker: (): typeof import('../worker/worker') => require('../worker/worker') as typeof import('../worker/worker'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  emperor: (): typeof import('../emperor') => require('../emperor') as typeof import('../emperor'),
  // The master's own (the emperor never runs one in its process).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  masterSetup: (): typeof import('./master-setup') => require('./master-setup') as typeof import('./master-setup'),
  // --ksm in single-process mode (a master's workers scan themselves).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ksm: (): typeof import('../worker/ksm') => require('../worker/ksm') as typeof import('../worker/ksm'),
  // --cpu-affinity in single-process mode (a master's workers bind themselves).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cpuAffinity: (): typeof import('../worker/cpu-affinity') => require('../worker/cpu-affinity') as typeof import('../worker/cpu-affinity'),
};

export function runCli(argv: string[]): void {
  run(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof NuwsgiError) {
        writeLog(`nuwsgi: ${err.message}`);
        process.exit(err.exitCode);
      }
      writeLog(`nuwsgi: internal error: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}

async function run(argv: string[]): Promise<number> {
  const loaded = loadConfig(argv, process.env, process.cwd());
  for (const warning of loaded.warnings) writeLog(warning);
  switch (loaded.action) {
    case 'help':
      process.stdout.write(renderHelp());
      return 0;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'show-config':
    case 'print-config-json':
      process.stdout.write(renderConfigOutput(loaded));
      return 0;
    default:
      if (loaded.options.has('reload')) return signalAndReturn(loaded.options.str('reload'), 'SIGHUP');
      if (loaded.options.has('stop')) return signalAndReturn(loaded.options.str('stop'), 'SIGINT');
      if (loaded.options.has('emperor')) {
        await MasterLog.start(loggingPlanFromOptions(loaded.options, process.cwd(), process.cwd())); // the emperor's own --logto, --log-date
        return lazy.emperor().runEmperor(loaded.options, process.cwd(), writeLog, argv);
      }
      // show-config set inside a file: uWSGI prints the configuration and goes on.
      if (loaded.options.bool('show-config')) writeLog(renderShowConfig(loaded.entries));
      const plan = planFromOptions(loaded.options, process.cwd());
      return serve(plan, argv, () => reloadTemplate(argv, plan));
  }
}

function signalAndReturn(pidfile: string | undefined, signal: NodeJS.Signals): number {
  signalPidfile(pidfile ?? '', signal);
  return 0;
}

/** SIGHUP: the configuration is read again, as uWSGI's re-exec does; a broken one is refused. */
function reloadTemplate(argv: string[], running: ServerPlan): WorkerTemplate | null {
  try {
    const loaded = loadConfig(argv, process.env, process.cwd());
    for (const warning of loaded.warnings) writeLog(warning);
    const plan = planFromOptions(loaded.options, process.cwd());
    checkChdir(plan.chdir, plan.chdirOrigin);
    for (const line of restartOnlyChanges(running, plan)) writeLog(line);
    return workerTemplate(plan, locateInterpreter({ python: plan.python, home: plan.home }));
  } catch (err) {
    writeLog(`nuwsgi: reload: ${(err as Error).message}`);
    return null;
  }
}

async function serve(plan: ServerPlan, argv: string[], reload: () => WorkerTemplate | null): Promise<number> {
  const daemonLog = plan.daemonize ?? plan.daemonize2;
  // A vassal that detached would look dead to its emperor, which would start it again and again.
  if (daemonLog !== undefined && hasEmperor()) writeLog(`daemonize ignored: a vassal stays attached to its emperor (log: ${daemonLog} unused)`);
  else if (daemonLog !== undefined && !isDaemon()) return daemonize(daemonLog, argv, plan.daemonize === undefined, writeLog);
  // The interpreter is probed (a Python start) while the log opens and the sockets are bound.
  const interpreterFound = startLocating(plan);
  process.on('SIGHUP', lazy.masterSetup().ignoreEarlyReload);
  const logs = await MasterLog.start(daemonLogging(plan)); // --logto and --log-date, before the first line
  fatalHooks(plan.hooks.asap, 'asap');
  logBanner();
  checkChdir(plan.chdir, plan.chdirOrigin); // where uWSGI's master chdir()s: after the asap hooks, before binding
  applyFdLimit(plan.maxFd, writeLog);
  // uWSGI's line, after the file descriptor limit; the lock itself is the workers' (src/worker/accept-lock.ts).
  writeLog(plan.thunderLock ? 'thunder lock: enabled' : 'thunder lock: disabled (you can enable it with --thunder-lock)');
  for (const warning of plan.warnings) writeLog(warning);
  // Sockets passed by systemd (LISTEN_FDS, socket activation) or an emperor (descriptor 0, on-demand vassals) count.
  if (plan.sockets.length === 0 && inheritedSystemdSockets().length === 0 && inheritedStdinSocket() === undefined) {
    throw new NuwsgiError('E_CONFIG', 'no socket configured: use --http-socket ADDR (HTTP) or --socket ADDR (uwsgi protocol, for nginx)');
  }
  const identity = resolveIdentity(plan.uid, plan.gid); // an unknown user fails before anything is bound
  const { sockets, vacuum: vacuumTargets } = await bindAll(plan, writeLog, identity);
  const interpreter = await interpreterFound;
  // After the bindings, as uWSGI's python plugin prints it.
  writeLog(`Python version: ${interpreter.version} (${interpreter.executable}, ${interpreter.libpython})`);
  if (plan.pidfile !== undefined) {
    writePidfile(plan.pidfile, process.pid);
    vacuumTargets.push({ kind: 'pidfile', path: plan.pidfile });
  }
  fatalHooks(plan.hooks.asRoot, 'as root');
  dropPrivileges(identity, writeLog);
  fatalHooks(plan.hooks.asUser, 'as user');
  await logs.openAfterPrivilegesDropped(); // --logto2
  const cleanUp = (): void => {
    if (plan.vacuum) vacuum(vacuumTargets, writeLog);
  };
  writeLog(`your server socket listen backlog is limited to ${plan.listen} connections`);
  writeLog(`your mercy for graceful operations on workers is ${plan.workerReloadMercyMs / 1000} seconds`);
  const template = workerTemplate(plan, interpreter);
  // A vassal always runs a master, as in uWSGI: the emperor talks to it.
  if (!plan.master && plan.processes === 1 && !hasEmperor()) return serveInProcess(template, sockets, plan.workerReloadMercyMs).finally(cleanUp);
  writeLog(`*** Operational MODE: preforking${plan.threads > 1 ? '+threaded' : ''} ***`);
  // The workers' last output is written before the process exits.
  return lazy.masterSetup().runMaster(plan, sockets, template, reload, logs).finally(cleanUp).finally(() => logs.drain());
}

/** The probe's promise, already guarded: a failure surfaces where it is awaited, not as an unhandled rejection. */
function startLocating(plan: ServerPlan): Promise<InterpreterInfo> {
  const found = locateInterpreterAsync({ python: plan.python, home: plan.home });
  found.catch(() => undefined);
  return found;
}

/**
 * As uWSGI: the daemon's FILE is its log file unless --logto says otherwise,
 * so --touch-logreopen and the FIFO's `l` reopen it after logrotate moved it.
 */
function daemonLogging(plan: ServerPlan): ServerPlan['logging'] {
  const daemonLog = plan.daemonize ?? plan.daemonize2;
  if (!isDaemon() || daemonLog === undefined || plan.logging.output.logto !== undefined) return plan.logging;
  const logto = daemonLog.includes(':') ? daemonLog : path.resolve(daemonLog);
  return { ...plan.logging, output: { ...plan.logging.output, logto } };
}

/**
 * uWSGI's single-process mode: this process is worker 1, no master. SIGTERM
 * drains as a master's worker does (in-flight requests, then ASGI lifespan
 * shutdown), within --worker-reload-mercy: the master's SIGKILL after it has
 * no master here, so the process ends itself when the mercy runs out.
 */
async function serveInProcess(template: WorkerTemplate, sockets: BoundSocket[], mercyMs: number): Promise<number> {
  writeLog(template.threads > 1 ? '*** Operational MODE: threaded ***' : '*** Operational MODE: single process ***');
  const listeners = sockets.map((s) => listenerFor(s, s.fd));
  const worker = new (lazy.worker().Worker)({ ...template, id: 1, listeners }, writeLog);
  if (template.cpuAffinity !== undefined) lazy.cpuAffinity().applyCpuAffinity(1, template.cpuAffinity, writeLog);
  worker.enterEnvironment();
  fatalHooks(template.hooks?.postFork ?? [], 'post-fork');
  fatalHooks(template.hooks?.preApp ?? [], 'pre app');
  worker.boot();
  fatalHooks(template.hooks?.postApp ?? [], 'post app');
  worker.serve();
  fatalHooks(template.hooks?.accepting ?? [], 'accepting');
  if (template.ksm !== undefined) lazy.ksm().startKsm(template.ksm, writeLog);
  // Its cores as the master's spawn line counts them: an ASGI worker's are its slots (the booted worker knows them
  // even for an app detected as ASGI, which a master's line cannot).
  writeLog(`spawned nuwsgi worker 1 (and the only) (pid: ${process.pid}, cores: ${worker.cores})`);
  SystemdNotifier.fromEnv(process.env, writeLog).ready(); // Type=notify units
  return new Promise((resolve) => {
    let draining = false;
    process.on('SIGTERM', () => {
      if (draining) return;
      draining = true;
      writeLog('SIGTERM received: finishing in-flight requests...');
      // Referenced: it also keeps the process alive while nothing else does (the ASGI loop thread's lifespan
      // shutdown has no handle on Node's loop once the sockets are closed).
      const mercy = setTimeout(() => {
        writeLog(`worker 1 (pid: ${process.pid}) is taking too much time to die...NO MERCY !!!`);
        resolve(0);
      }, mercyMs);
      void worker.drain().then(() => {
        clearTimeout(mercy);
        writeLog('goodbye to nuwsgi.');
        resolve(0);
      });
    });
    const now = (): void => {
      writeLog('goodbye to nuwsgi.');
      resolve(0);
    };
    process.on('SIGINT', now);
    process.on('SIGQUIT', now);
  });
}

/** Hooks run before anything serves: a failing one ends the start-up, as in uWSGI. */
function fatalHooks(hooks: Hook[], phase: HookPhase): void {
  if (!runHooks(hooks, phase, { log: writeLog })) throw new NuwsgiError('E_CONFIG', `a ${phase} hook failed`);
}

function logBanner(): void {
  writeLog(`*** Starting nuwsgi ${VERSION} (64bit) on [${ctime(Date.now())}] ***`);
  writeLog(`nodename: ${os.hostname()}`);
  writeLog(`detected number of CPU cores: ${os.cpus().length}`);
  writeLog(`current working directory: ${process.cwd()}`);
}
