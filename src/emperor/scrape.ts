/**
 * The emperor reads each vassal's /metrics (from the address the vassal
 * announced: its --dashboard or --metrics) to cover every vassal in its own
 * /metrics and dashboard. A vassal that does not answer in time is reported
 * as not scraped, never waited for.
 */
import http from 'node:http';

export const SCRAPE_TIMEOUT_MS = 2000;
/** A vassal's document is input: one bigger than this is cut off and refused. */
const MAX_BYTES = 8 * 1024 * 1024;

/** GET /metrics from "host:port" or a unix socket path; undefined on any failure. */
export function scrapeMetrics(address: string, timeoutMs = SCRAPE_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const target = address.startsWith('/') ? { socketPath: address } : hostPort(address);
    if (target === undefined) {
      resolve(undefined);
      return;
    }
    let answered = false;
    const req = http.get({ ...target, path: '/metrics', timeout: timeoutMs, headers: { Accept: 'text/plain' } }, (res) => {
      answered = true;
      if (res.statusCode !== 200) {
        res.resume();
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BYTES) req.destroy();
        else chunks.push(c);
      });
      // 'close' comes after 'end' too: only a complete body counts.
      res.on('close', () => resolve(res.complete && size <= MAX_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.on('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

function hostPort(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  return Number.isInteger(port) && port > 0 ? { host, port } : undefined;
}
