/**
 * How an emperor learns where each vassal serves its dashboard and metrics:
 * an emperor with --dashboard or --metrics makes a private directory (0700)
 * and names it to its vassals in NUWSGI_EMPEROR_ANNOUNCE_DIR; a nuwsgi
 * vassal master that serves --dashboard or --metrics writes PID.json there
 * ({"dashboard": ADDR, "metrics": ADDR}). The emperor reads the file of the
 * pid it spawned, so a vassal can only speak for itself.
 *
 * A file and not uWSGI's one-byte channel: the channel's bytes are uWSGI's
 * protocol (a uWSGI emperor can run nuwsgi vassals and the other way round),
 * and a variable uWSGI does not know is ignored by both. In tyrant mode the
 * vassals run as other users and cannot write to the emperor's directory:
 * they are then covered by what the emperor sees itself (/proc, states).
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ANNOUNCE_DIR_ENV = 'NUWSGI_EMPEROR_ANNOUNCE_DIR';

export interface Announcement {
  dashboard?: string;
  metrics?: string;
}

/** host:port (v4, [v6] or a name) or an absolute unix socket path: nothing else is followed. */
const ADDRESS = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$|^\/[^\0]*$/;

/** The vassal's side: called once the master's HTTP servers are bound. Removes the variable from the environment either way. */
export function announceToEmperor(addresses: Announcement, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[ANNOUNCE_DIR_ENV];
  delete env[ANNOUNCE_DIR_ENV]; // workers and the app have no use for it
  if (dir === undefined || dir === '' || (addresses.dashboard === undefined && addresses.metrics === undefined)) return;
  const file = path.join(dir, `${process.pid}.json`);
  try {
    writeFileSync(`${file}.tmp`, JSON.stringify(addresses), { mode: 0o600 });
    renameSync(`${file}.tmp`, file); // the emperor never reads half a file
  } catch (err) {
    log(`cannot tell the emperor where the dashboard is (${file}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The emperor's side. */
export class AnnounceDir {
  readonly path: string;

  constructor() {
    this.path = mkdtempSync(path.join(tmpdir(), 'nuwsgi-emperor-')); // 0700
  }

  read(pid: number): Announcement | undefined {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path.join(this.path, `${pid}.json`), 'utf8'));
    } catch {
      return undefined;
    }
    return validAnnouncement(raw);
  }

  /**
   * Removes the files of processes that are not `live` vassals any more: a
   * vassal never removes its own (it may be SIGKILLed), and a later vassal
   * given the same pid must not inherit a dead one's addresses.
   */
  prune(live: ReadonlySet<number>): void {
    let names: string[];
    try {
      names = readdirSync(this.path);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^(\d+)\.json(?:\.tmp)?$/.exec(name);
      if (m === null || live.has(Number(m[1]))) continue;
      rmSync(path.join(this.path, name), { force: true });
    }
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export function validAnnouncement(raw: unknown): Announcement | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const out: Announcement = {};
  if (typeof r.dashboard === 'string' && ADDRESS.test(r.dashboard)) out.dashboard = r.dashboard;
  if (typeof r.metrics === 'string' && ADDRESS.test(r.metrics)) out.metrics = r.metrics;
  return out.dashboard === undefined && out.metrics === undefined ? undefined : out;
}
