import { bytesAre, u16, UwsgiParser, uwsgiVarSlots, type UwsgiHead, type UwsgiParserHandlers, type UwsgiVars } from '../protocol/uwsgi';
import { latin1Cached } from '../protocol/latin1-cache';
import { BodyCollector, type SpoolPolicy } from './body';
import { Connection, type ConnectionHost, type ConnectionReader, type ConnectionTimeouts } from './connection';
import type { Exchange } from './exchange';
import { ExchangeBase } from './exchange-base';
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
  /**
   * The parser copies what it keeps (the vars block; the 4 header bytes as
   * numbers) and body views go to BodyCollector/BodyStream, which copy: the
   * transport can hand us views of its read buffer instead of a copy per read
   * (TransportEvents.borrowsInput). nginx opens a connection per request, so
   * that was an allocation and a copy of the whole packet per request.
   */
  readonly borrowsInput = true;

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
    this.begin(exchangeFor(head, this.conn, this.opts), head.contentLength > 0 && this.host.streamsBodies === true, head.contentLength);
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
    this.noteBodyCutShort();
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
  const ex = new UwsgiExchange(head.raw, new BodyCollector(opts.spool), conn);
  if (head.modifier1 === MODIFIER_WSGI_STRIP_SCRIPT_NAME) stripScriptName(ex.vars);
  return ex;
}

/**
 * A uwsgi request. Its vars stay the packet's bytes (`uwsgiVars`) until
 * something reads `vars` (a router with mountpoints, the static server, a
 * log format naming a var, ASGI's scope): most requests never make them.
 */
class UwsgiExchange extends ExchangeBase implements Exchange {
  method: string;
  uri: string;
  remoteAddr: string;
  remoteUser: string;
  protocol: string;
  requestProtocol: string;
  clientKeepAlive = false;
  clientHttp11 = false;
  raw = true;
  scheme: 'http' | 'https';
  isHead: boolean;
  private packetVars: UwsgiVars | undefined;
  private pairs: Array<[string, string]> | undefined = undefined;

  constructor(vars: UwsgiVars, body: BodyCollector, conn: Connection) {
    super(body, conn);
    this.packetVars = vars;
    const known = knownVars(vars);
    const serverProtocol = known.serverProtocol ?? '';
    this.method = known.method ?? '';
    this.uri = known.requestUri ?? known.pathInfo ?? '';
    this.remoteAddr = known.remoteAddr ?? '';
    this.remoteUser = known.remoteUser ?? '';
    this.protocol = statusLineProtocol(serverProtocol);
    this.requestProtocol = serverProtocol;
    this.scheme = schemeFromHttpsVar(known.https);
    this.isHead = known.method === 'HEAD';
  }

  get uwsgiVars(): UwsgiVars | undefined {
    return this.packetVars;
  }

  get vars(): Array<[string, string]> {
    if (this.pairs !== undefined) return this.pairs;
    const pairs = (this.packetVars as UwsgiVars).pairs();
    this.packetVars = undefined; // from now on the pairs are the request's vars (they may be changed)
    return (this.pairs = pairs);
  }

  set vars(value: Array<[string, string]>) {
    this.pairs = value;
    this.packetVars = undefined;
  }
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

/** One pass over the vars, keys compared on the bytes: only these values become strings. */
function knownVars(vars: UwsgiVars): KnownVars {
  const k: KnownVars = { method: undefined, requestUri: undefined, pathInfo: undefined, remoteAddr: undefined, remoteUser: undefined, serverProtocol: undefined, https: undefined };
  const block = vars.block;
  let pos = 0;
  while (pos < block.length) {
    const key = pos + 2;
    const keyEnd = key + u16(block, pos);
    const value = keyEnd + 2;
    const valueEnd = value + u16(block, keyEnd);
    pos = valueEnd;
    switch (keyEnd - key) {
      case 14:
        if (k.method === undefined && bytesAre(block, key, 'REQUEST_METHOD')) k.method = latin1Cached(block, value, valueEnd);
        break;
      case 11:
        if (k.requestUri === undefined && bytesAre(block, key, 'REQUEST_URI')) k.requestUri = latin1Cached(block, value, valueEnd);
        else if (k.remoteAddr === undefined && bytesAre(block, key, 'REMOTE_ADDR')) k.remoteAddr = latin1Cached(block, value, valueEnd);
        else if (k.remoteUser === undefined && bytesAre(block, key, 'REMOTE_USER')) k.remoteUser = latin1Cached(block, value, valueEnd);
        break;
      case 9:
        if (k.pathInfo === undefined && bytesAre(block, key, 'PATH_INFO')) k.pathInfo = latin1Cached(block, value, valueEnd);
        break;
      case 15:
        if (k.serverProtocol === undefined && bytesAre(block, key, 'SERVER_PROTOCOL')) k.serverProtocol = latin1Cached(block, value, valueEnd);
        break;
      case 5:
        if (k.https === undefined && bytesAre(block, key, 'HTTPS')) k.https = latin1Cached(block, value, valueEnd);
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
