/**
 * One vassal's life as the emperor sees it: an explicit state machine, with
 * each timer attached to the state it belongs to.
 *
 *   starting ──accepting──▶ ready ──file touched / SIGHUP──▶ reloading ──accepting──▶ ready
 *      │                      │                                 │
 *      └──── died ────────────┴──────────── died ───────────────┴──▶ throttled ──timer──▶ starting
 *   any running state ──file gone / ragnarok──▶ stopping ──exited──▶ dead
 *
 * An on-demand vassal (emperor-on-demand-*) starts in 'on-demand': the
 * emperor holds its socket and the first connection starts it. Its byte 22
 * (die-on-idle) stops it and brings it back to 'on-demand'.
 *
 *   on-demand ──connection──▶ starting ...   ready ──22──▶ stopping ──exited──▶ on-demand
 *
 * Timers: 'stopping' has the mercy (then SIGKILL to the whole group),
 * 'throttled' the respawn delay; every running state has the heartbeat
 * watchdog once the vassal has sent a first heartbeat, and a short grace
 * once its channel closed (then it is cursed: stopped).
 */
import type { VassalFile } from './monitor';
import { TO_EMPEROR, TO_VASSAL } from './protocol';
import type { SpawnRequest, SpawnVassal, VassalProcess } from './spawn';
import { Throttle } from './throttle';

export type VassalState = 'on-demand' | 'starting' | 'ready' | 'reloading' | 'stopping' | 'throttled' | 'dead';

export interface VassalPolicy {
  throttleMs: number;
  maxThrottleMs: number;
  curseToleranceMs: number;
  requiredHeartbeatMs: number;
  gracefulShutdown: boolean;
}

export interface VassalHooks {
  /** A plain log line. */
  log(line: string): void;
  /** uWSGI's uwsgi_log_verbose: the line gets a date. */
  logVerbose(line: string): void;
  spawn: SpawnVassal;
  /** The command line, environment and identity for a (re)start of this file. */
  request(file: VassalFile): SpawnRequest;
  /** Any state change (readiness bookkeeping, sd_notify status). */
  changed(vassal: Vassal): void;
  /** The vassal reached 'dead': forget it. */
  gone(vassal: Vassal): void;
}

/** The socket the emperor holds for an on-demand vassal. */
export interface OnDemandSocket {
  readonly name: string;
  /** The listening descriptor, handed to the vassal as its descriptor 0. */
  readonly fd: number;
  /** Calls back once when a connection waits (nothing is accepted); returns a cancel function. */
  watch(onConnection: () => void): () => void;
  close(): void;
}

/** How long a vassal whose channel closed has to exit before it counts as cursed. */
const CHANNEL_CLOSE_GRACE_MS = 1000;

export class Vassal {
  state: VassalState = 'starting';
  file: VassalFile;
  proc: VassalProcess | null = null;
  /** This process came up healthy once; reset by each new process. */
  loyal = false;
  /** The master runs (byte 1) / every worker is ready (byte 5), for this process. */
  spawned = false;
  accepting = false;
  respawns = 0;
  readonly firstRunMs = Date.now();
  lastRunMs = 0;
  lastLoyalMs = 0;
  lastSpawnedMs = 0;
  lastAcceptingMs = 0;
  lastHeartbeatMs = 0;
  cursedAtMs = 0;
  readonly throttle: Throttle;
  /** On-demand only: where it is reached (set at once) and the bound socket (once the emperor bound it). */
  readonly onDemandName: string | undefined;
  private onDemand: OnDemandSocket | null = null;
  /** A stop that ends in 'on-demand' rather than 'dead' (the vassal asked, with byte 22). */
  private backToOnDemand = false;
  private stateTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private cancelWatch: (() => void) | null = null;

  constructor(
    file: VassalFile,
    private readonly policy: VassalPolicy,
    private readonly hooks: VassalHooks,
    onDemandName?: string,
  ) {
    this.file = file;
    this.throttle = new Throttle(policy.throttleMs, policy.maxThrottleMs);
    this.onDemandName = onDemandName;
    if (onDemandName !== undefined) this.state = 'on-demand';
  }

  get name(): string {
    return this.file.name;
  }

  /** Running: a process exists and is not being stopped. */
  get running(): boolean {
    return this.state === 'starting' || this.state === 'ready' || this.state === 'reloading';
  }

  // ------------------------------------------------------------------ commands

  /** On-demand: the emperor bound the socket; the vassal starts on its first connection. */
  awaitConnection(socket: OnDemandSocket): void {
    this.onDemand = socket;
    this.waitOnSocket();
  }

  start(): void {
    this.clearTimers();
    this.loyal = false;
    this.spawned = false;
    this.accepting = false;
    this.lastHeartbeatMs = 0;
    this.cursedAtMs = 0;
    this.lastRunMs = Date.now();
    this.enter('starting');
    const request = this.hooks.request(this.file);
    this.proc = this.hooks.spawn(this.onDemand === null ? request : { ...request, stdinFd: this.onDemand.fd }, {
      onByte: (byte) => this.onByte(byte),
      onChannelClosed: () => this.onChannelClosed(),
      onExit: (code, signal, error) => this.onExit(code, signal, error),
    });
  }

  /** The file's mtime (or inode) changed: reload gracefully; a throttled vassal is retried at once. */
  fileChanged(file: VassalFile): void {
    this.file = file;
    if (this.state === 'on-demand') return; // read when the next connection starts it
    if (this.state === 'throttled') {
      this.hooks.logVerbose(`[emperor] ${this.name} changed while throttled: starting it now`);
      this.respawns++;
      this.start();
      return;
    }
    this.reload();
  }

  /** Graceful reload (emperor SIGHUP, file touched). */
  reload(): void {
    if (!this.running || this.proc === null) return;
    if (!this.proc.send(TO_VASSAL.reload)) return; // the channel is gone: its exit follows
    this.respawns++;
    this.lastRunMs = Date.now();
    this.accepting = false;
    this.hooks.logVerbose(`[emperor] reload the uwsgi instance ${this.name}`);
    this.enter('reloading');
  }

  /** Graceful stop (file gone, ragnarok, tyrant owner change); SIGKILL after the mercy. */
  stop(): void {
    this.backToOnDemand = false;
    if (this.state === 'stopping' || this.state === 'dead') return;
    if (this.state === 'throttled' || this.state === 'on-demand' || this.proc === null) {
      this.clearTimers();
      this.die();
      return;
    }
    this.proc.send(this.policy.gracefulShutdown ? TO_VASSAL.gracefulStop : TO_VASSAL.stop);
    this.hooks.logVerbose(`[emperor] stop the uwsgi instance ${this.name}`);
    this.curse();
  }

  /** SIGURG: forget the throttling; a throttled vassal starts now. */
  clearThrottle(): void {
    this.throttle.reset();
    if (this.state === 'throttled') this.start();
  }

  // -------------------------------------------------------------------- events

  private onByte(byte: number): void {
    const now = Date.now();
    switch (byte) {
      case TO_EMPEROR.spawned:
        this.spawned = true;
        this.lastSpawnedMs = now;
        this.hooks.logVerbose(`[emperor] vassal ${this.name} has been spawned`);
        return;
      case TO_EMPEROR.accepting:
        this.accepting = true;
        this.lastAcceptingMs = now;
        this.hooks.logVerbose(`[emperor] vassal ${this.name} is ready to accept requests`);
        if (this.state === 'starting' || this.state === 'reloading') this.enter('ready');
        return;
      case TO_EMPEROR.loyal:
        this.loyal = true;
        this.lastLoyalMs = now;
        this.throttle.reset();
        this.hooks.logVerbose(`[emperor] vassal ${this.name} is now loyal`);
        this.hooks.changed(this);
        return;
      case TO_EMPEROR.heartbeat:
        this.onHeartbeat(now);
        return;
      case TO_EMPEROR.voluntaryStop:
        if (this.onDemand !== null) this.returnToOnDemand();
        else this.stop();
        return;
      default:
        // 2 (config request) and 30 (broodlord) are uWSGI features nuwsgi has no counterpart for.
        this.hooks.log(`[emperor] vassal ${this.name} sent unsupported message ${byte}: ignored`);
    }
  }

  private onHeartbeat(now: number): void {
    this.lastHeartbeatMs = now;
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    if (!this.running) return;
    this.heartbeatTimer = setTimeout(() => this.heartbeatMissed(), this.policy.requiredHeartbeatMs);
  }

  private heartbeatMissed(): void {
    this.heartbeatTimer = null;
    if (!this.running || this.proc === null) return;
    const secs = this.policy.requiredHeartbeatMs / 1000;
    this.hooks.log(`[emperor] vassal ${this.name} sent no heartbeat in last ${secs} seconds, brutally respawning it...`);
    this.proc.kill('SIGKILL');
  }

  /**
   * The channel closed. Usually the process is dying and its exit follows at
   * once; if it still lives after a moment it can no longer be told anything,
   * so it is cursed (uWSGI's word): stopped, then killed after the mercy.
   */
  private onChannelClosed(): void {
    if (!this.running || this.proc === null) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      if (!this.running || this.proc === null) return;
      this.hooks.logVerbose(`[emperor] curse the uwsgi instance ${this.name} (pid: ${this.proc.pid})`);
      this.proc.kill('SIGTERM');
      this.curse();
    }, CHANNEL_CLOSE_GRACE_MS);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    const pid = this.proc?.pid ?? -1;
    this.proc = null;
    this.spawned = false;
    this.accepting = false;
    this.clearTimers();
    if (this.state === 'stopping') {
      if (this.backToOnDemand) this.waitOnSocket();
      else this.die();
      return;
    }
    const how = error !== undefined ? `could not be started: ${error.message}` : signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    this.hooks.logVerbose(`[emperor] vassal ${this.name} (pid: ${pid}) ${how}`);
    this.scheduleRespawn();
  }

  // ---------------------------------------------------------------- internals

  /** A loyal vassal comes back at once (at most one start per emperor-throttle); another waits its throttle. */
  private scheduleRespawn(): void {
    const now = Date.now();
    let delay: number;
    if (this.loyal) {
      delay = Math.max(0, this.lastRunMs + this.policy.throttleMs - now);
    } else {
      const step = this.throttle.next(now);
      if (step.badBehaving) this.hooks.logVerbose(`[emperor] unloyal bad behaving vassal found: ${this.name} throttling it...`);
      if (step.maxReached) this.hooks.logVerbose(`[emperor] maximum throttle level for vassal ${this.name} reached !!!`);
      delay = step.delayMs;
    }
    this.hooks.logVerbose(`[emperor] respawning vassal ${this.name} in ${delay} ms${this.loyal ? '' : ` (throttled, attempt ${this.throttle.entry()?.attempt ?? 1})`}`);
    this.enter('throttled');
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.respawns++;
      this.start();
    }, delay);
  }

  /** Byte 22 from an on-demand vassal (die-on-idle): stop it and hold its socket again. */
  private returnToOnDemand(): void {
    if (!this.running || this.proc === null) return;
    this.proc.send(this.policy.gracefulShutdown ? TO_VASSAL.gracefulStop : TO_VASSAL.stop);
    this.hooks.logVerbose(`[emperor] bringing back instance ${this.name} to on-demand mode`);
    this.curse();
    this.backToOnDemand = true;
  }

  private waitOnSocket(): void {
    const socket = this.onDemand as OnDemandSocket;
    const again = this.backToOnDemand;
    this.backToOnDemand = false;
    this.clearTimers();
    this.enter('on-demand');
    const how = again ? 'back to "on demand" mode' : '"on demand" instance detected';
    this.hooks.log(`[nuwsgi-emperor] ${this.name} -> ${how}, waiting for connections on socket "${socket.name}" ...`);
    this.cancelWatch = socket.watch(() => {
      this.cancelWatch = null;
      this.start();
    });
  }

  private curse(): void {
    this.cursedAtMs = Date.now();
    this.clearTimers();
    this.enter('stopping');
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.hooks.logVerbose(`[emperor] NO MERCY for vassal ${this.name} !!!`);
      this.proc?.kill('SIGKILL');
    }, this.policy.curseToleranceMs);
  }

  private die(): void {
    this.onDemand?.close();
    this.onDemand = null;
    this.enter('dead');
    this.hooks.logVerbose(`[emperor] removed uwsgi instance ${this.name}`);
    this.hooks.gone(this);
  }

  private enter(state: VassalState): void {
    this.state = state;
    this.hooks.changed(this);
  }

  private clearTimers(): void {
    this.cancelWatch?.();
    this.cancelWatch = null;
    if (this.stateTimer !== null) clearTimeout(this.stateTimer);
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.stateTimer = null;
    this.heartbeatTimer = null;
  }
}
