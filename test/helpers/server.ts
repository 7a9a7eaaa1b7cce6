// Starting and stopping real servers (nuwsgi, and Debian's uWSGI as the
// oracle) from tests.
//
// Every server runs in its own process group (detached: true), so stopping
// it can kill workers too, and every started server is registered so that a
// test that fails or forgets stop() still leaves nothing behind: a top-level
// after() hook, the 'exit' event and fatal signals all kill what is left.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { Endpoint, HttpConnection, openSocket } from './http';
import { BoundSocket, SocketKind, parseBoundSockets, socketKindsFromArgs } from './ports';
import { killGroup, processGroupMembers } from './procs';
import { uwsgiRequest } from './uwsgi';
import { registerCleanup } from './cleanup';

export interface StartOptions {
  /** Working directory; defaults to the repository root (so examples/... paths work). */
  cwd?: string;
  /** Added to the inherited environment; an undefined value removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Path requested (HTTP, or over uwsgi) to decide the server is ready. Default "/". */
  readyPath?: string;
  /** How long start may take, until every socket answers. Default 30 s (CPython + Django imports on a busy 2-core CI). */
  deadlineMs?: number;
  /** false: return right after spawning (for tests of startup failures or logs). */
  waitReady?: boolean;
  /** Number of "socket N bound" lines to wait for; default: the socket flags in args (at least 1). */
  expectSockets?: number;
  /** Copy the server's output to this process's stderr (also: NUWSGI_TEST_ECHO=1). */
  echo?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopResult extends ExitInfo {
  /** Members of the server's process group still alive after it exited (then SIGKILLed). */
  orphans: number[];
  /** True if the server ignored the signal until the deadline and was SIGKILLed. */
  killed: boolean;
}

export interface RunResult extends ExitInfo {
  logs: string;
  /** True if it did not exit by itself before the deadline (it was killed). */
  timedOut: boolean;
}

const DEFAULT_START_DEADLINE_MS = 30_000;
const DEFAULT_STOP_DEADLINE_MS = 15_000;
/** How long workers may outlive their master before they count as orphans. */
const ORPHAN_GRACE_MS = 2_000;

/** Thrown when a server exits or is not ready before its deadline; carries its logs. */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
  constructor(
    message: string,
    readonly logs: string,
    readonly exit: ExitInfo | undefined,
  ) {
    super(`${message}\n--- server output (last 4000 chars) ---\n${logs.slice(-4000)}`);
  }
}

let cachedRoot: string | undefined;

/** The repository root: the nearest ancestor with nuwsgi's package.json (works from test/ and dist/test/). */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nuwsgi') {
      cachedRoot = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no nuwsgi package.json above ${__dirname}`);
  }
}

export function nuwsgiBin(): string {
  return join(repoRoot(), 'bin', 'nuwsgi');
}

const liveServers = new Set<ServerProcess>();

/** A started server: its process, output, bound sockets, and how to stop it. */
export class ServerProcess {
  readonly pid: number;
  private output = '';
  private exitInfo: ExitInfo | undefined;
  private stdioClosed = false;
  private wakers: Array<() => void> = [];
  private stopping: Promise<StopResult> | undefined;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    /** Kinds of the sockets asked for on the command line, in socket order. */
    readonly kinds: readonly SocketKind[],
    echo: boolean,
  ) {
    this.pid = proc.pid as number;
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output += text;
      if (echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${name} ${this.pid}] `));
      this.wake();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      this.wake();
    });
    proc.on('close', () => {
      this.stdioClosed = true;
      this.wake();
    });
  }

  /** Everything the server wrote to stdout and stderr so far, interleaved as received. */
  logs(): string {
    return this.output;
  }

  /** Bound sockets parsed from the log so far, in socket order. */
  get sockets(): BoundSocket[] {
    return parseBoundSockets(this.output, this.kinds);
  }

  /** TCP ports in socket order. */
  get ports(): number[] {
    return this.sockets.flatMap((s) => (s.port === undefined ? [] : [s.port]));
  }

  /** The first TCP socket made by --http-socket/--http11-socket. */
  get httpPort(): number | undefined {
    return this.sockets.find((s) => s.kind === 'http' && s.port !== undefined)?.port;
  }

  /** The first TCP socket made by --socket/--uwsgi-socket. */
  get uwsgiPort(): number | undefined {
    return this.sockets.find((s) => s.kind === 'uwsgi' && s.port !== undefined)?.port;
  }

  /** Set once the main process exited. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Sends a signal to the main process only (as an init system or `kill PID` would). */
  signal(sig: NodeJS.Signals): void {
    if (this.exitInfo !== undefined) return;
    try {
      process.kill(this.pid, sig);
    } catch (err) {
      // It may have exited between the check and the kill; the 'exit' event follows.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /**
   * Resolves with the first log line matching re (past output included).
   * Rejects when the deadline passes or the server exits without printing it.
   */
  async waitForLog(re: RegExp, deadlineMs = 10_000): Promise<string> {
    const find = (): string | undefined => this.output.split('\n').find((line) => re.test(line));
    return this.waitUntil(find, Date.now() + deadlineMs, `a log line matching ${re}`, () => this.stdioClosed);
  }

  /** Resolves when the main process exits; rejects after deadlineMs. */
  async waitForExit(deadlineMs = DEFAULT_STOP_DEADLINE_MS): Promise<ExitInfo> {
    return this.waitUntil(() => this.exitInfo, Date.now() + deadlineMs, 'the server to exit', () => false);
  }

  /**
   * Sends `signal` to the main process and waits for it to exit; SIGKILLs the
   * whole group if it has not exited by deadlineMs. Any group member left
   * after the main process exited is reported in `orphans` and killed.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM', deadlineMs = DEFAULT_STOP_DEADLINE_MS): Promise<StopResult> {
    this.stopping ??= this.doStop(signal, deadlineMs);
    return this.stopping;
  }

  /** SIGKILLs the whole process group right away (no waiting). */
  killNow(): void {
    killGroup(this.pid, 'SIGKILL');
  }

  /**
   * Polls `probe` on every output/exit event (and at least every 50 ms) until
   * it returns a value; rejects at the deadline, or when `gaveUp` says no
   * value can come any more.
   */
  async waitUntil<T>(probe: () => T | undefined, deadline: number, what: string, gaveUp: () => boolean): Promise<T> {
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (gaveUp()) throw new ServerStartError(`${this.name} ended before ${what}`, this.output, this.exitInfo);
      const left = deadline - Date.now();
      if (left <= 0) throw new ServerStartError(`${this.name}: timed out waiting for ${what}`, this.output, this.exitInfo);
      await this.nextEvent(Math.min(left, 50));
    }
  }

  private async doStop(signal: NodeJS.Signals, deadlineMs: number): Promise<StopResult> {
    let killed = false;
    if (this.exitInfo === undefined) {
      this.signal(signal);
      if (!(await this.exitedWithin(deadlineMs))) {
        killed = true;
        this.killNow();
        await this.exitedWithin(5_000);
      }
    }
    const orphans = await this.reapGroup();
    liveServers.delete(this);
    // Let the pipes drain so logs() has the final lines (e.g. "goodbye").
    const closedBy = Date.now() + 2_000;
    while (!this.stdioClosed && Date.now() < closedBy) await this.nextEvent(closedBy - Date.now());
    const exit = this.exitInfo ?? { code: null, signal: null };
    return { code: exit.code, signal: exit.signal, orphans, killed };
  }

  private async exitedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.exitInfo === undefined && Date.now() < deadline) await this.nextEvent(deadline - Date.now());
    return this.exitInfo !== undefined;
  }

  /** Waits briefly for the group to empty, then kills and returns who was left. */
  private async reapGroup(): Promise<number[]> {
    const deadline = Date.now() + ORPHAN_GRACE_MS;
    let members = processGroupMembers(this.pid);
    while (members.length > 0 && Date.now() < deadline) {
      await this.nextEvent(50);
      members = processGroupMembers(this.pid);
    }
    if (members.length === 0) return [];
    this.killNow();
    // SIGKILL is asynchronous: wait (bounded) until they are really gone.
    const goneBy = Date.now() + 5_000;
    while (processGroupMembers(this.pid).length > 0 && Date.now() < goneBy) await this.nextEvent(20);
    return members;
  }

  /** Resolves on the next output or exit event, or after timeoutMs. */
  waitForActivity(timeoutMs: number): Promise<void> {
    return this.nextEvent(timeoutMs);
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers = this.wakers.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.wakers.push(done);
    });
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

// ---------------------------------------------------------------------------
// Leftover cleanup

function killAllNow(): void {
  for (const s of liveServers) s.killNow();
  liveServers.clear();
}

/** Stops every server this process started and did not stop (SIGKILL). */
export async function stopAllServers(): Promise<void> {
  const left = [...liveServers];
  for (const s of left) {
    process.stderr.write(`warning: ${s.name} (pid ${s.pid}) was still running after the tests; killing it\n`);
  }
  await Promise.all(left.map((s) => s.stop('SIGKILL', 5_000)));
}

registerCleanup(killAllNow, stopAllServers);

// ---------------------------------------------------------------------------
// Starting

function buildEnv(extra: StartOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawns command in its own process group, capturing output; rejects if it cannot be spawned. */
async function spawnServer(name: string, command: string, args: readonly string[], opts: StartOptions): Promise<ServerProcess> {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? repoRoot(),
    env: buildEnv(opts.env),
    detached: true, // own process group: stop() can kill the workers too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) {
    const err = await new Promise<Error>((resolve) => proc.once('error', resolve));
    throw new ServerStartError(`cannot start ${name} (${command}): ${err.message}`, '', undefined);
  }
  const server = new ServerProcess(name, proc, socketKindsFromArgs(args), opts.echo ?? process.env['NUWSGI_TEST_ECHO'] === '1');
  liveServers.add(server);
  return server;
}

/** The address to connect to for a bound socket (wildcards mean loopback). */
function endpointOf(s: BoundSocket): Endpoint {
  if (s.transport === 'unix') return s.path ?? '';
  const host = s.host === '' || s.host === '0.0.0.0' ? '127.0.0.1' : s.host === '::' ? '::1' : (s.host ?? '127.0.0.1');
  return { host, port: s.port ?? 0 };
}

/** One readiness attempt: any HTTP (or uwsgi) response counts, whatever its status. */
async function probeOnce(s: BoundSocket, readyPath: string, timeoutMs: number): Promise<void> {
  const ep = endpointOf(s);
  if (s.kind === 'http') {
    const conn = await HttpConnection.open(ep, timeoutMs);
    try {
      await conn.request({ path: readyPath, headers: { Connection: 'close' }, timeoutMs });
    } finally {
      conn.close();
    }
  } else if (s.kind === 'uwsgi') {
    await uwsgiRequest(ep, { path: readyPath, timeoutMs });
  } else {
    (await openSocket(ep, timeoutMs)).destroy(); // https/unknown: accepting connections is all we can check
  }
}

/** Retries probeOnce with backoff until it succeeds, the server exits, or the deadline. */
async function probeUntilReady(server: ServerProcess, s: BoundSocket, readyPath: string, deadline: number): Promise<void> {
  let backoff = 20;
  let lastError = '';
  for (;;) {
    if (server.exit !== undefined) throw new ServerStartError(`${server.name} exited before it was ready`, server.logs(), server.exit);
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ServerStartError(`${server.name}: socket ${s.index} not answering (${lastError})`, server.logs(), server.exit);
    }
    try {
      await probeOnce(s, readyPath, left);
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    // Wake early if the server prints or exits; otherwise retry after backoff.
    await server.waitForActivity(Math.min(backoff, deadline - Date.now()));
    backoff = Math.min(backoff * 2, 250);
  }
}

async function waitUntilReady(server: ServerProcess, opts: StartOptions): Promise<void> {
  const deadline = Date.now() + (opts.deadlineMs ?? DEFAULT_START_DEADLINE_MS);
  const expected = opts.expectSockets ?? Math.max(1, server.kinds.length);
  const sockets = await server.waitUntil(
    () => (server.sockets.length >= expected ? server.sockets : undefined),
    deadline,
    `${expected} "socket N bound" log line(s)`,
    () => server.exit !== undefined,
  );
  for (const s of sockets) await probeUntilReady(server, s, opts.readyPath ?? '/', deadline);
}

/**
 * Starts any uWSGI-compatible server and waits until each bound socket
 * answers. On failure the server is killed and a ServerStartError (with logs)
 * is thrown.
 */
export async function startServer(
  name: string,
  command: string,
  args: readonly string[],
  opts: StartOptions = {},
): Promise<ServerProcess> {
  const server = await spawnServer(name, command, args, opts);
  if (opts.waitReady === false) return server;
  try {
    await waitUntilReady(server, opts);
  } catch (err) {
    await server.stop('SIGKILL', 5_000);
    throw err;
  }
  return server;
}

/** Starts ./bin/nuwsgi (with this Node) from the repository root. */
export function startNuwsgi(args: readonly string[], opts: StartOptions = {}): Promise<ServerProcess> {
  return startServer('nuwsgi', process.execPath, [nuwsgiBin(), ...args], opts);
}

/**
 * Debian's real uWSGI with its python3 plugin: the oracle for comparisons.
 * --die-on-term makes SIGTERM a shutdown (uWSGI 2.0 reloads on SIGTERM
 * otherwise). Known oracle quirks: without --master, uWSGI exits with code 30
 * on SIGTERM; with several workers, a SIGTERM that arrives while a worker is
 * still initializing (right after readiness, which only proves one worker
 * answers) is never acted on by that worker, so the master waits forever and
 * stop() ends up SIGKILLing the group.
 */
export function startUwsgi(args: readonly string[], opts: StartOptions = {}): Promise<ServerProcess> {
  return startServer('uwsgi', 'uwsgi', ['--plugin', 'python3', '--die-on-term', ...args], opts);
}

/** Runs a server until it exits by itself (e.g. a broken app: exit 22); kills it at the deadline. */
export async function runServer(
  name: string,
  command: string,
  args: readonly string[],
  opts: Omit<StartOptions, 'waitReady' | 'readyPath' | 'expectSockets'> = {},
): Promise<RunResult> {
  const server = await spawnServer(name, command, args, opts);
  let timedOut = false;
  try {
    await server.waitForExit(opts.deadlineMs ?? DEFAULT_START_DEADLINE_MS);
  } catch {
    timedOut = true;
  }
  const r = await server.stop('SIGKILL', 5_000);
  return { code: r.code, signal: r.signal, logs: server.logs(), timedOut };
}

/** runServer for ./bin/nuwsgi. */
export function runNuwsgi(
  args: readonly string[],
  opts: Omit<StartOptions, 'waitReady' | 'readyPath' | 'expectSockets'> = {},
): Promise<RunResult> {
  return runServer('nuwsgi', process.execPath, [nuwsgiBin(), ...args], opts);
}

/** runServer for Debian's uWSGI with the python3 plugin (the oracle). */
export function runUwsgi(
  args: readonly string[],
  opts: Omit<StartOptions, 'waitReady' | 'readyPath' | 'expectSockets'> = {},
): Promise<RunResult> {
  return runServer('uwsgi', 'uwsgi', ['--plugin', 'python3', ...args], opts);
}
