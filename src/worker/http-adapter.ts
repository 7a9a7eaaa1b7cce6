import os from 'node:os';
import { httpHeadToCgiVars, type ConnectionInfo } from '../protocol/cgi';
import { equalsLowercase, hasListToken } from '../protocol/ascii';
import { Http1Parser, type HttpHead, type HttpParserHandlers } from '../protocol/http1';
import { BodyCollector, type SpoolPolicy } from './body';
import { Connection, type ConnectionHost, type ConnectionReader, type ConnectionTimeouts } from './connection';
import type { Exchange, HttpFacts, UpgradeRequest } from './exchange';
import { ExchangeBase } from './exchange-base';
import { RequestSession } from './request-session';
import type { Transport } from './transport';

export interface HttpAdapterOptions {
  maxHeadBytes: number;
  maxBodyBytes: number;
  /** --post-buffering: where bodies are kept. */
  spool: SpoolPolicy;
  scheme: 'http' | 'https';
  timeouts: ConnectionTimeouts;
  /** false only with --http-keepalive=0: every response closes its connection. */
  keepAlive: boolean;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
const SERVER_PROTOCOL = 'HTTP/1.1';
/** uWSGI's http-socket puts the machine's hostname in SERVER_NAME. */
const HOSTNAME = os.hostname();

/** Serve one HTTP/1.x client connection: parse, collect bodies, hand complete requests on. */
export function serveHttpConnection(transport: Transport, host: ConnectionHost, opts: HttpAdapterOptions): Connection {
  const conn = new Connection(transport, host, opts.timeouts);
  conn.read(new HttpSession(conn, host, opts));
  return conn;
}

/** An HTTP/1.x connection's session: keep-alive, 100-continue and WebSocket upgrades on top of RequestSession. */
class HttpSession extends RequestSession implements HttpParserHandlers, ConnectionReader {
  protected readonly errorProtocol = SERVER_PROTOCOL;
  private readonly host: ConnectionHost;
  private readonly opts: HttpAdapterOptions;
  private readonly parser: Http1Parser;
  /** A WebSocket request's session, told if the client leaves before its 101. */
  private upgradeGone: (() => void) | null = null;
  private expectContinue = false;
  /** The parser copies what it keeps (partial lines; body views go to BodyCollector/BodyStream, which copy). */
  readonly borrowsInput = true;

  constructor(conn: Connection, host: ConnectionHost, opts: HttpAdapterOptions) {
    super(conn, opts.spool.budget);
    this.host = host;
    this.opts = opts;
    this.parser = new Http1Parser(this, opts); // its limits are opts' maxHeadBytes and maxBodyBytes: no object per connection
  }

  // ------------------------------------------------------------ HttpParserHandlers

  onHead(head: HttpHead): void {
    const conn = this.conn;
    const ex = exchangeFor(head, conn, this.opts);
    if (asksForWebSocket(head)) {
      ex.upgrade = { headers: head.headers, takeOver: (reader) => conn.takeOver(reader), onClosed: (listener) => (this.upgradeGone = listener) };
    }
    const hasBody = head.contentLength > 0 || head.chunked;
    const streams = hasBody && this.host.streamsBodies === true;
    this.begin(ex, streams, head.chunked ? -1 : head.contentLength);
    this.expectContinue = head.expectContinue && hasBody;
    // ASGI answers it when the app first awaits receive() instead (firstTake).
    if (this.expectContinue && !streams && !conn.closed && !conn.busy) {
      // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
      conn.transport.write(CONTINUE);
    }
  }

  protected override complete(ex: Exchange): void {
    fixChunkedLength(ex);
  }

  protected firstTake(): () => void {
    const expects = this.expectContinue;
    const conn = this.conn;
    return () => {
      if (expects && conn.mayContinue) conn.transport.write(CONTINUE);
    };
  }

  // ------------------------------------------------------------ ConnectionReader

  data(chunk: Buffer): void {
    this.parser.push(chunk);
    this.conn.partialRequest = !this.parser.idle;
    this.streamIfStillArriving();
    this.conn.noteInput();
  }

  /**
   * The client half-closed: answer what it sent completely, then close.
   * (A WebSocket client never does before its 101: it left.)
   */
  end(): void {
    this.upgradeGone?.();
    this.upgradeGone = null;
    this.noteBodyCutShort();
    this.cutShort();
    this.conn.closeWhenIdle();
  }

  closed(): void {
    this.dropCurrent();
    this.upgradeGone?.();
    this.upgradeGone = null;
  }

  /** Keep-alive: the next request, or EOF. */
  needsInput(): boolean {
    return true;
  }
}

function exchangeFor(head: HttpHead, conn: Connection, opts: HttpAdapterOptions): Exchange {
  return new HttpExchange(head, conn, opts);
}

/**
 * One HTTP request. Its CGI variables and the peer's address are taken on
 * first use: a static file is answered from the head alone, without building
 * them or asking the kernel for the address (a getpeername(2) per
 * connection). The worker takes them at dispatch for everything else (Python,
 * the request log), while the connection is open. A class, so the lazy
 * getters live on the prototype and cost no closures per request.
 */
class HttpExchange extends ExchangeBase implements Exchange {
  private cgiVars: Array<[string, string]> | undefined = undefined;
  private readonly conn: Connection;
  private readonly socketScheme: 'http' | 'https';
  readonly head: HttpHead;
  method: string;
  uri: string;
  remoteUser = '';
  protocol = SERVER_PROTOCOL;
  requestProtocol: string;
  clientKeepAlive: boolean;
  clientHttp11: boolean;
  raw = false;
  scheme: 'http' | 'https';
  isHead: boolean;
  upgrade?: UpgradeRequest = undefined;

  constructor(head: HttpHead, conn: Connection, opts: HttpAdapterOptions) {
    super(new BodyCollector(opts.spool), conn);
    this.head = head;
    this.conn = conn;
    this.socketScheme = opts.scheme;
    this.method = head.method;
    this.uri = head.target;
    this.requestProtocol = head.version === '1.1' ? 'HTTP/1.1' : `HTTP/${head.version}`;
    this.clientKeepAlive = head.keepAlive && opts.keepAlive;
    this.clientHttp11 = head.version === '1.1';
    this.scheme = opts.scheme;
    this.isHead = head.method === 'HEAD';
  }

  get vars(): Array<[string, string]> {
    if (this.cgiVars !== undefined) return this.cgiVars;
    return (this.cgiVars = httpHeadToCgiVars(this.head, new TransportInfo(this.conn.transport, this.socketScheme)));
  }

  set vars(value: Array<[string, string]>) {
    this.cgiVars = value;
  }

  get varsBuilt(): boolean {
    return this.cgiVars !== undefined;
  }

  get remoteAddr(): string {
    return this.conn.transport.remoteAddress;
  }

  /** The request as received, for ASGI's scope (src/worker/asgi/scope.ts); built on first use. */
  get http(): HttpFacts {
    const t = this.conn.transport;
    return { version: this.head.version, headers: this.head.headers, remotePort: t.remotePort, local: () => ({ address: t.localAddress, port: t.localPort }) };
  }
}

/**
 * The connection's addresses for the CGI variables, asked of the transport
 * only when read: the local address only without a server name and a Host (a
 * getsockname(2) we can mostly skip). A class, not an object literal with a
 * getter: that made a closure and a fresh object shape per request.
 */
class TransportInfo implements ConnectionInfo {
  readonly serverName = HOSTNAME;
  readonly remoteAddr: string;
  private readonly transport: Transport;
  readonly scheme: 'http' | 'https';

  constructor(transport: Transport, scheme: 'http' | 'https') {
    this.transport = transport;
    this.scheme = scheme;
    this.remoteAddr = transport.remoteAddress;
  }

  get remotePort(): number {
    return this.transport.remotePort;
  }

  get localAddr(): string {
    return this.transport.localAddress;
  }

  get localPort(): number {
    return this.transport.localPort;
  }
}

/**
 * A de-chunked body has a length now: give it to the app as CONTENT_LENGTH
 * (Django and most frameworks read only that), as nginx does in front of uWSGI.
 */
export function fixChunkedLength(ex: Exchange): void {
  // From the head when there is one: the variables of a GET need not be built here.
  const chunked = ex.head !== undefined ? ex.head.headers.some(([k, v]) => k.toLowerCase() === 'transfer-encoding' && /chunked/i.test(v)) : ex.vars.some(([k, v]) => k === 'HTTP_TRANSFER_ENCODING' && /chunked/i.test(v));
  if (!chunked) return;
  const length = String(ex.body.length);
  const index = ex.vars.findIndex(([k]) => k === 'CONTENT_LENGTH');
  if (index >= 0) ex.vars[index] = ['CONTENT_LENGTH', length];
  else ex.vars.push(['CONTENT_LENGTH', length]);
}

/**
 * "Upgrade: websocket" with "Connection: upgrade" on an HTTP/1.1 GET (RFC 6455
 * §4.1). The handshake's own checks (key, version) come later, and only for
 * ASGI apps: a WSGI app gets the request as today (uWSGI passes it to the app).
 */
function asksForWebSocket(head: HttpHead): boolean {
  if (head.method !== 'GET' || head.version !== '1.1') return false;
  // Upgrade first: most requests have none, and then Connection is never scanned.
  if (!someField(head.headers, 'upgrade', 'websocket')) return false;
  return someField(head.headers, 'connection', 'upgrade');
}

/** Whether a field named `name` (lowercase) lists `token`. */
function someField(headers: Array<[string, string]>, name: string, token: string): boolean {
  for (const [n, value] of headers) {
    if (equalsLowercase(n, name) && hasListToken(value, token)) return true;
  }
  return false;
}
