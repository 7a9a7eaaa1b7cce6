/**
 * The HTTP side of --metrics and --dashboard: one small node:http server (off
 * the request path) routing
 *
 *   GET  /metrics          Prometheus text
 *   GET  /ready, /live     health (200 or 503, a one-line reason)
 *   GET  /stats            uWSGI's stats JSON           (dashboard only)
 *   GET  /                 the live page                (dashboard only)
 *   GET  /events           server-sent events, 1/s      (dashboard only)
 *   POST /actions/NAME     reload, chain-reload, ...    (--dashboard-actions + token)
 *
 * An action needs `Authorization: Bearer TOKEN`: a header a cross-site form
 * cannot send, so the token is also the CSRF guard; it is compared in
 * constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export interface HealthReport {
  ok: boolean;
  /** One line: why (not) ready / live. */
  reason: string;
}

export interface HealthProbes {
  ready(): HealthReport;
  live(): HealthReport;
}

export interface DashboardPage {
  html: string;
  /** The Content-Security-Policy that lets exactly this page's inline script and style run. */
  csp: string;
}

export interface DashboardActions {
  token: string;
  run: Readonly<Record<string, () => void>>;
  /** Every accepted or refused action is logged: who changed the instance is worth a line. */
  log: (line: string) => void;
}

export interface HttpEndpoints {
  metrics(): string | Promise<string>;
  health?: HealthProbes;
  stats?(): string | Promise<string>;
  page?: DashboardPage;
  events?: EventHub;
  /** Undefined: the dashboard is read-only and every POST is refused. */
  actions?: DashboardActions;
}

export function serveHttp(endpoints: HttpEndpoints): http.Server {
  const server = http.createServer((req, res) => {
    route(endpoints, req, res).catch((err: unknown) => {
      // Never let a rendering bug take the master down with it.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${(err as Error).message}\n`, req.method);
      else res.destroy();
    });
  });
  // Slow or idle clients must not hold the master's descriptors forever (SSE sets its own).
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return server;
}

async function route(e: HttpEndpoints, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/actions/')) {
    action(e, path.slice('/actions/'.length), req, res);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const health = e.health;
  if (path === '/metrics') send(res, 200, PROMETHEUS_TEXT, await e.metrics(), req.method);
  else if (path === '/ready' && health !== undefined) probe(res, health.ready(), req.method);
  else if (path === '/live' && health !== undefined) probe(res, health.live(), req.method);
  else if (path === '/stats' && e.stats !== undefined) send(res, 200, 'application/json', await e.stats(), req.method);
  else if (path === '/events' && e.events !== undefined) e.events.add(res);
  else if (path === '/' && e.page !== undefined) page(res, e.page, req.method);
  else send(res, 404, 'text/plain; charset=utf-8', `not found: try ${available(e).join(', ')}\n`, req.method);
}

function available(e: HttpEndpoints): string[] {
  return [
    ...(e.page !== undefined ? ['/'] : []),
    '/metrics',
    ...(e.stats !== undefined ? ['/stats'] : []),
    ...(e.health !== undefined ? ['/ready', '/live'] : []),
  ];
}

function send(res: http.ServerResponse, status: number, type: string, body: string, method: string | undefined): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}

function probe(res: http.ServerResponse, report: HealthReport, method: string | undefined): void {
  send(res, report.ok ? 200 : 503, 'text/plain; charset=utf-8', `${report.reason}\n`, method);
}

function page(res: http.ServerResponse, p: DashboardPage, method: string | undefined): void {
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(p.html),
    'Cache-Control': 'no-store',
    'Content-Security-Policy': p.csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  res.end(method === 'HEAD' ? undefined : p.html);
}

function action(e: HttpEndpoints, name: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const text = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers }).end(`${body}\n`);
  };
  req.resume(); // a body is not needed; drain it so the connection can be reused
  if (req.method !== 'POST') return text(405, 'actions are POST requests', { Allow: 'POST' });
  if (e.actions === undefined) return text(403, 'actions are disabled: start with --dashboard-actions and a --dashboard-token');
  const from = req.socket.remoteAddress ?? 'the unix socket';
  if (!tokenMatches(req.headers.authorization, e.actions.token)) {
    e.actions.log(`dashboard: action ${JSON.stringify(name)} from ${from} refused (no valid token)`);
    return text(401, 'a valid token is required (Authorization: Bearer TOKEN)', { 'WWW-Authenticate': 'Bearer realm="nuwsgi"' });
  }
  const run = Object.hasOwn(e.actions.run, name) ? e.actions.run[name] : undefined;
  if (run === undefined) return text(404, `unknown action "${name}": ${Object.keys(e.actions.run).join(', ')}`);
  e.actions.log(`dashboard: action ${name} from ${from}`);
  run();
  return text(202, `${name}: accepted`);
}

/** Hashing both sides first gives equal lengths, so timingSafeEqual reveals nothing, not even the token's length. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || token === '') return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (m === null) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m[1] as string), digest(token));
}

/**
 * Server-sent events: every client gets what `initial()` says when it
 * connects (the chart history), then each broadcast frame.
 */
export class EventHub {
  private readonly clients = new Set<http.ServerResponse>();

  constructor(private readonly initial: () => string[] = () => []) {}

  get size(): number {
    return this.clients.size;
  }

  add(res: http.ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // nginx in front must not buffer the stream
    });
    res.socket?.setTimeout(0);
    res.write('retry: 2000\n\n');
    for (const chunk of this.initial()) res.write(chunk);
    this.clients.add(res);
    const forget = (): void => {
      this.clients.delete(res);
    };
    res.on('close', forget);
    res.on('error', forget);
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const chunk = sseChunk(event, data);
    for (const res of this.clients) res.write(chunk);
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

/** One SSE message; JSON never holds a raw newline, so one data line suffices. */
export function sseChunk(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
