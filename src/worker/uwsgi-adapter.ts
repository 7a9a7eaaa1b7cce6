import { performance } from 'node:perf_hooks';
import { UwsgiParser, uwsgiVarSlots, type UwsgiHead, type UwsgiParserHandlers } from '../protocol/uwsgi';
import { BodyCollector, type SpoolPolicy } from './body';
import { Connection, type ConnectionHost, type ConnectionReader, type ConnectionTimeouts } from './connection';
import type { Exchange } from './exchange';
import { RequestSession } from './request-session';
import type { Transport } from './transport';

export interface UwsgiAdapterOptions {
  bufferSize: number;
  maxVars: number;
  maxBodyBytes: number;
  /** --post-buffering: where bodies are kept. */
  spool: SpoolPolicy;
  timeouts: ConnectionTimeouts;
}

/** modifier1 values nuwsgi serves. 22 (raw code eval) and the rest are never served. */
const MODIFIER_WSGI = 0;
const MODIFIER_WSGI_STRIP_SCRIPT_NAME = 30;

/**
 * Serve one uwsgi-protocol connection (what nginx's uwsgi_pass speaks): one
 * packet, one response in plain HTTP, then close, as uWSGI does.
 */
export function serveUwsgiConnection(transport: Transport, host: ConnectionHost, opts: UwsgiAdapterOptions): Connection {
  const conn = new Connection(transport, host, opts.timeouts);
  conn.timeoutProtocol = 'HTTP/1.0'; // what our own error answers say on uwsgi sockets
  conn.partialRequest = true; // until the packet is complete, the connection is "reading"
  conn.read(new UwsgiSession(conn, host, opts));
  conn.noteInput();
  return conn;
}

let limitsFor: UwsgiAdapterOptions | null = null;
let limits: ConstructorParameters<typeof UwsgiParser>[1] | null = null;

/** The parser's limits for `opts`, made once per listener's options (not per connection: nginx opens one per request). */
function parserLimits(opts: UwsgiAdapterOptions): ConstructorParameters<typeof UwsgiParser>[1] {
  if (limitsFor !== opts || limits === null) {
    limits = { bufferSize: opts.bufferSize, maxVars: uwsgiVarSlots(opts.maxVars), maxBodyBytes: opts.maxBodyBytes };
    limitsFor = opts;
  }
  return limits;
}

/** A uwsgi connection's session: one packet (and its body) per connection, as nginx's uwsgi_pass sends it. */
class UwsgiSession extends RequestSession implements UwsgiParserHandlers, ConnectionReader {
  protected readonly errorProtocol = 'HTTP/1.0';
  private readonly host: ConnectionHost;
  private readonly opts: UwsgiAdapterOptions;
  private readonly parser: UwsgiParser;

  constructor(conn: Connection, host: ConnectionHost, opts: UwsgiAdapterOptions) {
    super(conn, opts.spool.budget);
    this.host = host;
    this.opts = opts;
    this.parser = new UwsgiParser(this, parserLimits(opts));
  }

  // ------------------------------------------------------------ UwsgiParserHandlers

  onHead(head: UwsgiHead): void {
    if (head.modifier1 !== MODIFIER_WSGI && head.modifier1 !== MODIFIER_WSGI_STRIP_SCRIPT_NAME) {
      // uWSGI's words; nothing is written, nginx answers 502.
      this.host.log(`-- unavailable modifier requested: ${head.modifier1} --`);
      this.conn.destroy();
      return;
    }
    // With `uwsgi_request_buffering off` nginx sends the body as the client does: ASGI apps get it as it arrives.
    this.begin(exchangeFor(head, this.conn, this.opts), head.contentLength > 0 && this.host.streamsBodies === true);
  }

  /** nginx answers Expect: 100-continue itself. */
  protected firstTake(): () => void {
    return () => undefined;
  }

  // ------------------------------------------------------------ ConnectionReader

  data(chunk: Buffer): void {
    this.parser.push(chunk);
    this.streamIfStillArriving();
    this.conn.noteInput();
  }

  end(): void {
    this.cutShort();
    if (!this.parser.finished) this.conn.destroy(); // a truncated packet: nothing to answer
  }

  closed(): void {
    this.dropCurrent();
  }

  /** nginx sends nothing after the packet, and the connection closes after the response. */
  needsInput(): boolean {
    return !this.parser.finished;
  }
}

function exchangeFor(head: UwsgiHead, conn: Connection, opts: UwsgiAdapterOptions): Exchange {
  const vars = head.vars;
  if (head.modifier1 === MODIFIER_WSGI_STRIP_SCRIPT_NAME) stripScriptName(vars);
  const known = knownVars(vars);
  const serverProtocol = known.serverProtocol ?? '';
  return {
    vars,
    body: new BodyCollector(opts.spool),
    method: known.method ?? '',
    uri: known.requestUri ?? known.pathInfo ?? '',
    remoteAddr: known.remoteAddr ?? '',
    remoteUser: known.remoteUser ?? '',
    protocol: statusLineProtocol(serverProtocol),
    requestProtocol: serverProtocol,
    clientKeepAlive: false,
    clientHttp11: false,
    raw: true,
    scheme: schemeFromHttpsVar(known.https),
    isHead: known.method === 'HEAD',
    startedAtMs: Date.now(),
    startedAtPerf: performance.now(),
    appId: 0,
    core: 0,
    switches: undefined,
    out: conn,
  };
}

/** The vars the worker itself reads; the first of duplicates wins. */
interface KnownVars {
  method: string | undefined;
  requestUri: string | undefined;
  pathInfo: string | undefined;
  remoteAddr: string | undefined;
  remoteUser: string | undefined;
  serverProtocol: string | undefined;
  https: string | undefined;
}

/** One pass over the vars (a lookup per var was seven passes per request). */
function knownVars(vars: ReadonlyArray<readonly [string, string]>): KnownVars {
  const k: KnownVars = { method: undefined, requestUri: undefined, pathInfo: undefined, remoteAddr: undefined, remoteUser: undefined, serverProtocol: undefined, https: undefined };
  for (const [key, value] of vars) {
    switch (key) {
      case 'REQUEST_METHOD':
        k.method ??= value;
        break;
      case 'REQUEST_URI':
        k.requestUri ??= value;
        break;
      case 'PATH_INFO':
        k.pathInfo ??= value;
        break;
      case 'REMOTE_ADDR':
        k.remoteAddr ??= value;
        break;
      case 'REMOTE_USER':
        k.remoteUser ??= value;
        break;
      case 'SERVER_PROTOCOL':
        k.serverProtocol ??= value;
        break;
      case 'HTTPS':
        k.https ??= value;
        break;
      default:
        break;
    }
  }
  return k;
}

/**
 * The protocol of the status line. uWSGI writes SERVER_PROTOCOL as it came;
 * a var with a CR, LF or any garbage would then split or break the response
 * (found by scripts/fuzz.mjs), so anything but HTTP/x.y gets HTTP/1.0.
 */
function statusLineProtocol(serverProtocol: string): string {
  if (serverProtocol === 'HTTP/1.1' || serverProtocol === 'HTTP/1.0') return serverProtocol;
  return /^HTTP\/[0-9]\.[0-9]$/.test(serverProtocol) ? serverProtocol : 'HTTP/1.0';
}

/** nginx sets HTTPS to "on" for TLS clients (uWSGI also accepts a leading "1"). */
function schemeFromHttpsVar(value: string | undefined): 'http' | 'https' {
  if (value === undefined) return 'http';
  return value.toLowerCase() === 'on' || value.startsWith('1') ? 'https' : 'http';
}

/** modifier1 30: the legacy nginx mount style, PATH_INFO still carries SCRIPT_NAME. */
function stripScriptName(vars: Array<[string, string]>): void {
  const script = vars.find(([k]) => k === 'SCRIPT_NAME')?.[1] ?? '';
  const index = vars.findIndex(([k]) => k === 'PATH_INFO');
  if (script === '' || index < 0) return;
  const pathInfo = (vars[index] as [string, string])[1];
  if (pathInfo.startsWith(script)) vars[index] = ['PATH_INFO', pathInfo.slice(script.length)];
}
