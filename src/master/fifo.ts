/**
 * uWSGI's master FIFO (--master-fifo PATH, repeatable): single-character
 * commands written to a named pipe, e.g. `echo r > /run/app.fifo` for a
 * graceful reload, several per write (`echo +++s > fifo`). Digits select the
 * active FIFO slot (the Nth --master-fifo), which is how a new instance takes
 * the pipe over from an old one. Semantics from core/master_fifo.c (2.0.21):
 * unknown bytes (the newline echo adds, anything else) are ignored silently.
 *
 * Pure parser (parseFifoInput) + a thin I/O wrapper (MasterFifo).
 */
import { openSync, constants as fsc, unlinkSync } from 'node:fs';
import net from 'node:net';
import { ctime } from '../worker/access-log';
import { NuwsgiError } from '../util/errors';
import { libc } from '../util/libc';

/** What the master implements; every handler is optional (a missing one = uWSGI's no-op). */
export interface FifoHandlers {
  /** `+` add a worker (cheaper mode) */
  addWorker?(): void;
  /** `-` remove a worker (cheaper mode) */
  removeWorker?(): void;
  /** `B` ask the Emperor for reinforcements (broodlord) */
  broodlord?(): void;
  /** `C` go cheap: stop every worker until a connection arrives */
  goCheap?(): void;
  /** `c` chain reload: one worker at a time */
  chainReload?(): void;
  /** `E` make the Emperor rescan its vassals */
  emperorRescan?(): void;
  /** `f` re-fork the master */
  reforkMaster?(): void;
  /** `l` reopen the log file */
  reopenLog?(): void;
  /** `L` rotate the log file */
  rotateLog?(): void;
  /** `p` pause / resume every worker (as SIGTSTP) */
  togglePause?(): void;
  /** `P` rewrite the pidfiles */
  rewritePidfiles?(): void;
  /** `Q` brutal shutdown (kill_them_all) */
  brutalShutdown?(): void;
  /** `q` graceful shutdown (gracefully_kill_them_all) */
  gracefulShutdown?(): void;
  /** `R` brutal reload (reap_them_all) */
  brutalReload?(): void;
  /** `r` graceful reload (grace_them_all, as SIGHUP) */
  gracefulReload?(): void;
  /** `S` block / unblock subscriptions */
  toggleSubscriptions?(): void;
  /** `s` print the stats, as SIGUSR1 */
  printStats?(): void;
  /** `W` brutal reload of the workers only */
  brutalWorkersReload?(): void;
  /** `w` graceful reload of the workers only */
  gracefulWorkersReload?(): void;
}

export type FifoHandlerName = keyof FifoHandlers;

/** uWSGI's fifo table (uwsgi_master_fifo_prepare). */
export const FIFO_COMMANDS: Readonly<Record<string, FifoHandlerName>> = {
  '+': 'addWorker',
  '-': 'removeWorker',
  B: 'broodlord',
  C: 'goCheap',
  c: 'chainReload',
  E: 'emperorRescan',
  f: 'reforkMaster',
  l: 'reopenLog',
  L: 'rotateLog',
  p: 'togglePause',
  P: 'rewritePidfiles',
  Q: 'brutalShutdown',
  q: 'gracefulShutdown',
  R: 'brutalReload',
  r: 'gracefulReload',
  S: 'toggleSubscriptions',
  s: 'printStats',
  W: 'brutalWorkersReload',
  w: 'gracefulWorkersReload',
};

export type FifoAction = { kind: 'slot'; slot: number } | { kind: 'command'; char: string; handler: FifoHandlerName } | { kind: 'ignored'; byte: number };

/** One action per byte, in order. */
export function parseFifoInput(data: Uint8Array): FifoAction[] {
  const actions: FifoAction[] = [];
  for (const byte of data) {
    const char = String.fromCharCode(byte);
    const handler = byte < 0x80 ? FIFO_COMMANDS[char] : undefined;
    if (byte >= 0x30 && byte <= 0x39) actions.push({ kind: 'slot', slot: byte - 0x30 });
    else if (handler !== undefined) actions.push({ kind: 'command', char, handler });
    else actions.push({ kind: 'ignored', byte });
  }
  return actions;
}

export interface MasterFifoOptions {
  /** Every --master-fifo, in order: slot N is paths[N]. */
  paths: readonly string[];
  handlers: FifoHandlers;
  log: (line: string) => void;
  /** Creates a named pipe (tests may replace it); default: mkfifo(3) through koffi. */
  mkfifo?: (path: string, mode: number) => void;
}

/** uWSGI creates the FIFO owner-only: S_IRUSR|S_IWUSR. */
const FIFO_MODE = 0o600;

/**
 * The open FIFO. It is opened read-write, so this process itself holds a
 * writer: a client closing its end never produces EOF (which would make the
 * descriptor readable forever), and reads simply wait for the next write.
 */
export class MasterFifo {
  private readonly opts: MasterFifoOptions;
  private slot = 0;
  private current: { path: string; sock: net.Socket } | undefined;

  private constructor(opts: MasterFifoOptions) {
    this.opts = opts;
  }

  /** Creates (or re-creates) the first FIFO and starts reading it. */
  static open(opts: MasterFifoOptions): MasterFifo {
    if (opts.paths.length === 0) throw new NuwsgiError('E_FIFO', 'no master fifo path given');
    const fifo = new MasterFifo(opts);
    fifo.attach(fifo.pathOf(0));
    return fifo;
  }

  /** The FIFO commands are read from now. */
  get activePath(): string {
    return this.current?.path ?? this.pathOf(this.slot);
  }

  /**
   * Stops reading. uWSGI leaves the FIFO file in place on exit (an instance
   * taking over may be using it); `unlink` removes the active one (--vacuum).
   */
  close(unlink = false): void {
    const cur = this.current;
    this.current = undefined;
    if (cur === undefined) return;
    cur.sock.destroy();
    if (!unlink) return;
    try {
      unlinkSync(cur.path);
    } catch {
      // already gone
    }
  }

  /** Applies one chunk of input; exposed for the master's tests. */
  handle(data: Uint8Array): void {
    for (const action of parseFifoInput(data)) {
      if (action.kind === 'slot') this.selectSlot(action.slot);
      else if (action.kind === 'command') this.run(action.char, action.handler);
    }
    // uWSGI switches to the selected slot's FIFO when the writer closes; we
    // hold a writer ourselves, so we switch once the chunk has been applied.
    const wanted = this.pathOf(this.slot);
    if (this.current !== undefined && this.current.path !== wanted) this.switchTo(wanted);
  }

  private selectSlot(slot: number): void {
    this.slot = slot;
    // uWSGI announces it at once, with its verbose-log date prefix.
    this.opts.log(`${ctime(Date.now())} - active master fifo is now ${this.pathOf(slot)}`);
  }

  private run(char: string, name: FifoHandlerName): void {
    const handler = this.opts.handlers[name];
    if (handler === undefined) return;
    try {
      handler.call(this.opts.handlers);
    } catch (err) {
      // A failing command must not stop the FIFO from reading the next ones.
      this.opts.log(`master fifo command '${char}' failed: ${(err as Error).message}`);
    }
  }

  /** uWSGI falls back to the first FIFO for a slot with no --master-fifo. */
  private pathOf(slot: number): string {
    return this.opts.paths[slot] ?? (this.opts.paths[0] as string);
  }

  private switchTo(path: string): void {
    const old = this.current;
    this.attach(path);
    // The old pipe file stays, as with uWSGI: the instance taking over may be reading it.
    old?.sock.destroy();
  }

  private attach(path: string): void {
    createFifo(path, this.opts.mkfifo ?? mkfifoWithLibc);
    let fd: number;
    try {
      fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
    } catch (err) {
      throw new NuwsgiError('E_FIFO', `cannot open master fifo ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const sock = new net.Socket({ fd, readable: true, writable: false });
    sock.on('data', (chunk: Buffer) => this.handle(chunk));
    sock.on('error', (err) => this.opts.log(`master fifo ${path}: ${err.message}`));
    // The FIFO must never be what keeps the master alive.
    sock.unref();
    this.current = { path, sock };
  }
}

/** As uWSGI: remove whatever is at the path, then make a fresh FIFO. */
function createFifo(path: string, mkfifo: (path: string, mode: number) => void): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new NuwsgiError('E_FIFO', `cannot remove ${path} to create the master fifo: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  mkfifo(path, FIFO_MODE);
}

function mkfifoWithLibc(path: string, mode: number): void {
  const c = libc();
  if (c.mkfifo(path, mode) !== 0) throw new NuwsgiError('E_FIFO', `mkfifo(${path}) failed: errno ${c.errno()}`);
}
