// The whole-server fuzzer: a real nuwsgi master with 2 workers, an HTTP and a
// uwsgi socket on loopback, the app in fuzz_app.py, and mutated requests sent
// over many connections at once. See docs/fuzzing.md.
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Outcome, parseWhole, type Protocol } from './parser-fuzz';
import { HTTP_MUTATORS, Rng, UWSGI_MUTATORS, httpSeeds, mutate, uwsgiSeeds } from './mutate';
import { readResponses, type ResponseStream } from './response-stream';

export interface ServerFuzzOptions {
  seed: number;
  durationMs: number;
  /** Repository root (bin/nuwsgi, test/fuzz/fuzz_app.py). */
  root: string;
  /** Where reproducers and the server log go. */
  outDir: string;
  concurrency?: number;
  python?: string;
  log?: (line: string) => void;
}

export interface ServerFailure {
  kind: string;
  detail: string;
  file: string;
}

export interface ServerFuzzStats {
  connections: Record<Protocol | 'response', number>;
  /** Requests the reference parser saw in the inputs (what the server should have answered). */
  requests: number;
  responses: number;
  outcomes: Record<string, number>;
  workerDeaths: number;
  masterExit: string | null;
  failures: ServerFailure[];
  serverLog: string;
}

const IDLE_MS = 1500;
const HARD_MS = 8000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Server {
  proc: ChildProcess;
  httpPort: number;
  uwsgiPort: number;
  log: string[];
  exited: { code: number | null; signal: string | null; at: number } | null;
}

async function startServer(opts: ServerFuzzOptions, dir: string): Promise<Server> {
  const app = join(dir, 'fuzz_app.py');
  copyFileSync(join(opts.root, 'test', 'fuzz', 'fuzz_app.py'), app);
  const httpPort = await freePort();
  const uwsgiPort = await freePort();
  const args = [
    join(opts.root, 'bin', 'nuwsgi'), '--master', '--processes', '2', '--die-on-term',
    '--http-socket', `127.0.0.1:${httpPort}`, '--socket', `127.0.0.1:${uwsgiPort}`,
    '--wsgi-file', app, '--buffer-size', '8192', '--limit-post', String(1 << 20),
    '--http-timeout', '5', '--socket-timeout', '5', '--disable-logging',
    // The reference parser's limits (FUZZ_UWSGI_LIMITS): uWSGI's default of 64, not nuwsgi's 512.
    '--max-vars', '64',
  ];
  if (opts.python !== undefined) args.push('--home', opts.python);
  const proc = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const server: Server = { proc, httpPort, uwsgiPort, log: [], exited: null };
  let pending = '';
  const onData = (d: Buffer): void => {
    pending += d.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) server.log.push(line);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  proc.on('exit', (code, signal) => {
    server.exited = { code, signal, at: Date.now() };
  });
  const deadline = Date.now() + 60_000;
  while (server.log.filter((l) => /WSGI app 0 .* ready/.test(l)).length < 2) {
    if (server.exited !== null || Date.now() > deadline) {
      throw new Error(`nuwsgi did not start:\n${server.log.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

async function stopServer(server: Server): Promise<void> {
  if (server.exited !== null) return;
  const gone = new Promise<void>((r) => server.proc.once('exit', () => r()));
  try {
    process.kill(-server.proc.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.proc.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 15_000);
  await gone;
  clearTimeout(timer);
  // Workers outliving the master would be a bug of their own; kill the group anyway.
  try {
    process.kill(-server.proc.pid!, 'SIGKILL');
  } catch {
    /* nothing left */
  }
}

interface Exchange {
  data: Buffer;
  closedByServer: boolean;
  timedOut: boolean;
  error: string | null;
}

/** Sends `input` in 1..3 pieces, then reads until the server closes or stays idle. */
function exchange(port: number, input: Buffer, rng: Rng, halfClose: boolean): Promise<Exchange> {
  const cuts = [0, ...Array.from({ length: rng.int(3) }, () => rng.int(input.length + 1)).sort((a, b) => a - b), input.length];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const result: Exchange = { data: Buffer.alloc(0), closedByServer: false, timedOut: false, error: null };
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let idle: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      clearTimeout(hard);
      result.data = Buffer.concat(chunks);
      socket.destroy();
      resolve(result);
    };
    const hard = setTimeout(() => {
      result.timedOut = true;
      finish();
    }, HARD_MS);
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        result.timedOut = true;
        finish();
      }, IDLE_MS);
    };
    socket.on('data', (d) => {
      chunks.push(d);
      armIdle();
    });
    socket.on('end', () => {
      result.closedByServer = true;
      finish();
    });
    socket.on('error', (err) => {
      result.error = (err as NodeJS.ErrnoException).code ?? err.message;
      result.closedByServer = true;
      finish();
    });
    socket.on('connect', () => {
      void (async () => {
        for (let i = 0; i + 1 < cuts.length; i++) {
          if (socket.destroyed) return;
          socket.write(input.subarray(cuts[i], cuts[i + 1]));
          if (i + 2 < cuts.length) await new Promise((r) => setTimeout(r, rng.int(20)));
        }
        if (halfClose && !socket.destroyed) socket.end();
        armIdle();
      })();
    });
  });
}

/** The request paths the reference parser saw, in order (what X-Path should say). */
function expectedPaths(protocol: Protocol, outcome: Outcome): Array<string | null> {
  const paths: Array<string | null> = [];
  for (const event of outcome.events) {
    if (!event.startsWith('head ')) continue;
    const head = JSON.parse(event.slice(5)) as { t?: string; v?: Array<[string, string]> };
    if (protocol === 'http') {
      let target = head.t!;
      if (!target.includes('/')) {
        paths.push(null); // CONNECT's authority-form, OPTIONS *: the app may see '' or '*'
        continue;
      }
      const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
      if (abs !== null) target = target.slice(abs[0].length) || '/';
      // An empty path (absolute-form "http://host?q") is "/" (RFC 9112 §3.2.2).
      paths.push(decodeURIComponentLatin1(target.split('?')[0]!) || '/');
    } else {
      // The environ is a dict: the last PATH_INFO wins.
      paths.push(head.v!.filter(([k]) => k === 'PATH_INFO').pop()?.[1] ?? '');
    }
  }
  return paths;
}

function decodeURIComponentLatin1(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function headMethods(outcome: Outcome): string[] {
  return outcome.events.filter((e) => e.startsWith('head ')).map((e) => (JSON.parse(e.slice(5)) as { m?: string; v?: Array<[string, string]> }).m ?? (JSON.parse(e.slice(5)) as { v: Array<[string, string]> }).v.find(([k]) => k === 'REQUEST_METHOD')?.[1] ?? 'GET');
}

export interface Verdict {
  cls: string;
  failure: string | null;
  responses: number;
}

/**
 * Judges one exchange against the reference parse. A failure is a malformed
 * response stream, or a desync: a response for a request the reference parser
 * did not see (wrong X-Path at that position), or more responses than requests.
 */
export function judge(protocol: Protocol, outcome: Outcome, ex: Exchange, appMisbehaves: boolean): Verdict {
  const methods = headMethods(outcome);
  const stream: ResponseStream = readResponses(ex.data, ex.closedByServer, (i) => methods[i] === 'HEAD');
  const n = stream.responses.length;
  const cls = classify(stream, ex);
  if (stream.malformed !== null) return { cls, failure: `malformed response: ${stream.malformed}`, responses: n };
  const paths = expectedPaths(protocol, outcome);
  // The server answers the requests in order; after an error it answers once more (the error) and closes.
  const allowed = paths.length + (outcome.error !== null && outcome.error.status !== null ? 1 : 0);
  if (n > allowed) return { cls, failure: `desync: ${n} responses for ${paths.length} requests (parser: ${outcome.error?.code ?? 'no error'})`, responses: n };
  for (let i = 0; i < n; i++) {
    const r = stream.responses[i]!;
    if (r.xPath === null) continue; // made by the server (an error page), not by the app
    if (i >= paths.length) return { cls, failure: `desync: response ${i + 1} from the app (X-Path ${r.xPath}) but the parser saw only ${paths.length} requests`, responses: n };
    // The reader strips a header value's OWS, as any client does.
    if (paths[i] !== null && r.xPath !== paths[i]!.replace(/^[ \t]+|[ \t]+$/g, '')) return { cls, failure: `desync: response ${i + 1} answers ${JSON.stringify(r.xPath)}, request ${i + 1} was ${JSON.stringify(paths[i])}`, responses: n };
  }
  // An app that lies about its Content-Length makes the server close early, rightly.
  if (protocol === 'http' && !appMisbehaves) {
    const missing = missingResponses(outcome, stream, ex);
    if (missing !== null) return { cls, failure: missing, responses: n };
  }
  return { cls, failure: null, responses: n };
}

/**
 * A server that closes a keep-alive connection without answering a complete
 * request (and without saying Connection: close) loses that request.
 */
function missingResponses(outcome: Outcome, stream: ResponseStream, ex: Exchange): string | null {
  if (!ex.closedByServer || stream.truncated || ex.error !== null) return null;
  const n = stream.responses.length;
  if (n >= outcome.ends) return null;
  const last = stream.responses[n - 1];
  if (last !== undefined && (last.connectionClose || last.closeDelimited || last.status >= 400)) return null;
  if (n > 0 && !outcome.keepAlive[n - 1]) return null;
  return `lost requests: the server closed after ${n} responses to ${outcome.ends} complete keep-alive requests`;
}

function classify(stream: ResponseStream, ex: Exchange): string {
  const statuses = stream.responses.map((r) => r.status);
  let cls: string;
  if (statuses.length === 0 && stream.truncated) cls = ex.timedOut ? 'timeout (truncated response)' : 'closed (truncated response)';
  else if (statuses.length === 0) cls = ex.timedOut ? 'timeout (no response)' : 'closed (no response)';
  else {
    const first = statuses.find((s) => s >= 300) ?? statuses[0]!;
    cls = first < 300 ? '2xx' : first < 500 ? `4xx ${first}` : `5xx ${first}`;
    if (first >= 300 && statuses[0]! < 300) cls = `2xx then ${cls}`;
  }
  if (stream.truncated && statuses.length > 0) cls += ' +truncated';
  return cls;
}

// ---------------------------------------------------------------------------
// The response side: requests to /resp that ask the app for bad output.

const RESP_STATUSES = ['200 OK', '200', '200 ', '2000 Too Big', 'abc', '99 Low', '600 High', '200 OK\r\nX-Injected: 1', '200 OK\n', '204 No Content', '304 Not Modified', '404 Not Found', '200 \u20ac', '200 caf\u00e9', '', ' 200 OK', '200\tOK', '100 Continue', '500 Internal Server Error'];
const RESP_HEADER_NAMES = ['X-A', 'X A', 'X:A', 'X-A\r\nX-Injected', '', 'Content-Length', 'Transfer-Encoding', 'Connection', 'X-\u00e9', 'X-\u20ac', 'X\x00', 'Set-Cookie', 'X-Injected\r\n'];
const RESP_HEADER_VALUES = ['v', 'a\r\nX-Injected: 1', 'a\nX-Injected: 1', 'a\rX-Injected: 1', 'caf\u00e9', '\u20ac', '\x00', 'chunked', 'close', '5', '-1', 'x'.repeat(2000), ' padded ', '\t', 'keep-alive', '\x7f', '\x0b'];
const RESP_BODIES = ['bytes', 'str', 'str-later', 'none', 'int', 'raise-first', 'raise-later', 'empty-chunks', 'many', 'close-raises', 'default'];

function pct(s: string): string {
  // Latin-1 bytes, or UTF-8 when the text needs it (the app decodes with u=1).
  const bytes = /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
  return [...bytes].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
}

export function responseCase(rng: Rng): { input: Buffer; description: string } {
  const params: string[] = [];
  const pick = <T>(items: readonly T[]): T => rng.pick(items);
  let utf8 = false;
  const text = (s: string): string => {
    if (/[^\x00-\xff]/.test(s)) utf8 = true;
    return pct(s);
  };
  if (rng.chance(0.5)) params.push('status=' + text(pick(RESP_STATUSES)));
  const headers = rng.int(3);
  for (let i = 0; i < headers; i++) params.push(`hn=${text(pick(RESP_HEADER_NAMES))}&hv=${text(pick(RESP_HEADER_VALUES))}`);
  if (rng.chance(0.1)) params.push('hbig=' + pick(['4000', '9000', '70000', '1048576']));
  if (rng.chance(0.3)) params.push('cl=' + pick(['0', '2', '5', '10', '100', '99999', 'abc', '-1', '']));
  params.push('body=' + pick(RESP_BODIES));
  if (rng.chance(0.3)) params.push('size=' + pick(['0', '1', '5', '100', '70000']));
  if (rng.chance(0.1)) params.push('twice=1');
  if (rng.chance(0.1)) params.push('write=1');
  if (rng.chance(0.05)) params.push('bad-headers=1');
  if (utf8) params.push('u=1');
  const first = `GET /resp?${params.join('&')} HTTP/1.1\r\nHost: fuzz.local\r\n\r\n`;
  // A second request on the same connection: what the first response leaves behind shows here.
  const second = 'GET /after HTTP/1.1\r\nHost: fuzz.local\r\n\r\n';
  return { input: Buffer.from(first + second, 'latin1'), description: decodeURIComponentLatin1(params.join('&')) };
}

// ---------------------------------------------------------------------------

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function saveRepro(outDir: string, n: number, kind: string, protocol: string, input: Buffer, detail: string): string {
  const base = join(outDir, `failure-${n}-${protocol}`);
  writeFileSync(base + '.bin', input);
  writeFileSync(base + '.txt', `${kind}\nprotocol: ${protocol}\n${detail}\ninput (latin-1, JSON-escaped):\n${JSON.stringify(input.toString('latin1'))}\n`);
  return base + '.bin';
}

export async function runServerFuzz(opts: ServerFuzzOptions): Promise<ServerFuzzStats> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-fuzz-server-'));
  const rng = new Rng(opts.seed);
  const seeds = { http: httpSeeds(), uwsgi: uwsgiSeeds() };
  const stats: ServerFuzzStats = {
    connections: { http: 0, uwsgi: 0, response: 0 }, requests: 0, responses: 0, outcomes: {}, workerDeaths: 0, masterExit: null, failures: [], serverLog: join(opts.outDir, 'server.log'),
  };
  mkdirSync(join(opts.outDir, 'samples'), { recursive: true });
  const server = await startServer(opts, dir);
  log(`nuwsgi master pid ${server.proc.pid}: HTTP 127.0.0.1:${server.httpPort}, uwsgi 127.0.0.1:${server.uwsgiPort}`);
  const recent: Array<{ at: number; protocol: string; input: Buffer }> = [];
  let logSeen = 0;
  const deadline = Date.now() + opts.durationMs;
  const fail = (kind: string, protocol: string, input: Buffer, detail: string): void => {
    const file = saveRepro(opts.outDir, stats.failures.length + 1, kind, protocol, input, detail);
    stats.failures.push({ kind, detail: detail.slice(0, 2000), file });
    log(`FAILURE ${kind}: ${detail.split('\n')[0]!.slice(0, 300)} -> ${file}`);
  };
  const watchLog = (): void => {
    for (; logSeen < server.log.length; logSeen++) {
      const line = server.log[logSeen]!;
      if (!/DAMN ! worker|died|killed by signal/.test(line)) continue;
      stats.workerDeaths++;
      const suspects = recent.filter((r) => r.at > Date.now() - 3000);
      const detail = `${line}\n${suspects.length} inputs sent in the 3 s before (each saved next to this file as suspect-*.bin)`;
      const file = saveRepro(opts.outDir, stats.failures.length + 1, 'worker crash', 'mixed', Buffer.concat(suspects.map((s) => s.input)), detail);
      suspects.forEach((s, i) => writeFileSync(join(opts.outDir, `suspect-${stats.failures.length + 1}-${i}-${s.protocol}.bin`), s.input));
      stats.failures.push({ kind: 'worker crash', detail, file });
      log(`FAILURE worker crash: ${line}`);
    }
  };

  const one = async (): Promise<void> => {
    const r = rng.next();
    const protocol: Protocol = r < 0.55 ? 'http' : r < 0.8 ? 'uwsgi' : 'http';
    let input: Buffer;
    let label: string = protocol;
    if (r >= 0.8) {
      input = responseCase(rng).input;
      label = 'response';
      stats.connections.response++;
    } else {
      input = mutate(rng, seeds[protocol], protocol === 'http' ? HTTP_MUTATORS : UWSGI_MUTATORS);
      stats.connections[protocol]++;
    }
    recent.push({ at: Date.now(), protocol: label, input });
    while (recent.length > 0 && recent[0]!.at < Date.now() - 5000) recent.shift();
    const outcome = parseWhole(protocol, input);
    stats.requests += outcome.heads + (outcome.heads === 0 && outcome.error !== null ? 1 : 0);
    const ex = await exchange(protocol === 'http' ? server.httpPort : server.uwsgiPort, input, rng, rng.chance(0.5));
    const verdict = judge(protocol, outcome, ex, label === 'response');
    stats.responses += verdict.responses;
    const cls = `${label} ${verdict.cls}`;
    bump(stats.outcomes, cls);
    // A few inputs of every outcome class, to look at what lands where.
    if (stats.outcomes[cls]! <= 3) {
      writeFileSync(join(opts.outDir, 'samples', `${cls.replace(/[^A-Za-z0-9]+/g, '_')}-${stats.outcomes[cls]}.txt`), `${JSON.stringify(input.toString('latin1'))}\n->\n${JSON.stringify(ex.data.subarray(0, 2000).toString('latin1'))}\n`);
    }
    if (verdict.failure !== null) {
      fail(verdict.failure.split(':')[0]!, label, input, `${verdict.failure}\nserver wrote (latin-1, JSON-escaped, first 3000 bytes):\n${JSON.stringify(ex.data.subarray(0, 3000).toString('latin1'))}`);
    }
  };

  const lanes = Array.from({ length: opts.concurrency ?? 12 }, async () => {
    while (Date.now() < deadline && server.exited === null && stats.failures.length < 50) {
      await one();
      watchLog();
    }
  });
  const progress = setInterval(() => {
    const total = stats.connections.http + stats.connections.uwsgi + stats.connections.response;
    log(`  ${total} connections, ${stats.failures.length} failures, ${Math.round((deadline - Date.now()) / 1000)} s left`);
  }, 30_000);
  await Promise.all(lanes);
  clearInterval(progress);
  // Deaths logged after the last exchange count too.
  await new Promise((r) => setTimeout(r, 500));
  watchLog();
  if (server.exited !== null) {
    const before = Math.round((deadline - server.exited.at) / 1000);
    stats.masterExit = `master exited (code ${server.exited.code}, signal ${server.exited.signal}) ${before >= 0 ? `${before} s before` : `${-before} s after`} the end of the run`;
    fail('master exit', 'mixed', Buffer.concat(recent.map((x) => x.input)), stats.masterExit + '\n' + server.log.slice(-40).join('\n'));
  }
  await stopServer(server);
  writeFileSync(stats.serverLog, server.log.join('\n') + '\n');
  rmSync(dir, { recursive: true, force: true }); // the app's copy; what matters is in outDir
  return stats;
}
