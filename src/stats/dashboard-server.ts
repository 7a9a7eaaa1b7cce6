/**
 * --dashboard ADDR (ours): the one HTTP listener for people and probes — the
 * live page, /metrics, /stats, /ready, /live — on a master or an emperor.
 *
 * Unlike --stats (uWSGI's rule: ":PORT" is every interface), ":PORT" means
 * 127.0.0.1:PORT here: the page shows request URIs, so it is private unless
 * an address says otherwise, and an all-interfaces address is logged with a
 * warning.
 */
import { readFileSync } from 'node:fs';
import { NuwsgiError } from '../util/errors';
import { dashboardPage } from './dashboard-page';
import { EventHub, serveHttp, type HttpEndpoints } from './http-endpoints';
import { listenOn, parseStatsAddress } from './listen';

export interface DashboardServer {
  address: string;
  close(): Promise<void>;
}

export interface DashboardSettings {
  /** --dashboard ADDR, undefined when off. */
  address: string | undefined;
  /** --dashboard-actions */
  actions: boolean;
  /** --dashboard-token TOKEN */
  token: string | undefined;
  /** --dashboard-token-file FILE (its first line). */
  tokenFile: string | undefined;
}

const ALL_INTERFACES = new Set(['0.0.0.0', '::', '*', '']);

/** ":PORT" → "127.0.0.1:PORT"; "*:PORT" → every interface (explicitly asked). */
export function dashboardListenSpec(spec: string): { spec: string; everyInterface: boolean } {
  const local = spec.startsWith(':') ? `127.0.0.1${spec}` : spec.startsWith('*:') ? `0.0.0.0${spec.slice(1)}` : spec;
  const addr = parseStatsAddress(local);
  return { spec: local, everyInterface: addr.kind === 'tcp' && ALL_INTERFACES.has(addr.host) };
}

/**
 * The token for actions, or undefined when actions are off. Actions without
 * a token are a configuration error: an open reload button is not a default
 * anyone should get by accident.
 */
export function dashboardToken(s: DashboardSettings): string | undefined {
  if (!s.actions) return undefined;
  let token = s.token;
  if (s.tokenFile !== undefined) {
    try {
      token = readFileSync(s.tokenFile, 'utf8').split('\n')[0]?.trim();
    } catch (err) {
      throw new NuwsgiError('E_CONFIG', `dashboard-token-file: cannot read ${s.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (token === undefined || token === '') {
    throw new NuwsgiError('E_CONFIG', 'dashboard-actions needs a token: set dashboard-token or dashboard-token-file');
  }
  return token;
}

export async function startDashboard(
  spec: string,
  endpoints: Omit<HttpEndpoints, 'page'>,
  log: (line: string) => void,
): Promise<DashboardServer> {
  const where = dashboardListenSpec(spec);
  const server = serveHttp({ ...endpoints, page: dashboardPage() });
  const listening = await listenOn(server, where.spec);
  const url = listening.address.startsWith('/') || listening.address.startsWith('@') ? `unix:${listening.address}` : `http://${listening.address}/`;
  const mode = endpoints.actions !== undefined ? `actions enabled (${Object.keys(endpoints.actions.run).join(', ')}; token required)` : 'read-only';
  log(`*** dashboard enabled on ${url} (/, /metrics, /stats, /ready, /live; ${mode}) fd: ${listening.fd} ***`);
  if (where.everyInterface) {
    log(`!!! WARNING: the dashboard listens on every interface (${listening.address}): whoever reaches this port sees request URIs; bind 127.0.0.1 or a unix socket unless a firewall or proxy guards it !!!`);
  }
  return {
    address: listening.address,
    close: async () => {
      endpoints.events?.closeAll();
      await listening.close();
    },
  };
}

export { EventHub };
