/**
 * uWSGI's once-a-second listen queue check (master_check_listen_queue): reads
 * each socket's accept queue, logs when one is full, and keeps the figures the
 * stats report (per-socket queue, the instance's listen_queue and load).
 */
import { ctime } from '../worker/access-log';
import { readListenQueues, type QueueRef } from './socket-queue';
import type { SocketSnapshot } from './snapshot';

export interface MonitoredSocket extends QueueRef {
  /** The address as configured: the socket's name in the stats and the log. */
  name: string;
  proto: string;
  /** The effective backlog (effectiveBacklog(--listen)). */
  maxQueue: number;
}

export class ListenQueueMonitor {
  private readonly sockets: readonly MonitoredSocket[];
  private readonly log: (line: string) => void;
  private readonly read: (sockets: readonly QueueRef[]) => Array<number | undefined>;
  private queues: number[];
  private fullCount = 0;

  constructor(sockets: readonly MonitoredSocket[], log: (line: string) => void, read = readListenQueues) {
    this.sockets = sockets;
    this.log = log;
    this.read = read;
    this.queues = sockets.map(() => 0);
  }

  /** Call once a second from the master's timer. */
  check(): void {
    const found = this.read(this.sockets);
    this.queues = found.map((q) => q ?? 0);
    this.sockets.forEach((sock, i) => {
      const queue = this.queues[i] ?? 0;
      if (queue > 0 && queue >= sock.maxQueue) {
        this.fullCount++;
        // uWSGI's wording and date prefix (uwsgi_log_verbose), with our name: alert
        // regexes on "listen queue of socket .* full" keep matching.
        this.log(`${ctime(Date.now())} - *** nuwsgi listen queue of socket "${sock.name}" (fd: ${sock.fd}) full !!! (${queue}/${sock.maxQueue}) ***`);
      }
    });
  }

  /** The largest queue of the last check: uWSGI's "listen_queue" (and "load"). */
  get listenQueue(): number {
    return this.queues.reduce((a, b) => Math.max(a, b), 0);
  }

  /**
   * Checks that found a socket full. uWSGI 2.0.21 declares this counter and
   * never increments it (always 0); counting the "full" events makes it useful.
   */
  get listenQueueErrors(): number {
    return this.fullCount;
  }

  socketSnapshots(): SocketSnapshot[] {
    return this.sockets.map((s, i) => ({
      name: s.name,
      proto: s.proto,
      queue: this.queues[i] ?? 0,
      // uWSGI shows 0 for UNIX sockets (it has no counter for them); we know the backlog, so we show it.
      maxQueue: s.maxQueue,
      shared: 0,
      canOffload: 0,
    }));
  }
}
