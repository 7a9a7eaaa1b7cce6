/**
 * Watching a listening socket for readiness: libuv's own watcher, paused
 * and resumed (pausableListener), or ours without libuv accepting
 * (watchListener). Used by transport.ts's acceptRawHandles.
 */
import { koffi } from '../util/libc';
import { fdCalls } from '../util/fd-calls';

/** The parts of a listening Pipe or TCP wrap used here. */
export interface WatchedListener {
  readonly fd: number;
}

/** Starts and stops a listener's readiness watch (libuv's own, or ours). */
export interface ListenerGate {
  pause(now: boolean): void;
  resume(): void;
  readonly paused: boolean;
  /** Ours only: stop for good and close our descriptor (the server's close() closes libuv's). */
  close?(): void;
}

type Fcntl = (fd: number, cmd: number, ...args: unknown[]) => number;
let fcntlFn: Fcntl | null | undefined;
const F_DUPFD_CLOEXEC = 1030;

/** A close-on-exec duplicate of `fd`, -1 when that fails. */
function dupCloexec(fd: number): number {
  if (fcntlFn === undefined) {
    try {
      fcntlFn = koffi.load('libc.so.6').func('int fcntl(int, int, ...)') as Fcntl;
    } catch {
      fcntlFn = null;
    }
  }
  return fcntlFn === null ? -1 : fcntlFn(fd, F_DUPFD_CLOEXEC, 'int', 0);
}

const noop = (): void => undefined;

/**
 * Watch a listening socket for readiness without libuv accepting: libuv
 * accepts the first connection of each wake-up itself, and that connection
 * got a handle (a C++ object and its JS wrapper, an `epoll_ctl(DEL)` failing
 * with ENOENT when it closed, its close callback a loop turn later) where the
 * ones we accept stay bare descriptors. Here a koffi poll handle (uv_poll_t)
 * watches a duplicate of the socket's descriptor (libuv allows one watcher
 * per descriptor), libuv's own watcher is stopped for good, and `onReady`
 * accepts. null (and nothing changed) when any of that is unavailable.
 *
 * The poll callback is not one of Node's callback scopes: ticks and promise
 * jobs queued in it would wait for the next one. An immediate (this turn's
 * check phase, usually the runner's pump already) runs them.
 */
export function watchListener(listening: WatchedListener, onReady: () => void): ListenerGate | null {
  const h = listening as unknown as { readStart?: () => number; readStop?: () => number };
  const poll = (koffi as unknown as { node?: { poll?: typeof koffi.node.poll } }).node?.poll;
  if (poll === undefined || typeof h.readStart !== 'function' || typeof h.readStop !== 'function') return null;
  const fd = dupCloexec(listening.fd);
  if (fd < 0) return null;
  const ready = (): void => {
    try {
      onReady();
    } catch (err) {
      setImmediate(() => {
        throw err; // an uncaught exception, as it would be from any other callback
      });
    }
    setImmediate(noop);
  };
  let handle: ReturnType<typeof poll>;
  try {
    handle = poll(fd, { readable: true }, ready);
  } catch {
    fdCalls()?.close(fd);
    return null;
  }
  // A listening stream's watcher stops with uv_read_stop() once uv_read_start() flagged it reading (pausableListener).
  if (h.readStart() !== 0 || h.readStop() !== 0) {
    handle.close();
    fdCalls()?.close(fd);
    return null;
  }
  leaveEpollNow(listening.fd); // libuv would leave it only on the socket's next event: one wake-up for nothing
  let paused = false;
  let closed = false;
  return {
    // uv_poll_stop() leaves the epoll set at once (uv__platform_invalidate_fd): `now` is always so.
    pause() {
      if (paused || closed) return;
      paused = true;
      handle.stop();
    },
    resume() {
      if (!paused || closed) return;
      paused = false;
      handle.start({ readable: true }, ready);
    },
    get paused() {
      return paused || closed;
    },
    close() {
      if (closed) return;
      closed = true;
      handle.close();
      fdCalls()?.close(fd);
    },
  };
}

/**
 * libuv has no "stop listening" short of closing the socket, but a listening
 * stream's POLLIN watcher is the one uv_read_stop()/uv_read_start() stop and
 * start: read_cb is never used for it (its I/O callback stays uv__server_io).
 * uv_read_start() needs the READABLE flag, which listeners opened on an
 * inherited descriptor (every worker's) have. null when this one has not: it
 * then never pauses (the old behaviour).
 */
export function pausableListener(listening: WatchedListener): ListenerGate | null {
  const h = listening as unknown as { readStart?: () => number; readStop?: () => number };
  if (typeof h.readStart !== 'function' || typeof h.readStop !== 'function' || h.readStart() !== 0) return null;
  let paused = false;
  return {
    pause(now) {
      if (paused) return;
      paused = true;
      h.readStop?.();
      if (now) leaveEpollNow(listening.fd);
    },
    resume() {
      if (!paused) return;
      paused = false;
      h.readStart?.();
    },
    get paused() {
      return paused;
    },
  };
}

const EPOLL_CTL_DEL = 2;
type EpollCtl = (epfd: number, op: number, fd: number, event: null) => number;
let loopEpoll: { fd: number; ctl: EpollCtl } | null | undefined;

/**
 * Remove a stopped watcher's descriptor from the main loop's epoll set now:
 * what uv__io_poll does itself when an event arrives for a descriptor nobody
 * watches any more (libuv's state is the same either way; a later
 * readStart adds it again). Node exports libuv's symbols, for addons.
 */
function leaveEpollNow(fd: number): void {
  if (loopEpoll === undefined) {
    try {
      const self = koffi.load(null);
      const backend = (self.func('int uv_backend_fd(void*)') as (loop: unknown) => number)((self.func('void* uv_default_loop()') as () => unknown)());
      loopEpoll = backend >= 0 ? { fd: backend, ctl: koffi.load('libc.so.6').func('int epoll_ctl(int, int, int, void*)') as EpollCtl } : null;
    } catch {
      loopEpoll = null;
    }
  }
  loopEpoll?.ctl(loopEpoll.fd, EPOLL_CTL_DEL, fd, null); // ENOENT when it was not in the set: fine
}
