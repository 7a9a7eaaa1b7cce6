/**
 * The emperor: keeps one vassal running per vassal file. It rescans when a
 * watched directory changes (inotify through fs.watch) and every
 * `emperor-freq` seconds anyway (a symlink's target, a glob's deeper
 * directories and missed events are caught there).
 */
import { watch, type FSWatcher } from 'node:fs';
import { ctime } from '../worker/access-log';
import type { SystemdNotifier } from '../util/sd-notify';
import { vassalArgv, vassalEnv } from './command';
import { buildMonitor, type Monitor, type VassalFile } from './monitor';
import type { EmperorSettings } from './settings';
import type { SpawnRequest, SpawnVassal } from './spawn';
import { Vassal, type OnDemandSocket, type VassalHooks } from './vassal';
import { bindOnDemandSocket, closeOnDemandSocket, onDemandSocketName } from './on-demand';
import type { BoundSocket } from '../master/sockets';
import { ReadableWatch } from '../util/readable-watch';
import type { EmperorStatsView } from './stats';

export interface EmperorDeps {
  log: (line: string) => void;
  /** uWSGI's uwsgi_log_verbose: always dated (default: ctime, as without --log-date). */
  logVerbose?: (line: string) => void;
  notifier: SystemdNotifier;
  spawn: SpawnVassal;
  /** The environment vassals start from (before the UWSGI_VASSAL_ renaming). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Every vassal of the first scan has settled (a sub-emperor tells its own emperor). */
  onReady?: () => void;
}

/** Bursts of directory events (an editor saving a file) become one scan. */
const WATCH_DEBOUNCE_MS = 50;
/** systemd hears READY=1 at the latest this long after the first scan, even if a vassal is still starting. */
const READY_CAP_MS = 30_000;

export class Emperor {
  private readonly vassals = new Map<string, Vassal>();
  private readonly monitors: Monitor[];
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly hooks: VassalHooks;
  /** Tyrant refusals already logged: file → owner and mtime at the time. */
  private readonly refused = new Map<string, string>();
  private readonly readable = new ReadableWatch();
  private scanTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private readyCapTimer: NodeJS.Timeout | undefined;
  /** Files found by the first scan that have not settled (ready, loyal or throttled) yet; undefined once READY=1 went out. */
  private initial: Set<string> | undefined;
  private ragnarokAtMs = 0;
  private resolveBuried: ((code: number) => void) | undefined;

  constructor(
    private readonly settings: EmperorSettings,
    private readonly deps: EmperorDeps,
  ) {
    const rules = { nofollow: settings.nofollow, tyrantNofollow: settings.tyrantNofollow, extraExtensions: settings.extraExtensions };
    this.monitors = settings.monitors.map((value) => buildMonitor(value, deps.cwd, rules));
    this.hooks = {
      log: deps.log,
      logVerbose: deps.logVerbose ?? ((line) => deps.log(`${ctime(Date.now())} - ${line}`)),
      spawn: deps.spawn,
      request: (file) => this.request(file),
      changed: () => this.changed(),
      gone: (vassal) => this.gone(vassal),
    };
  }

  /** Starts every vassal found; resolves with the exit code once the emperor is buried. */
  run(): Promise<number> {
    const buried = new Promise<number>((resolve) => (this.resolveBuried = resolve));
    this.scan();
    this.initial = new Set(this.vassals.keys());
    this.readyCapTimer = setTimeout(() => this.reportReady(true), READY_CAP_MS);
    this.changed();
    this.scanTimer = setInterval(() => this.scan(), this.settings.freqMs);
    return buried;
  }

  // ------------------------------------------------------------------ commands

  /** Compare the vassal files with what runs: start, reload, stop. */
  scan(): void {
    if (this.ragnarokAtMs > 0) return;
    this.ensureWatchers();
    const found = new Map<string, VassalFile>();
    const blind = new Set<string>();
    for (const monitor of this.monitors) {
      const files = monitor.scan();
      if (files === undefined) blind.add(monitor.arg);
      for (const file of files ?? []) if (!found.has(file.key)) found.set(file.key, file);
    }
    for (const file of found.values()) this.consider(file);
    for (const vassal of this.vassals.values()) {
      // A monitor that cannot read its directory right now says nothing about its vassals: keep them.
      if (!found.has(vassal.file.key) && !blind.has(vassal.file.monitor)) vassal.stop();
    }
  }

  /** SIGHUP: reload every running vassal gracefully. */
  reloadAll(): void {
    if (this.ragnarokAtMs > 0) return;
    // Before the first READY=1, systemd is still waiting for the start: nothing to tell it yet.
    const started = this.initial === undefined;
    if (started) this.deps.notifier.reloading();
    for (const vassal of this.vassals.values()) vassal.reload();
    if (started) this.deps.notifier.ready(this.statusText());
  }

  /** SIGINT / SIGTERM / SIGQUIT: stop every vassal gracefully, then exit 0. */
  ragnarok(): void {
    const now = Date.now();
    if (this.ragnarokAtMs > 0) {
      const left = Math.max(0, Math.ceil((this.ragnarokAtMs + this.settings.curseToleranceMs - now) / 1000));
      this.deps.log(`[emperor] *** RAGNAROK ALREADY EVOKED (mercyless in ${left} seconds)***`);
      return;
    }
    this.ragnarokAtMs = now;
    this.deps.notifier.stopping();
    this.deps.log('[emperor] *** RAGNAROK EVOKED ***');
    this.stopWatching();
    for (const vassal of [...this.vassals.values()]) vassal.stop();
    this.buryIfAlone();
  }

  /** SIGUSR1: uWSGI's line per vassal, then nuwsgi's state, pid and respawns. */
  logStates(): void {
    for (const v of this.vassals.values()) {
      const status = v.state === 'stopping' ? 1 : 0;
      this.deps.log(
        `vassal instance ${v.name} (last modified ${Math.floor(v.file.mtimeMs / 1000)}) status ${status} loyal ${v.loyal ? 1 : 0} zerg 0` +
          ` state ${v.state} pid ${v.proc?.pid ?? -1} respawns ${v.respawns}`,
      );
    }
  }

  /** SIGURG: forget every vassal's throttling (uWSGI's blacklist cleanup). */
  clearBlacklist(): void {
    this.hooks.logVerbose('[emperor] cleaning up blacklist ...');
    for (const vassal of this.vassals.values()) vassal.clearThrottle();
  }

  statsView(): EmperorStatsView {
    return { monitors: this.monitors.map((m) => m.arg), tyrant: this.settings.tyrant, vassals: [...this.vassals.values()] };
  }

  // ------------------------------------------------------------------ vassals

  private consider(file: VassalFile): void {
    const vassal = this.vassals.get(file.key);
    if (vassal === undefined) {
      this.add(file);
      return;
    }
    if (vassal.state === 'stopping' || vassal.state === 'dead') return;
    if (this.settings.tyrant && (file.uid !== vassal.file.uid || file.gid !== vassal.file.gid)) {
      this.deps.log(`!!! permissions of file ${file.name} changed. stopping the instance... !!!`);
      vassal.stop();
      return;
    }
    // uWSGI reloads only on a newer mtime; a file replaced by one with an older mtime (mv, rsync -t) counts too.
    if (file.mtimeMs !== vassal.file.mtimeMs || file.ino !== vassal.file.ino) vassal.fileChanged(file);
  }

  private add(file: VassalFile): void {
    if (this.settings.tyrant && (file.uid === 0 || file.gid === 0)) {
      const signature = `${file.uid}:${file.gid}:${file.mtimeMs}`;
      if (this.refused.get(file.key) !== signature) this.deps.log(`[emperor-tyrant] invalid permissions for vassal ${file.name}`);
      this.refused.set(file.key, signature);
      return;
    }
    this.refused.delete(file.key);
    const socketName = onDemandSocketName(this.settings.onDemand, file, this.deps.log);
    const vassal = new Vassal(file, this.settings, this.hooks, socketName);
    this.vassals.set(file.key, vassal);
    if (socketName === undefined) vassal.start();
    else void this.bindOnDemand(vassal, socketName);
  }

  /** An on-demand vassal's socket: bound by the emperor, watched for its first connection. */
  private async bindOnDemand(vassal: Vassal, name: string): Promise<void> {
    let bound: BoundSocket;
    try {
      bound = await bindOnDemandSocket(name, this.settings.listen, this.deps.log);
    } catch (err) {
      this.deps.log(`[emperor] cannot bind the on-demand socket "${name}" of ${vassal.name}: ${(err as Error).message}`);
      vassal.stop(); // forgotten: the next scan tries again
      return;
    }
    const socket: OnDemandSocket = {
      name,
      fd: bound.fd,
      watch: (onConnection) => this.readable.once(bound.fd, onConnection),
      close: () => closeOnDemandSocket(bound),
    };
    if (vassal.state === 'dead') socket.close(); // its file went while we were binding
    else vassal.awaitConnection(socket);
  }

  private request(file: VassalFile): SpawnRequest {
    const request: SpawnRequest = {
      argv: vassalArgv(file.configPath, this.settings.vassalArgs),
      cwd: file.cwd,
      env: vassalEnv(this.deps.env, this.isDirMonitor(file.monitor) ? file.cwd : undefined, this.settings.requiredHeartbeatMs),
    };
    if (!this.settings.tyrant) return request;
    this.deps.log(`[emperor-tyrant] dropping privileges to ${file.uid} ${file.gid} for instance ${file.name}`);
    return { ...request, uid: file.uid, gid: file.gid };
  }

  private isDirMonitor(arg: string): boolean {
    return this.monitors.some((m) => m.arg === arg && m.kind === 'dir');
  }

  private gone(vassal: Vassal): void {
    if (this.vassals.get(vassal.file.key) === vassal) this.vassals.delete(vassal.file.key);
    this.changed();
    if (this.ragnarokAtMs > 0) this.buryIfAlone();
    else this.scanSoon(); // its file may be back already (an owner change, a voluntary stop)
  }

  // ------------------------------------------------------------ systemd, end

  private changed(): void {
    this.deps.notifier.status(this.statusText());
    if (this.initial === undefined) return;
    for (const key of [...this.initial]) {
      const v = this.vassals.get(key);
      if (v === undefined || v.loyal || v.state === 'ready' || v.state === 'throttled' || v.state === 'on-demand') this.initial.delete(key);
    }
    if (this.initial.size === 0) this.reportReady(false);
  }

  /** READY=1 once every vassal of the first scan has come up or failed (a broken one must not hold the unit). */
  private reportReady(capped: boolean): void {
    if (this.initial === undefined) return;
    if (capped) this.deps.log(`[emperor] ${this.initial.size} vassal(s) still starting after ${READY_CAP_MS / 1000} seconds: reporting ready anyway`);
    this.initial = undefined;
    clearTimeout(this.readyCapTimer);
    if (this.ragnarokAtMs > 0) return;
    this.deps.notifier.ready(this.statusText());
    this.deps.onReady?.();
  }

  private statusText(): string {
    const governed = [...this.vassals.values()].filter((v) => v.proc !== null).length;
    return `The Emperor is governing ${governed} vassals`;
  }

  private buryIfAlone(): void {
    if (this.vassals.size > 0 || this.resolveBuried === undefined) return;
    clearTimeout(this.readyCapTimer);
    this.hooks.logVerbose('The Emperor is buried.');
    this.deps.notifier.status('The Emperor is buried.');
    this.resolveBuried(0);
    this.resolveBuried = undefined;
  }

  // ----------------------------------------------------------------- watching

  private ensureWatchers(): void {
    for (const dir of new Set(this.monitors.map((m) => m.watchDir))) {
      if (dir === undefined || this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.scanSoon());
        watcher.on('error', () => {
          // The directory went away: the periodic scan carries on and watches it again when it is back.
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // Not watchable now (gone, no inotify instances left): the periodic scan covers it.
      }
    }
  }

  private scanSoon(): void {
    if (this.debounceTimer !== undefined || this.ragnarokAtMs > 0) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.scan();
    }, WATCH_DEBOUNCE_MS);
  }

  private stopWatching(): void {
    clearInterval(this.scanTimer);
    clearTimeout(this.debounceTimer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
