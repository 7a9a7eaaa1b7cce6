/**
 * Entry point of a worker process started by the master (child_process.fork).
 * The configuration arrives as JSON in _NUWSGI_WORKER_CONFIG; the listening
 * sockets are inherited descriptors named in it.
 */
import { NuwsgiError } from '../util/errors';
import { Worker } from './worker';
import type { WorkerConfig } from '../contracts/worker-config';
import { setLogDate, setLogSink, writeLog } from '../util/log';
import { LOG_REOPEN_MESSAGE, type WorkerMessage } from '../contracts/ipc';
import { LogDate } from '../logging/log-date';
import { openWorkerLog } from '../logging/worker-log';
import type { LogSink } from '../logging/sink';
import { runHooks, type Hook, type HookPhase } from '../util/hooks';
import { startKsm } from './ksm';
import { applyCpuAffinity } from './cpu-affinity';
import { releaseStartupMemory } from './memory-trim';

/** How long after "ready" the startup garbage is released (see start()). */
const STARTUP_TRIM_DELAY_MS = 1000;


function send(msg: WorkerMessage): void {
  if (process.send !== undefined && process.connected) process.send(msg);
}

function main(): void {
  const raw = process.env['_NUWSGI_WORKER_CONFIG'];
  if (raw === undefined) {
    writeLog('nuwsgi worker started without _NUWSGI_WORKER_CONFIG\n');
    process.exitCode = 1;
    return;
  }
  delete process.env['_NUWSGI_WORKER_CONFIG']; // the app's environment is the user's, not ours
  const config = JSON.parse(raw) as WorkerConfig;
  if (config.title !== undefined) process.title = config.title; // --auto-procname: "uWSGI worker N"
  let log: LogSink | undefined;
  let reopenPending = false;
  // Installed first: the master may ask for a reopen before the log is even open.
  process.on('message', (msg: { type?: string }) => {
    if (msg.type !== LOG_REOPEN_MESSAGE.type) return;
    if (log === undefined) reopenPending = true;
    else log.reopen();
  });
  openWorkerLog(config.logTarget).then(
    (sink) => {
      log = sink;
      if (reopenPending) sink.reopen();
      setLogSink(sink);
      setLogDate(new LogDate(config.logging.date));
      start(config);
    },
    (err: unknown) => {
      writeLog(`nuwsgi worker ${config.id}: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}

/** Boot the app and serve, once the log is open. */
function start(config: WorkerConfig): void {
  const worker = new Worker(config, writeLog);
  worker.onRecycle = (reason) => send({ type: 'recycle', reason });
  worker.onStats = (msg) => {
    if (process.send !== undefined && process.connected) process.send(msg);
  };
  // Before boot: a graceful drain asked while the app loads (a reload right after a spawn) must not
  // take SIGTERM's default action and kill the worker outright, skipping ASGI's lifespan.shutdown.
  // Its handler runs once start() has returned and the worker serves. SIGINT/SIGQUIT (brutal) keep
  // their default until then: a worker hung in its import still dies at once.
  const graceful = installGracefulSignals(worker);
  if (config.cpuAffinity !== undefined) applyCpuAffinity(config.id, config.cpuAffinity, (line) => writeLog(`${line}\n`));
  try {
    worker.enterEnvironment();
    hooks(config.hooks?.postFork, 'post-fork');
    hooks(config.hooks?.preApp, 'pre app');
    worker.boot();
    hooks(config.hooks?.postApp, 'post app');
  } catch (err) {
    const e = err as NuwsgiError;
    writeLog(`${e.message}\n`);
    process.exit(e instanceof NuwsgiError ? e.exitCode : 1);
  }
  installControl(worker, graceful);
  worker.serve();
  hooks(config.hooks?.accepting, 'accepting');
  if (config.ksm !== undefined) startKsm(config.ksm, writeLog);
  send({ type: 'ready' });
  // A second after "ready": the full GC and malloc_trim take ~30 ms of a Flask worker's wall time
  // (~10 ms of CPU), which a connection already waiting (an on-demand vassal's, a cheap instance's)
  // would otherwise pay before being accepted. Marked mergeable pages (--ksm) lose nothing.
  setTimeout(() => releaseStartupMemory(true), STARTUP_TRIM_DELAY_MS).unref();
}

/**
 * A failed hook destroys the whole instance, as in uWSGI (which SIGINTs its
 * master): respawning a worker whose hook fails would only fail again.
 */
function hooks(list: Hook[] | undefined, phase: HookPhase): void {
  if (list === undefined || list.length === 0) return;
  if (runHooks(list, phase, { log: writeLog })) return;
  if (process.ppid > 1) process.kill(process.ppid, 'SIGINT');
  process.exit(1);
}

/** SIGTERM/SIGHUP: finish what is in flight, then exit. Returns the drain, for the master's `stop` message too. */
function installGracefulSignals(worker: Worker): () => void {
  let draining = false;
  const graceful = (): void => {
    if (draining) return;
    draining = true;
    writeLog(`Gracefully killing worker ${worker.config.id} (pid: ${process.pid})...\n`);
    void worker.drain().then(() => process.exit(0));
  };
  process.on('SIGTERM', graceful);
  process.on('SIGHUP', graceful);
  return graceful;
}

/** SIGINT/SIGQUIT (brutal), the master going away, and the master's messages. */
function installControl(worker: Worker, graceful: () => void): void {
  process.on('SIGINT', () => process.exit(0));
  process.on('SIGQUIT', () => process.exit(0));
  // no-orphans, always: a worker whose master is gone must not keep serving alone.
  process.on('disconnect', () => {
    writeLog(`nuwsgi worker ${worker.config.id} screams: UAAAAAAH my master disconnected: i will kill myself !!!\n`);
    process.exit(1);
  });
  process.on('message', (msg: { type?: string }) => {
    if (msg.type === 'stop') graceful();
  });
}

main();
