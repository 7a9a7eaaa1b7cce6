/**
 * /ready and /live (docs/health.md), for Kubernetes probes, systemd checks
 * and load balancers.
 *
 * ready: at least one worker accepts connections, and the instance is neither
 * stopping nor reloading. It turns 503 the moment a graceful stop or a reload
 * begins (so a balancer stops sending before the listener closes) and 200
 * again when the reload has finished (every worker ready, none replaced).
 *
 * live: the master's event loop runs. A heartbeat timer fires every second; a
 * heartbeat older than LIVE_STALL_MS, or one that came that much late (the
 * loop was blocked, and the probe is being answered just after), is 503. A
 * loop blocked right now answers nothing at all, which a probe counts as a
 * failure too.
 */
import type { HealthReport } from './http-endpoints';

export const HEARTBEAT_MS = 1000;
export const LIVE_STALL_MS = 5000;

export type Phase = 'running' | 'reloading' | 'stopping';

export class InstanceHealth {
  private phase: Phase = 'running';
  private lastBeatMs: number;
  private lastLateMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = Date.now) {
    this.lastBeatMs = now();
  }

  /** Starts the heartbeat; `onBeat` runs on it (once a second) for whoever needs a steady tick. */
  start(onBeat: () => void = () => undefined): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.beat();
      onBeat();
    }, HEARTBEAT_MS);
    this.timer.unref(); // never keeps the process alive
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One heartbeat; exposed for tests that drive the clock. */
  beat(): void {
    const now = this.now();
    this.lastLateMs = Math.max(0, now - this.lastBeatMs - HEARTBEAT_MS);
    this.lastBeatMs = now;
  }

  get currentPhase(): Phase {
    return this.phase;
  }

  /** A graceful (or immediate) stop began: never ready again. */
  stopping(): void {
    this.phase = 'stopping';
  }

  reloading(): void {
    if (this.phase !== 'stopping') this.phase = 'reloading';
  }

  /** Every worker is ready and none is being replaced (after boot and after each reload). */
  allReady(): void {
    if (this.phase === 'reloading') this.phase = 'running';
  }

  /** `accepting`: workers accepting connections (on an emperor: vassals with every worker ready). */
  ready(accepting: number, what = 'worker(s) accepting'): HealthReport {
    if (this.phase === 'stopping') return { ok: false, reason: 'not ready: stopping' };
    if (this.phase === 'reloading') return { ok: false, reason: 'not ready: reloading' };
    if (accepting === 0) return { ok: false, reason: `not ready: 0 ${what}` };
    return { ok: true, reason: `ready: ${accepting} ${what}` };
  }

  live(): HealthReport {
    const silentMs = this.now() - this.lastBeatMs;
    if (silentMs > LIVE_STALL_MS) return { ok: false, reason: `not live: no heartbeat for ${silentMs} ms` };
    if (this.lastLateMs > LIVE_STALL_MS) return { ok: false, reason: `not live: the event loop was blocked for ${this.lastLateMs} ms` };
    return { ok: true, reason: 'live' };
  }
}
