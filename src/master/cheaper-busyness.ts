/**
 * uWSGI's "busyness" cheaper algorithm (plugins/cheaper_busyness, by Łukasz
 * Mierzwa), decision for decision and with its log lines:
 *
 * - every --cheaper-overload seconds, each worker's busyness is the share of
 *   the period it spent in requests (a worker in one long request all along
 *   counts as 100%); their average decides;
 * - above --cheaper-busyness-max, up to --cheaper-step workers are added; if
 *   a worker cheaped less than multiplier periods ago is needed back, the
 *   multiplier grows by --cheaper-busyness-penalty;
 * - below --cheaper-busyness-min, one worker is cheaped, but only once the
 *   cheap timer (multiplier × overload seconds since the last change) ran out;
 * - in between, the timer is pushed back (reset after three such periods);
 * - a listen queue above --cheaper-busyness-backlog-alert (checked every
 *   second), or non-empty for --cheaper-busyness-backlog-nonzero seconds,
 *   spawns emergency workers, which are cheaped again sooner.
 *
 * Pure: the master feeds it samples (time included), tests feed it numbers.
 */
import { busynessSettings, type BusynessSettings, type CheaperAlgorithm, type CheaperDecision, type CheaperSettings, type LoadSample } from './cheaper';

export class BusynessAlgorithm implements CheaperAlgorithm {
  readonly usesBacklog = true;
  private readonly s: CheaperSettings;
  private readonly b: BusynessSettings;
  private readonly log: (line: string) => void;
  private readonly lastBusyUs = new Map<number, number>();
  private readonly wasBusy = new Map<number, number>();
  private tcheckUs = 0;
  private lastCheapedUs = 0;
  private nextCheapUs = 0;
  private multi: number;
  private lastAction: 0 | 1 | 2 = 0;
  private tolerance = 0;
  private emergency = 0;
  private backlogNonzeroSinceUs = -1;

  constructor(settings: CheaperSettings, log: (line: string) => void) {
    this.s = settings;
    this.b = settings.busyness ?? busynessSettings({});
    this.log = log;
    this.multi = this.b.multiplier;
    const b = this.b;
    log(`[busyness] settings: min=${b.min}%, max=${b.max}%, overload=${settings.overloadCycles}, multiplier=${b.multiplier}, respawn penalty=${b.penalty}`);
    log(`[busyness] backlog alert is set to ${b.backlogAlert} request(s), step is ${b.backlogStep}`);
    log(`[busyness] backlog non-zero alert is set to ${b.backlogNonzero} second(s)`);
  }

  private verbose(line: string): void {
    if (this.b.verbose) this.log(line);
  }

  decide(load: LoadSample): CheaperDecision {
    const nowUs = (load.nowMs ?? Date.now()) * 1000;
    const workers = load.workers ?? [];
    const running = new Set(workers.map((w) => w.id));
    for (const id of [...this.wasBusy.keys()]) if (!running.has(id)) this.wasBusy.delete(id);
    for (const w of workers) this.wasBusy.set(w.id, (this.wasBusy.get(w.id) ?? 0) + (w.busyNow ? 1 : 0));
    const backlog = load.backlog ?? 0;
    const periodUs = this.s.overloadCycles * 1_000_000;
    if (nowUs - this.tcheckUs >= periodUs) {
      this.tcheckUs = nowUs;
      return this.periodic(load, this.averageBusyness(workers, periodUs), nowUs, backlog);
    }
    return this.backlogCheck(load, nowUs, backlog);
  }

  private averageBusyness(workers: NonNullable<LoadSample['workers']>, periodUs: number): number {
    let total = 0;
    for (const w of workers) {
      const last = this.lastBusyUs.get(w.id) ?? 0;
      const delta = w.busyUs >= last ? w.busyUs - last : w.busyUs; // a respawned worker starts from zero
      let percent = Math.min(100, Math.floor((delta * 100) / periodUs));
      if (delta === 0 && (this.wasBusy.get(w.id) ?? 0) > 0) {
        this.verbose(`[busyness] worker ${w.id} was busy ${this.wasBusy.get(w.id)} time(s) in last cycle but no request was completed during this time, marking as 100% busy`);
        percent = 100;
      }
      this.wasBusy.set(w.id, 0);
      total += percent;
      if (workers.length > 1) this.verbose(`[busyness] worker nr ${w.id} ${this.s.overloadCycles}s average busyness is at ${percent}%`);
      this.lastBusyUs.set(w.id, w.busyUs);
    }
    const avg = workers.length > 0 ? Math.floor(total / workers.length) : 0;
    this.verbose(`[busyness] ${this.s.overloadCycles}s average busyness of ${workers.length} worker(s) is at ${avg}%`);
    return avg;
  }

  private periodic(load: LoadSample, avg: number, nowUs: number, backlog: number): CheaperDecision {
    const b = this.b;
    const overload = this.s.overloadCycles;
    if (avg > b.max) {
      this.tolerance = 0;
      const spawn = Math.min(this.s.step, load.cheaped);
      if (spawn === 0) {
        this.log(`[busyness] ${overload}s average busyness is at ${avg}% but we already started maximum number of workers available with current limits (${load.active})`);
        return 0;
      }
      this.lastAction = 1;
      if ((nowUs - this.lastCheapedUs) / overload / 1_000_000 <= this.multi) {
        this.multi += b.penalty;
        this.log(`[busyness] worker(s) respawned to fast, increasing cheaper multiplier to ${this.multi} (+${b.penalty})`);
      } else this.decreaseMulti();
      this.setNextCheap(nowUs);
      this.log(`[busyness] ${overload}s average busyness is at ${avg}%, will spawn ${spawn} new worker(s)`);
      return spawn;
    }
    if (backlog > b.backlogAlert && load.active < this.s.max) return this.emergencySpawn(load, nowUs, backlog);
    if (load.active === 1) return 0; // one worker: nothing to balance
    if (avg < b.min) {
      this.tolerance = 0;
      if (load.active <= this.s.min) return 0;
      if (nowUs < this.nextCheapUs) {
        this.verbose(`[busyness] need to wait ${Math.floor((this.nextCheapUs - nowUs) / 1_000_000)} more second(s) to cheap worker`);
        return 0;
      }
      if (this.lastAction === 2) this.decreaseMulti();
      this.setNextCheap(nowUs);
      this.log(`[busyness] ${overload}s average busyness is at ${avg}%, cheap one of ${load.active} running workers`);
      this.lastCheapedUs = nowUs;
      this.lastAction = 2;
      if (this.emergency > 0) this.emergency--;
      return -1;
    }
    if (this.emergency > 0) this.emergency--;
    this.tolerance++;
    if (this.tolerance >= 3) {
      this.verbose(`[busyness] ${overload}s average busyness is at ${avg}%, ${this.tolerance} non-idle cycle(s), resetting cheaper timer`);
      this.setNextCheap(nowUs);
    } else {
      this.verbose(`[busyness] ${overload}s average busyness is at ${avg}%, ${this.tolerance} non-idle cycle(s), adjusting cheaper timer`);
      this.nextCheapUs += overload * 1_000_000;
    }
    return 0;
  }

  /** Between periods: the listen queue, every second. */
  private backlogCheck(load: LoadSample, nowUs: number, backlog: number): CheaperDecision {
    const b = this.b;
    if (backlog > b.backlogAlert && load.active < this.s.max) return this.emergencySpawn(load, nowUs, backlog);
    if (backlog > 0) {
      if (this.backlogNonzeroSinceUs < 0) {
        this.verbose(`[busyness] backlog is starting to fill (${backlog})`);
        this.backlogNonzeroSinceUs = nowUs;
        return 0;
      }
      const seconds = Math.floor((nowUs - this.backlogNonzeroSinceUs) / 1_000_000);
      if (seconds < b.backlogNonzero) return 0;
      this.log(`[busyness] backlog was non-zero for ${seconds} second(s), spawning new worker(s)`);
      this.backlogNonzeroSinceUs = nowUs;
      return this.emergencySpawn(load, nowUs, backlog);
    }
    if (this.backlogNonzeroSinceUs >= 0) {
      this.verbose('[busyness] backlog is now empty');
      this.backlogNonzeroSinceUs = -1;
    }
    return 0;
  }

  private emergencySpawn(load: LoadSample, nowUs: number, backlog: number): CheaperDecision {
    this.multi = this.b.multiplier;
    this.lastAction = 1;
    const spawn = Math.min(this.b.backlogStep, load.cheaped);
    if (spawn > 0) this.emergency += spawn;
    this.setNextCheap(nowUs);
    if (spawn > 0) this.log(`[busyness] ${backlog} requests in listen queue, spawning ${spawn} emergency worker(s) (${this.emergency})!`);
    else this.log(`[busyness] ${backlog} requests in listen queue but we are already started maximum number of workers (${this.s.max})`);
    return spawn;
  }

  private setNextCheap(nowUs: number): void {
    const multi = this.emergency > 0 ? this.b.backlogMultiplier : this.multi;
    if (this.emergency > 0) this.verbose(`[busyness] ${this.emergency} emergency worker(s) running, using ${this.s.overloadCycles * multi} seconds cheaper timer`);
    this.nextCheapUs = nowUs + this.s.overloadCycles * multi * 1_000_000;
  }

  private decreaseMulti(): void {
    if (this.multi <= this.b.multiplier) return;
    this.multi--;
    this.log(`[busyness] decreasing cheaper multiplier to ${this.multi}`);
  }
}
