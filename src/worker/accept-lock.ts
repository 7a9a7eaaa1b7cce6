/**
 * --thunder-lock: the workers take turns watching the listening sockets, so a
 * new connection wakes one idle worker instead of all of them (uWSGI's
 * "Serializing accept(), AKA Thundering Herd").
 *
 * uWSGI keeps a pthread robust mutex in shared memory. Here the lock is an
 * exclusive flock(2) on the master's shared scoreboard file (an inherited
 * memfd nothing else flocks): each worker opens its own description of it
 * through /proc/self/fd (flock locks belong to a description, and inherited
 * descriptors all share the master's), and the kernel drops the lock when the
 * process dies, however it dies (kill -9 included).
 *
 * Waiting must not block the event loop (keep-alive connections are served
 * meanwhile), so the blocking flock runs on a libuv threadpool thread (koffi's
 * async call), after a busy spell first one non-blocking try (the lock is free when
 * every other worker is busy: no threadpool trip then); there is no polling. Two
 * consequences, handled here:
 *
 * - A blocked flock cannot be cancelled. To give up a wait (before the inline
 *   runner blocks the loop in Python) its descriptor number is pointed at a
 *   private file (dup2): the blocked call keeps the lock file's description
 *   alive, and when the lock is granted to it the kernel releases it as the
 *   call returns (the last reference goes), without waiting for our loop. A
 *   call that had not started yet locks the private file instead, harmlessly.
 *   The number is closed only once the call has returned, so it is never
 *   reused under it. At most one thread per worker is ever blocked: a new
 *   wait starts only once an abandoned one has returned.
 * - exit() waits for libuv's threadpool threads, and a thread blocked in
 *   flock would make that wait last until another worker lets the lock go
 *   (forever, if it stays idle). While one is blocked, the process leaves with
 *   _exit(2) from its 'exit' event instead (Node's own output is synchronous
 *   to pipes and files, so nothing written is lost).
 */
import { closeSync, openSync } from 'node:fs';
import { koffi, libc } from '../util/libc';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

type FlockFn = ((fd: number, op: number) => number) & {
  async(fd: number, op: number, cb: (err: unknown, res: number) => void): void;
};

interface LockCalls {
  flock: FlockFn;
  dup2(from: number, to: number): number;
  exit(code: number): never;
}

let calls: LockCalls | undefined;

function lockCalls(): LockCalls {
  if (calls !== undefined) return calls;
  const lib = koffi.load('libc.so.6');
  calls = {
    flock: lib.func('int flock(int, int)') as FlockFn,
    dup2: lib.func('int dup2(int, int)'),
    exit: lib.func('void _exit(int)') as unknown as (code: number) => never,
  };
  return calls;
}

export interface AcceptLockHost {
  /** The lock is ours now: start watching the listeners (if still wanted). */
  acquired(): void;
  log(line: string): void;
}

/** One worker's side of the shared accept lock. */
export class AcceptLock {
  private readonly path: string;
  private readonly host: AcceptLockHost;
  /** This worker's own description of the lock file, -1 when none is open. */
  private fd = -1;
  private state: 'free' | 'waiting' | 'held' = 'free';
  /** Whether the worker wants to watch the listeners (a core is free). */
  private wanted = false;
  /** The descriptor of a wait given up, still in a threadpool thread; -1 when none. */
  private abandonedFd = -1;
  /** A private file nobody else locks, put in place of an abandoned wait's descriptor. */
  private decoyFd = -1;
  private exitGuard = false;
  private failed = false;

  /** `sharedFd`: the inherited descriptor of the instance-wide lock file. */
  constructor(sharedFd: number, host: AcceptLockHost) {
    this.path = `/proc/self/fd/${sharedFd}`;
    this.host = host;
  }

  /** The worker may watch its listeners: the lock is ours (or cannot work, see fail()). */
  get mayWatch(): boolean {
    return this.state === 'held' || this.failed;
  }

  /**
   * Want the lock: returns at once; `acquired` is called when it is ours.
   * `tryFirst`: after a busy spell, try a non-blocking flock first (free when
   * every other worker is busy). Not right after letting it go: that would
   * snatch it back before the waiters it just woke, and one worker would take
   * every connection.
   */
  acquire(tryFirst: boolean): void {
    this.wanted = true;
    if (this.state === 'free' && this.abandonedFd < 0) this.startWait(tryFirst);
  }

  /**
   * Let the lock go (accepted what a free core can start; busy; stopping). A
   * wait in progress stays, and gives the lock back as soon as it gets it,
   * unless the worker wants it again by then.
   */
  release(): void {
    this.wanted = false;
    if (this.state !== 'held') return;
    lockCalls().flock(this.fd, LOCK_UN);
    this.state = 'free';
  }

  /**
   * Let the lock go and give up waiting for it: the event loop is about to
   * block (Python on the inline path), and a wait granted meanwhile would
   * hold the lock, unused, for as long as the app runs.
   */
  releaseAndAbandon(): void {
    this.release();
    if (this.state !== 'waiting') return;
    if (this.decoyFd < 0) this.decoyFd = libc().memfd_create('nuwsgi-thunder-decoy', 0);
    // The blocked call now releases the lock itself when it gets it.
    if (this.decoyFd < 0 || lockCalls().dup2(this.decoyFd, this.fd) < 0) return; // cannot abandon: the wait stays, and release() applies when it ends
    this.abandonedFd = this.fd;
    this.fd = -1;
    this.state = 'free';
  }

  private startWait(tryFirst: boolean): void {
    if (this.failed) return;
    if (this.fd < 0) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch (err) {
        this.fail(`cannot open the thunder lock (${this.path}): ${(err as Error).message}`);
        return;
      }
    }
    // Free (every other worker busy): taken at once, without a trip through the threadpool.
    if (tryFirst && lockCalls().flock(this.fd, LOCK_EX | LOCK_NB) === 0) {
      this.state = 'held';
      this.host.acquired();
      return;
    }
    this.state = 'waiting';
    this.guardExit();
    lockCalls().flock.async(this.fd, LOCK_EX, (err, res) => this.waited(err === null && res === 0));
  }

  private waited(ok: boolean): void {
    if (this.abandonedFd >= 0) {
      // The one call in flight was abandoned: the kernel has already dropped the lock (or it locked the decoy).
      closeSync(this.abandonedFd);
      this.abandonedFd = -1;
      lockCalls().flock(this.decoyFd, LOCK_UN); // in case the call locked the decoy: /proc/locks stays truthful
      if (this.wanted && this.state === 'free') this.startWait(false);
      return;
    }
    if (!ok) {
      this.state = 'free';
      this.fail('flock() on the thunder lock failed');
      return;
    }
    this.state = 'held';
    if (!this.wanted) {
      this.release();
      return;
    }
    this.host.acquired();
  }

  /** Without a working lock the worker accepts as it would without --thunder-lock, rather than never. */
  private fail(message: string): void {
    this.failed = true;
    this.host.log(`${message}: accepting without it\n`);
    this.host.acquired();
  }

  /** A blocked flock would make exit() wait for it: leave with _exit(2) while one may be. */
  private guardExit(): void {
    if (this.exitGuard) return;
    this.exitGuard = true;
    process.on('exit', (code) => {
      if (this.state === 'waiting' || this.abandonedFd >= 0) lockCalls().exit(code);
    });
  }
}
