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

/** --cheaper-algo: which algorithm decides (uWSGI's default is spare). */
export type CheaperAlgoName = 'spare' | 'busyness' | 'backlog';

/** --cheaper-busyness-*: uWSGI's defaults are filled in by busynessSettings(). */
export interface BusynessSettings {
  /** Average busyness (percent) above which workers are added. */
  max: number;
  /** ...and below which one is cheaped, once the cheap timer allows. */
  min: number;
  /** Idle cheaper-overload periods before a worker is cheaped. */
  multiplier: number;
  /** Added to the multiplier when a cheaped worker was needed back too soon. */
  penalty: number;
  verbose: boolean;
  /** Listen queue above which emergency workers are spawned at once. */
  backlogAlert: number;
  /** Multiplier used while emergency workers run (they are cheaped sooner). */
  backlogMultiplier: number;
  /** Emergency workers spawned at a time. */
  backlogStep: number;
  /** Seconds the listen queue may stay non-empty before an emergency worker. */
  backlogNonzero: number;
}

export interface CheaperSettings {
  /** Default: spare. */
  algo?: CheaperAlgoName;
  /** Default: busynessSettings({}). */
  busyness?: BusynessSettings;
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
  /** The longest listen queue of the sockets (backlog and busyness algorithms). */
  backlog?: number;
  nowMs?: number;
  /** Per running worker: its slot, its total time in requests (µs), and whether it is in one now. */
  workers?: Array<{ id: number; busyUs: number; busyNow: boolean }>;
}

/** What the master asks once a second. */
export interface CheaperAlgorithm {
  decide(load: LoadSample): CheaperDecision;
  /** The master reads the listen queue only for the algorithms that use it. */
  readonly usesBacklog: boolean;
}

/** +n: spawn n workers; -1: cheap one; 0: leave things as they are. */
export type CheaperDecision = number;

export class SpareAlgorithm implements CheaperAlgorithm {
  readonly usesBacklog = false;
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
  o: { cheaper: number; processes: number; initial: number | undefined; step: number; overload: number; algo?: string; busyness?: Partial<BusynessSettings> },
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
  const algo = cheaperAlgoName(o.algo, log);
  return { algo, busyness: busynessSettings(o.busyness ?? {}), min: o.cheaper, max: o.processes, initial, step: Math.max(1, o.step), overloadCycles: Math.max(1, o.overload) };
}

function cheaperAlgoName(requested: string | undefined, log: (line: string) => void): CheaperAlgoName {
  if (requested === undefined || requested === '') return 'spare';
  if (requested === 'spare' || requested === 'busyness' || requested === 'backlog') return requested;
  log('unable to find requested cheaper algorithm, falling back to spare');
  return 'spare';
}

/** uWSGI's busyness defaults: an unset (or 0) value takes them, as in its plugin. */
export function busynessSettings(o: Partial<BusynessSettings>): BusynessSettings {
  const or = (v: number | undefined, d: number): number => (v === undefined || v === 0 ? d : v);
  return {
    max: or(o.max, 50),
    min: or(o.min, 25),
    multiplier: or(o.multiplier, 10),
    penalty: or(o.penalty, 2),
    verbose: o.verbose ?? false,
    backlogAlert: or(o.backlogAlert, 33),
    backlogMultiplier: or(o.backlogMultiplier, 3),
    backlogStep: or(o.backlogStep, 1),
    backlogNonzero: or(o.backlogNonzero, 60),
  };
}

/**
 * uWSGI's backlog algorithm (core/master_utils.c): a worker more when the
 * listen queue is longer than --cheaper-overload, one fewer when it is
 * shorter (down to --cheaper).
 */
export class BacklogAlgorithm implements CheaperAlgorithm {
  readonly usesBacklog = true;
  private readonly settings: CheaperSettings;

  constructor(settings: CheaperSettings) {
    this.settings = settings;
  }

  decide(load: LoadSample): CheaperDecision {
    const backlog = load.backlog ?? 0;
    if (backlog > this.settings.overloadCycles) return Math.min(this.settings.step, load.cheaped);
    if (backlog < this.settings.overloadCycles && load.active > this.settings.min) return -1;
    return 0;
  }
}

export function cheaperAlgorithm(settings: CheaperSettings, log: (line: string) => void): CheaperAlgorithm {
  if (settings.algo === 'backlog') return new BacklogAlgorithm(settings);
  // Loaded only when asked for: most masters never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (settings.algo === 'busyness') return new (require('./cheaper-busyness') as typeof import('./cheaper-busyness')).BusynessAlgorithm(settings, log);
  return new SpareAlgorithm(settings);
}
