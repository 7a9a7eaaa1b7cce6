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
    vassals: view.vassals.map((v) => v.stats()),
    blacklist: view.vassals.flatMap((v) => {
      const entry = v.throttle.entry();
      if (entry === undefined) return [];
      return [
        {
          id: v.name,
          throttle_level: entry.levelMs,
          attempt: entry.attempt,
          first_attempt: Math.floor(entry.firstAttemptMs / 1000),
          last_attempt: Math.floor(entry.lastAttemptMs / 1000),
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
