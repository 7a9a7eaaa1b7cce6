/**
 * External daemons the master runs beside the workers (--attach-daemon and
 * friends; uWSGI's core/daemons.c): Celery, qcluster, a queue consumer.
 *
 * - A plain daemon must stay in the foreground: when it exits it is started
 *   again, throttled as uWSGI does when it keeps dying (one more second of
 *   delay per quick respawn, at most 300 or max_throttle).
 * - A smart daemon (a pidfile) may daemonize: the master checks its pidfile
 *   every second and starts it again when the pid in it is gone. It outlives
 *   the master (unless notifypid), so a restart does not restart it.
 * - Each runs in its own session (setsid) via /bin/sh -c, so the stop signal
 *   reaches everything it started; on shutdown a plain daemon gets its stop
 *   signal every second and SIGKILL after 3 seconds, as in uWSGI.
 * - Their output goes to the master's log.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ctime } from '../worker/access-log';
import { TouchWatcher } from './touch';
import type { DaemonSpec } from './daemon-specs';

/** What the master lends a daemon manager. */
export interface DaemonHost {
  log(line: string): void;
  /** Relay a child's stdout/stderr pipes into the log (absent: the daemon inherits the master's). */
  relay?: (child: ChildProcess) => void;
  /** A control daemon died: the instance stops. */
  stopInstance(): void;
  now?: () => number;
}

/** How long a plain daemon has to die after its stop signal before SIGKILL (uWSGI: reload-mercy or 3). */
const STOP_MERCY_S = 3;
const MAX_THROTTLE_S = 300;

interface Daemon {
  spec: DaemonSpec;
  /** The process we watch: our child, or the pid read from a smart daemon's pidfile. */
  pid: number;
  child: ChildProcess | null;
  /** 0 never started, 1 just started, 2 seen alive through its pidfile. */
  status: 0 | 1 | 2;
  registered: boolean;
  respawns: number;
  lastSpawnS: number;
  pidfileChecks: number;
  /** A smart daemon's first process exited (it forked into the background). */
  hasDaemonized: boolean;
  throttleTimer: NodeJS.Timeout | null;
  touch: TouchWatcher | null;
}

export class DaemonManager {
  private readonly daemons: Daemon[];
  private readonly host: DaemonHost;
  private stopping = false;
  /** The master is going away: nothing starts again, not even a reload in progress. */
  private shutDown = false;

  constructor(specs: DaemonSpec[], host: DaemonHost) {
    this.host = host;
    this.daemons = specs.map((spec) => {
      const d: Daemon = {
        spec, pid: 0, child: null, status: 0, registered: false, respawns: 0, lastSpawnS: 0, pidfileChecks: 0,
        hasDaemonized: false, throttleTimer: null, touch: null,
      };
      if (spec.touch.length > 0) d.touch = new TouchWatcher(spec.touch.map((file) => ({ file, action: () => this.touched(d, file) })));
      return d;
    });
  }

  get count(): number {
    return this.daemons.length;
  }

  /** uWSGI's uwsgi_daemons_spawn_all: after the workers are spawned. */
  startAll(): void {
    if (this.shutDown) return;
    this.stopping = false;
    for (const d of this.daemons) {
      if (d.registered) continue;
      d.registered = true;
      const alive = d.spec.pidfile !== undefined ? pidFromPidfile(d.spec.pidfile) : -1;
      if (alive > 0) {
        d.pid = alive;
        this.host.log(`[uwsgi-daemons] found valid/active pidfile for "${d.spec.command}" (pid: ${alive})`);
      } else this.spawn(d);
    }
  }

  /** Once a second: smart daemons' pidfiles, touch files. */
  tick(): void {
    if (this.stopping) return;
    for (const d of this.daemons) {
      if (d.spec.pidfile !== undefined && d.registered) this.checkPidfile(d, d.spec.pidfile);
      if (d.pid > 0) d.touch?.check();
    }
  }

  /**
   * Shutdown (reloading = false) or the first half of a reload: plain
   * daemons are stopped and not respawned; smart ones keep running unless
   * notifypid asks for them to be told.
   */
  async stop(reloading: boolean): Promise<void> {
    this.stopping = true;
    if (!reloading) this.shutDown = true;
    const waits: Array<Promise<void>> = [];
    for (const d of this.daemons) {
      if (d.throttleTimer !== null) {
        clearTimeout(d.throttleTimer);
        d.throttleTimer = null;
      }
      if (d.spec.pidfile === undefined && d.child !== null && d.pid > 0) waits.push(this.stopPlain(d, reloading));
      if (d.spec.notifyPid && d.spec.pidfile !== undefined && d.pid > 0) {
        killGroup(d.pid, reloading ? (d.spec.reloadSignal > 0 ? d.spec.reloadSignal : 1) : d.spec.stopSignal);
      }
      d.registered = false;
    }
    await Promise.all(waits);
  }

  /** A graceful reload: plain daemons are restarted, as uWSGI's re-exec does; smart ones are found again by pidfile. */
  async reload(): Promise<void> {
    await this.stop(true);
    this.startAll();
  }

  private stopPlain(d: Daemon, reloading: boolean): Promise<void> {
    const child = d.child as ChildProcess;
    const signal = reloading && d.spec.reloadSignal > 0 ? d.spec.reloadSignal : d.spec.stopSignal;
    this.host.log(`[uwsgi-daemons] stopping daemon (pid: ${d.pid}): ${d.spec.command}`);
    return new Promise((resolve) => {
      let waited = 0;
      const send = (): void => killGroup(d.pid, signal);
      const timer = setInterval(() => {
        waited++;
        if (waited < STOP_MERCY_S) return send();
        this.host.log(`[uwsgi-daemons] daemon did not die in time, killing (pid: ${d.pid}): ${d.spec.command}`);
        killGroup(d.pid, 9);
      }, 1000);
      child.once('exit', () => {
        clearInterval(timer);
        resolve();
      });
      if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(timer);
        resolve();
        return;
      }
      send();
    });
  }

  private nowS(): number {
    return Math.floor((this.host.now?.() ?? Date.now()) / 1000);
  }

  /** uWSGI's uwsgi_spawn_daemon: a daemon that keeps dying is started ever later. */
  private spawn(d: Daemon): void {
    if (!d.registered || this.stopping) return;
    const now = this.nowS();
    let throttle = 0;
    if (now - d.lastSpawnS <= 3) {
      throttle = Math.max(1, d.respawns - (now - d.lastSpawnS));
      throttle = Math.min(throttle, d.spec.maxThrottle > 0 ? d.spec.maxThrottle : MAX_THROTTLE_S);
    }
    d.status = 1;
    d.pidfileChecks = 0;
    d.hasDaemonized = false;
    d.respawns++;
    d.lastSpawnS = now;
    if (throttle === 0) {
      this.exec(d);
      return;
    }
    this.host.log(`[uwsgi-daemons] throttling "${d.spec.command}" for ${throttle} seconds`);
    d.pid = -1;
    d.throttleTimer = setTimeout(() => {
      d.throttleTimer = null;
      if (d.registered && !this.stopping) this.exec(d);
    }, throttle * 1000);
  }

  private exec(d: Daemon): void {
    const spec = d.spec;
    // A smart daemon outlives the master: it gets the master's descriptors, not pipes that close with it.
    const relay = spec.pidfile === undefined && this.host.relay !== undefined;
    const stdio: StdioOptions = [spec.stdin ? 'inherit' : 'ignore', relay ? 'pipe' : 'inherit', relay ? 'pipe' : 'inherit'];
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    this.host.log(`[uwsgi-daemons] ${d.respawns > 1 ? 're' : ''}spawning "${spec.command}" (uid: ${uid} gid: ${gid})`);
    const child = spawn('/bin/sh', ['-c', spec.command], { detached: true, stdio, ...(spec.chdir !== undefined ? { cwd: spec.chdir } : {}) });
    d.child = child;
    d.pid = child.pid ?? -1;
    if (relay) this.host.relay?.(child);
    child.on('error', (err) => this.host.log(`[uwsgi-daemons] unable to spawn "${spec.command}": ${err.message}`));
    child.on('exit', () => this.onExit(d, child));
    if (spec.daemonize && spec.pidfile !== undefined && d.pid > 0) writePidfile(spec.pidfile, d.pid, this.host.log);
  }

  private onExit(d: Daemon, child: ChildProcess): void {
    if (d.child !== child) return;
    d.child = null;
    if (d.spec.pidfile !== undefined) {
      // The first process of a smart daemon exits once it has forked into the background.
      if (!d.spec.daemonize) d.hasDaemonized = true;
      return;
    }
    const pid = d.pid;
    d.pid = -1;
    if (this.stopping || !d.registered) {
      this.host.log(`daemon "${d.spec.command}" (pid: ${pid}) annihilated`);
      return;
    }
    if (d.spec.control) {
      this.host.log(`control daemon "${d.spec.command}" (pid: ${pid}) died: stopping the instance`);
      this.host.stopInstance();
      return;
    }
    this.spawn(d);
  }

  /** uWSGI's uwsgi_daemons_smart_check, for one daemon. */
  private checkPidfile(d: Daemon, pidfile: string): void {
    const checked = pidFromPidfile(pidfile);
    const cmd = d.spec.command;
    if (checked <= 0) {
      if (d.status === 2 || (d.spec.daemonize && d.child === null && d.throttleTimer === null)) {
        this.spawn(d);
        return;
      }
      if (d.throttleTimer !== null) return;
      d.pidfileChecks++;
      if (d.pidfileChecks < d.spec.freq) return;
      if (!d.hasDaemonized && !d.spec.daemonize) {
        this.host.log(`${ctime(Date.now())} - [uwsgi-daemons] "${cmd}" (pid: ${d.pid}) did not daemonize !!!`);
        d.pidfileChecks = 0;
      } else {
        this.host.log(`[uwsgi-daemons] found changed pidfile for "${cmd}" (old_pid: ${d.pid} new_pid: ${checked})`);
        this.spawn(d);
      }
    } else if (checked !== d.pid) {
      this.host.log(`[uwsgi-daemons] found changed pid for "${cmd}" (old_pid: ${d.pid} new_pid: ${checked})`);
      d.pid = checked;
    } else d.status = 2;
  }

  private touched(d: Daemon, file: string): void {
    this.host.log(`${ctime(Date.now())} - *** ${file} has been touched... reloading daemon "${d.spec.command}" (pid: ${d.pid}) !!! ***`);
    killGroup(d.pid, d.spec.stopSignal);
  }
}

/** The pid in a pidfile if that process exists, else -1 (uWSGI's uwsgi_check_pidfile). */
export function pidFromPidfile(file: string): number {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'latin1').trim(), 10);
  } catch {
    return -1;
  }
  if (!Number.isInteger(pid) || pid <= 0) return -1;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : -1;
  }
}

/** The daemon's whole session (it is a group leader); its pid alone when the group is gone. */
function killGroup(pid: number, signal: number): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function writePidfile(file: string, pid: number, log: (line: string) => void): void {
  try {
    writeFileSync(file, `${pid}\n`);
  } catch (err) {
    log(`[uwsgi-daemons] cannot write pidfile ${file}: ${(err as Error).message}`);
  }
}
