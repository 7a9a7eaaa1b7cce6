/**
 * The master's side of logging: it opens the log (--logto before privileges
 * are dropped, --logto2 after), gives each worker its way into it, relays
 * what the workers print, and reopens or rotates the file.
 *
 * The design (docs/logging.md, "Workers and the master"):
 *
 * - Request lines and the workers' own messages are written by each worker
 *   straight to the log, one write(2) per line: on a file opened O_APPEND
 *   the kernel appends every write whole, so there is no per-request hop
 *   through the master. The worker gets the master's descriptor at spawn
 *   (so it can write even when it runs as a user that could not open it).
 * - A worker's stdout and stderr (print(), tracebacks) are pipes the master
 *   reads and writes out as whole lines (OutputRelay).
 * - On reopen or rotation the master switches first, then tells every
 *   worker, which reopens the path itself; a worker that cannot sends its
 *   lines through the master from then on rather than to the old file.
 *   Workers spawned later get the new descriptor. (After --uid, the master
 *   cannot reopen a file only root may open either: it keeps the old one and
 *   says so, and so do the workers; --logto2 is uWSGI's answer.)
 * - --log-master: request lines go through the master as well (one writer).
 * - logger, req-logger, log-route, log-encoder, log-drain, log-filter (which
 *   imply --log-master, as in uWSGI): every line reaches the master, which
 *   routes it (log-router.ts). With a req-logger each worker gets one more
 *   pipe, for its request lines only.
 */
import type { Readable } from 'node:stream';
import { setLogDate, setLogSink, writeLog } from '../util/log';
import { TouchWatcher } from '../master/touch';
import { LogFile } from './log-file';
import { parseLogTarget } from './log-target';
import { UdpLog } from './log-udp';
import { OutputRelay } from './output-relay';
import { LogDate } from './log-date';
import type { LoggingPlan, LogOutputPlan } from './plan';
import { FdSink, type LogSink } from './sink';
import { compileEncoder } from './encoders';
import { LogRouter, type Route } from './log-router';
import { parseRouteSpec, type EncoderSpec } from './logger-spec';
import { openLogger, type Logger } from './plugin-loggers';
import type { RoutingPlan } from './plan';

/** How a worker reaches the log (part of its JSON configuration). */
export type WorkerLogTarget =
  /** An inherited descriptor: the master's stderr, or the log file at `path` (reopened by path). */
  | { kind: 'fd'; fd: number; path?: string }
  /** UDP: the worker sends its own datagrams. */
  | { kind: 'udp'; address: string; port: number }
  /** Through the master: the worker's stderr pipe (--log-master); request lines on `requestFd` when a req-logger is set. */
  | { kind: 'master'; requestFd?: number };

/** What the master's spawn() needs for one worker. */
export interface WorkerLogIo {
  /** stdio[1] and stdio[2] of the child. */
  stdout: 'pipe';
  stderr: 'pipe';
  /** Descriptors to append to the child's stdio after everything else (the log file, or stderr; 'pipe': the request pipe). */
  extraFds: Array<number | 'pipe'>;
  target: WorkerLogTarget;
}

/**
 * The hooks Master calls; MasterLog implements them. `tellWorkers` sends
 * every live worker LOG_REOPEN_MESSAGE: it is called once the master writes
 * to the new file, and before the "reopened." line, so whoever reads that
 * line knows the workers have been told.
 */
export interface MasterLogHooks {
  /** For a worker whose first free descriptor (after the sockets) is `firstFreeFd`. */
  forWorker(firstFreeFd: number): WorkerLogIo;
  /** Relay a spawned worker's stdout and stderr (and its request pipe, a req-logger's). */
  attach(child: WorkerOutput): void;
  /** Reopen the log file by path, with uWSGI's two lines (FIFO 'l', --touch-logreopen). */
  reopen(tellWorkers: () => void): void;
  /** Rotate the log file now (FIFO 'L', --touch-logrotate). */
  rotate(tellWorkers: () => void): void;
  /** Once a second: --touch-logreopen, --touch-logrotate, --log-maxsize. */
  tick(tellWorkers: () => void): void;
  /** On a graceful reload: --log-reopen. */
  reloading(tellWorkers: () => void): void;
}

/** What the master reads from a spawned worker (a ChildProcess). */
export interface WorkerOutput {
  stdout: Readable | null;
  stderr: Readable | null;
  stdio?: ReadonlyArray<unknown>;
}

/** The message telling a worker to reopen the log by path. */
export { LOG_REOPEN_MESSAGE } from '../contracts/ipc';

export class MasterLog implements MasterLogHooks {
  private readonly plan: LogOutputPlan;
  private readonly viaMaster: boolean;
  private sink: LogSink = new FdSink(2);
  private stdout: LogSink = new FdSink(1);
  private file: LogFile | undefined;
  private udp: UdpLog | undefined;
  /** logger, req-logger, log-route...: every line goes through it. */
  private router: LogRouter | undefined;
  /** req-logger or log-req-route: request lines come through a pipe of their own (uWSGI's req_log_master). */
  private requestPipe = false;
  /** Where that pipe sits in a worker's stdio (the same for every worker of this master). */
  private requestPipeIndex = -1;
  private readonly relay = new OutputRelay(
    () => this.router?.general ?? this.stdout,
    () => this.router?.general ?? this.sink,
  );
  private readonly touch: TouchWatcher;
  private wantReopen = false;
  private wantRotate = false;

  constructor(plan: LogOutputPlan, viaMaster: boolean) {
    this.plan = plan;
    this.viaMaster = viaMaster;
    this.touch = new TouchWatcher([
      ...plan.touchReopen.map((file) => ({ file, action: () => (this.wantReopen = true) })),
      ...plan.touchRotate.map((file) => ({ file, action: () => (this.wantRotate = true) })),
    ]);
  }

  /**
   * At startup, before anything is logged: --log-date and --logto (opened
   * while the process may still be root, as uWSGI does).
   */
  static async start(plan: LoggingPlan): Promise<MasterLog> {
    setLogDate(new LogDate(plan.worker.date));
    const log = new MasterLog(plan.output, plan.worker.viaMaster);
    if (plan.output.logto !== undefined) await log.open(plan.output.logto);
    if (plan.output.routing !== undefined) await log.openRouting(plan.output.routing);
    return log;
  }

  /**
   * Opens every logger (files, sockets, syslog) and routes this process's
   * lines through them from now on. Loggers open at startup, as --logto does
   * (uWSGI opens them at their first line): a path that cannot be opened
   * fails the start instead of losing the log.
   */
  private async openRouting(plan: RoutingPlan): Promise<void> {
    const ctx = { cwd: plan.cwd, stdout: () => this.stdout, env: process.env, warn: (line: string) => this.sink.write(line) };
    const opened: Logger[] = [];
    try {
      for (const spec of plan.loggers) opened.push(await openLogger('logger', spec, ctx));
      const loggers = [...opened];
      for (const spec of plan.reqLoggers) opened.push(await openLogger('req-logger', spec, ctx));
      const reqLoggers = opened.slice(loggers.length);
      this.router = new LogRouter(
        {
          loggers,
          reqLoggers,
          routes: resolveRoutes('log-route', plan.routes, loggers),
          // uWSGI looks these up among the loggers only, so a named req-logger could never be routed to; nuwsgi looks there first.
          reqRoutes: resolveRoutes('log-req-route', plan.reqRoutes, [...reqLoggers, ...loggers]),
          drain: plan.drain.map((p) => new RegExp(p)),
          filter: plan.filter.map((p) => new RegExp(p)),
          encoders: plan.encoders.map((e) => compileEncoder('log-encoder', e)),
          reqEncoders: plan.reqEncoders.map((e) => compileEncoder('log-req-encoder', e)),
        },
        // uWSGI's log master writes what no logger takes to its original stdout (the --logto file when set).
        () => this.stdout,
      );
    } catch (err) {
      for (const l of opened) l.close();
      throw err;
    }
    this.requestPipe = plan.reqLoggers.length > 0 || plan.reqRoutes.length > 0;
    // uWSGI's startup lines, written before the routing starts.
    for (const e of plan.encoders) this.sink.write(`[log-encoder] registered ${encoderText(e)}`);
    for (const e of plan.reqEncoders) this.sink.write(`[log-req-encoder] registered ${encoderText(e)}`);
    setLogSink(this.router.general);
  }

  /** --logto2: called once privileges are dropped (--uid/--gid); it replaces --logto from then on. */
  async openAfterPrivilegesDropped(): Promise<void> {
    if (this.plan.logto2 !== undefined) await this.open(this.plan.logto2);
  }

  /**
   * Make `value` (a file or host:port) this process's log, replacing the
   * current one. A file is also put on descriptors 1 and 2, as uWSGI does, so
   * whatever writes there directly lands in it. Throws E_LOG_TARGET / E_LOG_OPEN.
   */
  async open(value: string): Promise<void> {
    const target = parseLogTarget(value);
    const previous = [this.file, this.udp];
    if (target.kind === 'file') {
      this.file = LogFile.open(target.path, { truncate: this.plan.truncate, stdioFds: [1, 2] });
      this.udp = undefined;
      this.sink = this.file;
    } else {
      this.udp = await UdpLog.open(target.host, target.port);
      this.file = undefined;
      this.sink = this.udp;
    }
    this.stdout = this.sink;
    setLogSink(this.router?.general ?? this.sink);
    for (const old of previous) old?.close();
  }

  /** The log lines go to now (for the in-process worker of single-process mode). */
  get current(): LogSink {
    return this.sink;
  }

  forWorker(firstFreeFd: number): WorkerLogIo {
    const io = { stdout: 'pipe', stderr: 'pipe' } as const;
    if (this.requestPipe) {
      this.requestPipeIndex = firstFreeFd;
      return { ...io, extraFds: ['pipe'], target: { kind: 'master', requestFd: firstFreeFd } };
    }
    if (this.viaMaster || this.router !== undefined) return { ...io, extraFds: [], target: { kind: 'master' } };
    if (this.udp !== undefined) return { ...io, extraFds: [], target: { kind: 'udp', address: this.udp.address, port: this.udp.port } };
    if (this.file !== undefined) return { ...io, extraFds: [this.file.descriptor], target: { kind: 'fd', fd: firstFreeFd, path: this.file.path } };
    return { ...io, extraFds: [2], target: { kind: 'fd', fd: firstFreeFd } };
  }

  attach(child: WorkerOutput): void {
    this.relay.attach(child);
    const requests = this.requestPipe ? child.stdio?.[this.requestPipeIndex] : undefined;
    if (this.router !== undefined && isReadable(requests)) this.relay.attachStream(requests, () => this.router!.requests);
  }

  reopen(tellWorkers: () => void): void {
    this.reopenFile(true, tellWorkers);
  }

  rotate(tellWorkers: () => void): void {
    const file = this.file;
    if (file === undefined) return;
    try {
      file.rotate(this.plan.backupName, Date.now(), tellWorkers);
    } catch (err) {
      writeLog((err as Error).message);
    }
  }

  tick(tellWorkers: () => void): void {
    this.touch.check();
    const rotate = this.wantRotate || this.tooBig();
    const reopen = this.wantReopen;
    this.wantRotate = false;
    this.wantReopen = false;
    // uWSGI: a rotation, when due, takes the place of a reopen.
    if (rotate) this.rotate(tellWorkers);
    else if (reopen) this.reopen(tellWorkers);
  }

  reloading(tellWorkers: () => void): void {
    // uWSGI's --log-reopen reopens silently while the instance reloads.
    if (this.plan.reopenOnReload) this.reopenFile(false, tellWorkers);
  }

  /** Resolves when the workers' last output has been written (their pipes closed), at most after `timeoutMs`. */
  drain(timeoutMs = 1000): Promise<void> {
    return this.relay.drain(timeoutMs);
  }

  private tooBig(): boolean {
    if (this.plan.maxSize <= 0 || this.file === undefined) return false;
    try {
      return this.file.size() > this.plan.maxSize;
    } catch {
      return false;
    }
  }

  /** A failed reopen keeps the old file and says why (uWSGI reloads the whole instance instead). */
  private reopenFile(announce: boolean, tellWorkers: () => void): void {
    this.router?.reopen();
    const file = this.file;
    if (file === undefined) return;
    try {
      file.reopen(announce, tellWorkers);
    } catch (err) {
      writeLog(`${(err as Error).message}: still logging to the previous file`);
    }
  }
}

/** log-route / log-req-route values to their loggers; a name no logger has is reported and its route dropped (uWSGI ignores it silently). */
function resolveRoutes(option: string, values: readonly string[], loggers: readonly Logger[]): Route[] {
  const routes: Route[] = [];
  for (const value of values) {
    const spec = parseRouteSpec(option, value);
    const logger = loggers.find((l) => l.id === spec.id);
    if (logger === undefined) writeLog(`${option} = ${value}: no logger is named ${spec.id}, route ignored`);
    else routes.push({ pattern: spec.pattern, logger });
  }
  return routes;
}

function encoderText(e: EncoderSpec): string {
  return e.name + (e.useFor !== undefined ? `:${e.useFor}` : '') + (e.args !== '' ? ` ${e.args}` : '');
}

function isReadable(stream: unknown): stream is Readable {
  return typeof stream === 'object' && stream !== null && typeof (stream as Readable).on === 'function';
}
