/**
 * --emperor-stats ADDR: one JSON document per connection, then close, with
 * the fields of uWSGI's emperor stats (core/emperor.c emperor_send_stats)
 * plus each vassal's `state` and `config` (its absolute path). With
 * --stats-http the client must send a request first and gets HTTP/1.0.
 */
import net from 'node:net';
import { userInfo } from 'node:os';
import { listenOn } from '../stats/listen';
import { NUWSGI_VERSION } from '../config/magic';
import type { Vassal } from './vassal';

export interface EmperorStatsView {
  monitors: string[];
  tyrant: boolean;
  vassals: Vassal[];
}

/** Seconds since the epoch, as uWSGI's stats show times. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

/** One vassal: uWSGI's emperor stats fields, plus nuwsgi's state and config path. */
export function vassalStats(v: Vassal): Record<string, string | number> {
  return {
    id: v.name,
    pid: v.proc?.pid ?? -1,
    born: seconds(v.file.mtimeMs),
    last_mod: seconds(v.file.mtimeMs),
    last_heartbeat: seconds(v.lastHeartbeatMs),
    loyal: v.loyal ? 1 : 0,
    ready: v.spawned ? 1 : 0,
    accepting: v.accepting ? 1 : 0,
    last_loyal: seconds(v.lastLoyalMs),
    last_ready: seconds(v.lastSpawnedMs),
    last_accepting: seconds(v.lastAcceptingMs),
    first_run: seconds(v.firstRunMs),
    last_run: seconds(v.lastRunMs),
    cursed: seconds(v.cursedAtMs),
    zerg: 0,
    on_demand: v.onDemandName ?? '',
    uid: v.file.uid,
    gid: v.file.gid,
    monitor: v.file.monitor,
    respawns: v.respawns,
    state: v.state,
    config: v.file.key,
  };
}

export function renderEmperorStats(view: EmperorStatsView): string {
  const user = userInfo();
  const doc = {
    version: NUWSGI_VERSION,
    pid: process.pid,
    uid: user.uid,
    gid: user.gid,
    cwd: process.cwd(),
    emperor: view.monitors,
    emperor_tyrant: view.tyrant ? 1 : 0,
    throttle_level: 0,
    vassals: view.vassals.map(vassalStats),
    blacklist: view.vassals.flatMap((v) => {
      const entry = v.throttle.entry();
      if (entry === undefined) return [];
      return [
        {
          id: v.name,
          throttle_level: entry.levelMs,
          attempt: entry.attempt,
          first_attempt: seconds(entry.firstAttemptMs),
          last_attempt: seconds(entry.lastAttemptMs),
        },
      ];
    }),
  };
  return JSON.stringify(doc, null, 1);
}

const HTTP_HEAD = 'HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\n\r\n';
/** How long a --stats-http client may take to send its request (uWSGI's socket-timeout). */
const HTTP_REQUEST_TIMEOUT_MS = 4000;

export interface EmperorStatsServer {
  address: string;
  close(): Promise<void>;
}

export async function startEmperorStats(
  address: string,
  render: () => string,
  opts: { http: boolean; log: (line: string) => void },
): Promise<EmperorStatsServer> {
  const server = net.createServer((sock) => {
    sock.on('error', () => sock.destroy());
    if (!opts.http) {
      sock.end(render());
      return;
    }
    sock.setTimeout(HTTP_REQUEST_TIMEOUT_MS, () => sock.destroy());
    sock.once('data', () => {
      sock.setTimeout(0);
      sock.end(HTTP_HEAD + render());
    });
  });
  const listening = await listenOn(server, address);
  const shown = /:0$/.test(address) ? listening.address : address;
  opts.log(`*** Emperor stats server enabled on ${shown} fd: ${listening.fd} ***`);
  return { address: listening.address, close: listening.close };
}
