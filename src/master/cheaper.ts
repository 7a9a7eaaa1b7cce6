/**
 * Cheaper mode (--cheaper N): run between N and --processes workers, by load.
 * This is uWSGI's default "spare" algorithm (core/master_utils.c), kept as a
 * pure object so it can be tested without processes or clocks:
 *
 * - every cycle (one second) where every active worker was busy raises the
 *   overload count, any cycle with an idle worker lowers it;
 * - when the count passes --cheaper-overload, up to --cheaper-step cheaped
 *   workers are spawned and the count starts again;
 * - with no overload and more than one idle worker, every --cheaper-overload
 *   idle cycles one worker is cheaped (stopped gracefully), down to N.
 *   Exactly one idle worker is the stable state: nothing changes.
 *
 * What "busy" means is the master's business (see Master.sampleLoad): uWSGI
 * samples a flag at the instant of the check; a nuwsgi worker queues requests
 * itself, so the master uses the share of the last second it spent in the app.
 */

export interface CheaperSettings {
  /** --cheaper: the fewest workers kept running. */
  min: number;
  /** --processes: the most. */
  max: number;
  /** --cheaper-initial: how many start (default: min). */
  initial: number;
  /** --cheaper-step: how many to add at once. */
  step: number;
  /** --cheaper-overload: cycles of overload before adding, and of idleness between removals. */
  overloadCycles: number;
}

export interface LoadSample {
  /** Workers running (not cheaped), whatever their state. */
  active: number;
  /** Of those, the ones that were busy this cycle. */
  busy: number;
  /** Slots with no worker (cheaped) that could be spawned. */
  cheaped: number;
}

/** +n: spawn n workers; -1: cheap one; 0: leave things as they are. */
export type CheaperDecision = number;

export class SpareAlgorithm {
  private readonly settings: CheaperSettings;
  private overloadCount = 0;
  private idleCount = 0;

  constructor(settings: CheaperSettings) {
    this.settings = settings;
  }

  decide(load: LoadSample): CheaperDecision {
    const s = this.settings;
    if (load.active > 0 && load.busy >= load.active) {
      this.overloadCount++;
      this.idleCount = 0;
    } else if (this.overloadCount > 0) {
      this.overloadCount--;
    }
    if (this.overloadCount > s.overloadCycles) {
      this.overloadCount = 0;
      return Math.min(s.step, load.cheaped);
    }
    if (this.overloadCount > 0) return 0;
    if (load.active - load.busy === 1) return 0; // one spare worker: the stable state
    this.idleCount++;
    if (load.active > s.min && this.idleCount % s.overloadCycles === 0) return -1;
    return 0;
  }
}

/**
 * Validates and completes the options as uWSGI does: cheaper must be below
 * processes (an error), cheaper-initial is clamped into [cheaper, processes]
 * (a warning each way).
 */
export function cheaperSettings(
  o: { cheaper: number; processes: number; initial: number | undefined; step: number; overload: number },
  log: (line: string) => void,
): CheaperSettings | string {
  if (o.cheaper <= 0) return 'cheaper must be at least 1';
  if (o.cheaper >= o.processes) return 'invalid cheaper value: must be lower than processes';
  let initial = o.initial ?? o.cheaper;
  if (initial < o.cheaper) {
    log(`warning: invalid cheaper-initial value (${initial}), must be equal or higher than cheaper (${o.cheaper}), using ${o.cheaper} as initial number of workers`);
    initial = o.cheaper;
  }
  if (initial > o.processes) {
    log(`warning: invalid cheaper-initial value (${initial}), must be lower or equal than worker count (${o.processes}), using ${o.processes} as initial number of workers`);
    initial = o.processes;
  }
  return { min: o.cheaper, max: o.processes, initial, step: Math.max(1, o.step), overloadCycles: Math.max(1, o.overload) };
}
