/**
 * --cron, --unique-cron, --cron2: commands the master runs on a schedule
 * (uWSGI's core/cron.c and uwsgi_cron_task_needs_execution).
 *
 * Fields are numbers, not crontab text: -1 is "every", -N is "every N"
 * (minute % N == 0), months are 1-12, week days 0-6 (7 = Sunday). When both
 * day and week day are given (not negative) either may match, as in cron.
 * The master checks once a second and runs a matching task at most once a
 * minute, through /bin/sh -c, in its own session; a unique task is skipped
 * while its previous run is still going.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NuwsgiError } from '../util/errors';
import { atoi, parseKvList } from '../util/kvlist';
import { ctime } from '../worker/access-log';

export interface CronSpec {
  minute: number;
  hour: number;
  day: number;
  month: number;
  week: number;
  command: string;
  unique: boolean;
  /** Seconds before the run is killed (0: never). */
  harakiri: number;
}

/** The broken-down local time the matcher needs (month 1-12, as uWSGI after its tm_mon++). */
export interface CronTime {
  minute: number;
  hour: number;
  day: number;
  month: number;
  week: number;
}

export function cronTime(ms: number): CronTime {
  const d = new Date(ms);
  return { minute: d.getMinutes(), hour: d.getHours(), day: d.getDate(), month: d.getMonth() + 1, week: d.getDay() };
}

function field(value: number, now: number): number {
  return value < 0 && now % -value === 0 ? now : value;
}

/** uWSGI's uwsgi_cron_task_needs_execution. */
export function cronMatches(spec: Omit<CronSpec, 'command' | 'unique' | 'harakiri'>, t: CronTime): boolean {
  const week = spec.week === 7 ? 0 : spec.week;
  const same =
    t.minute === field(spec.minute, t.minute) && t.hour === field(spec.hour, t.hour) && t.month === field(spec.month, t.month);
  if (!same) return false;
  const dayOk = t.day === field(spec.day, t.day);
  const weekOk = t.week === field(week, t.week);
  // Both given: either matches (cron's rule); otherwise both must.
  return spec.day >= 0 && spec.week >= 0 ? dayOk || weekOk : dayOk && weekOk;
}

/** `MIN HOUR MDAY MON WDAY CMD` (sscanf "%d %d %d %d %d %n"). */
export function parseCron(option: string, value: string, unique: boolean): CronSpec {
  const m = /^\s*([+-]?\d+)\s+([+-]?\d+)\s+([+-]?\d+)\s+([+-]?\d+)\s+([+-]?\d+)\s*(.*)$/s.exec(value);
  if (m === null) throw new NuwsgiError('E_CONFIG', `${option} "${value}": invalid cron syntax (expected: MINUTE HOUR DAY MONTH WEEKDAY COMMAND, -1 for every)`);
  const [minute, hour, day, month, week] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
  return { minute, hour, day, month, week, command: m[6] as string, unique, harakiri: 0 };
}

/** `[key=value,...] COMMAND` with keys minute, hour, day, month, week, unique, harakiri, legion. */
export function parseCron2(value: string, cronHarakiri: number, warn: (line: string) => void): CronSpec {
  const spec: CronSpec = { minute: -1, hour: -1, day: -1, month: -1, week: -1, command: value, unique: false, harakiri: cronHarakiri };
  const space = value.indexOf(' ');
  const head = space < 0 ? value : value.slice(0, space);
  if (!head.includes('=')) return spec;
  if (space < 0) throw new NuwsgiError('E_CONFIG', `cron2 "${value}": unable to parse cron definition (no command)`);
  spec.command = value.slice(space + 1);
  const items = parseKvList(head);
  if (typeof items === 'string') throw new NuwsgiError('E_CONFIG', `cron2 "${value}": unable to parse cron definition: ${items}`);
  for (const [key, val] of items) {
    if (key === 'minute' || key === 'hour' || key === 'day' || key === 'month' || key === 'week') spec[key] = atoi(val);
    else if (key === 'unique') spec.unique = atoi(val) !== 0;
    else if (key === 'harakiri') spec.harakiri = atoi(val);
    else if (key === 'legion') warn(`cron2: key "legion" ignored: no legions in nuwsgi (the task runs on this instance)`);
    else warn(`cron2: unknown key "${key}" ignored`);
  }
  return spec;
}

export function cronSpecs(o: { list(name: string): string[]; int(name: string): number }, warn: (line: string) => void): CronSpec[] {
  const harakiri = o.int('cron-harakiri');
  return [
    ...o.list('cron').map((v) => ({ ...parseCron('cron', v, false), harakiri })),
    ...o.list('unique-cron').map((v) => ({ ...parseCron('unique-cron', v, true), harakiri })),
    ...o.list('cron2').map((v) => parseCron2(v, harakiri, warn)),
  ];
}

interface Task {
  spec: CronSpec;
  lastRunS: number;
  child: ChildProcess | null;
  startedS: number;
}

/** Runs the tasks; `check(now)` is called by the master once a second (and by tests with any clock). */
export class CronTable {
  private readonly tasks: Task[];
  private readonly log: (line: string) => void;

  constructor(specs: CronSpec[], log: (line: string) => void) {
    this.tasks = specs.map((spec) => ({ spec, lastRunS: 0, child: null, startedS: 0 }));
    this.log = log;
    for (const t of this.tasks) log(`[uwsgi-cron] command "${t.spec.command}" registered as cron task`);
  }

  check(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    const time = cronTime(nowMs);
    for (const t of this.tasks) {
      this.checkHarakiri(t, now);
      if (t.spec.unique && t.child !== null) continue;
      if (!cronMatches(t.spec, time) || now - t.lastRunS < 60) continue;
      t.lastRunS = now;
      this.run(t, now);
    }
  }

  private run(t: Task, now: number): void {
    const child = spawn('/bin/sh', ['-c', t.spec.command], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => this.log(`[uwsgi-cron] unable to run "${t.spec.command}": ${err.message}`));
    if (child.pid === undefined) return;
    t.child = child;
    t.startedS = now;
    this.log(`${ctime(now * 1000)} - [uwsgi-cron] running "${t.spec.command}" (pid ${child.pid})`);
    child.on('exit', () => {
      const seconds = Math.floor(Date.now() / 1000) - t.startedS;
      this.log(`[uwsgi-cron] command "${t.spec.command}" running with pid ${child.pid} exited after ${seconds} second(s)`);
      if (t.child === child) t.child = null;
    });
  }

  private checkHarakiri(t: Task, now: number): void {
    if (t.child === null || t.spec.harakiri <= 0 || now - t.startedS <= t.spec.harakiri) return;
    this.log(`*** HARAKIRI ON CRON "${t.spec.command}" (pid: ${t.child.pid}) ***`);
    try {
      process.kill(-(t.child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
