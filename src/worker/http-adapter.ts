import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { httpHeadToCgiVars } from '../protocol/cgi';
import type { ProtocolError } from '../protocol/errors';
import { Http1Parser, type HttpHead } from '../protocol/http1';
import { BodyCollector, type SpoolPolicy } from './body';
import { BodyStream } from './asgi/body-stream';
import { Connection, type ConnectionHost, type ConnectionTimeouts } from './connection';
import type { Exchange, HttpFacts, UpgradeRequest } from './exchange';
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
  let current: Exchange | null = null;
  /** A WebSocket request's session, told if the client leaves before its 101. */
  let upgradeGone: (() => void) | null = null;
  /** The head just parsed has a body: once this read is consumed, hand the request on if the body is still arriving. */
  let mayStream = false;
  let expectContinue = false;
  const parser = new Http1Parser(
    {
      onHead: (head) => {
        current = exchangeFor(head, conn, opts);
        if (asksForWebSocket(head)) {
          current.upgrade = { headers: head.headers, takeOver: (reader) => conn.takeOver(reader), onClosed: (listener) => (upgradeGone = listener) };
        }
        conn.headParsed();
        const hasBody = head.contentLength > 0 || head.chunked;
        mayStream = hasBody && host.streamsBodies === true;
        if (mayStream) current.body.spillsOverBudget = false; // one read at most: then it streams
        expectContinue = head.expectContinue && hasBody;
        // ASGI answers it when the app first awaits receive() instead (BodyStream's firstTake).
        if (expectContinue && !mayStream && !conn.closed && !conn.busy) {
          // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
          transport.write(CONTINUE);
        }
      },
      onBody: (chunk) => {
        conn.noteBody(chunk.length);
        if (current?.stream !== undefined) current.stream.push(chunk);
        else current?.body.push(chunk);
      },
      onEnd: () => {
        const ex = current;
        current = null;
        if (ex === null) return;
        conn.partialRequest = false;
        if (ex.stream !== undefined) {
          ex.stream.end();
          conn.bodyEnded();
          return;
        }
        fixChunkedLength(ex);
        conn.enqueue(ex);
      },
      onError: (err: ProtocolError) => {
        if (current?.stream === undefined) current?.body.dispose(); // a streamed one: the runner disposes it
        current = null;
        conn.fail(err, SERVER_PROTOCOL);
      },
    },
    { maxHeadBytes: opts.maxHeadBytes, maxBodyBytes: opts.maxBodyBytes },
  );
  conn.read({
    data: (chunk) => {
      parser.push(chunk);
      conn.partialRequest = !parser.idle;
      if (mayStream) {
        mayStream = false;
        if (current !== null && !current.body.spooled) streamBody(current);
      }
      conn.noteInput();
    },
    // The client half-closed: answer what it sent completely, then close.
    // (A WebSocket client never does before its 101: it left.)
    end: () => {
      upgradeGone?.();
      upgradeGone = null;
      current?.stream?.fail(); // a body cut short never completes
      conn.closeWhenIdle();
    },
    closed: () => {
      if (current?.stream !== undefined) current.stream.fail();
      else current?.body.dispose();
      current = null;
      upgradeGone?.();
      upgradeGone = null;
    },
    needsInput: () => true, // keep-alive: the next request, or EOF
  });
  /** ASGI: the app gets the body as it arrives (http.request with more_body); what came so far is its first piece. */
  function streamBody(ex: Exchange): void {
    const expects = expectContinue;
    ex.stream = new BodyStream({
      pause: () => conn.pauseBody(),
      resume: () => conn.resumeBody(),
      firstTake: () => {
        if (expects && conn.mayContinue) transport.write(CONTINUE);
      },
    }, opts.spool.budget);
    conn.enqueueEarly(ex);
  }
  return conn;
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
class HttpExchange implements Exchange {
  private cgiVars: Array<[string, string]> | undefined = undefined;
  private readonly conn: Connection;
  private readonly socketScheme: 'http' | 'https';
  readonly head: HttpHead;
  body: BodyCollector;
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
  startedAtMs = Date.now();
  startedAtPerf = performance.now();
  appId = 0;
  core = 0;
  out: Connection;
  stream?: BodyStream = undefined;
  clientGone?: () => void = undefined;
  upgrade?: UpgradeRequest = undefined;

  constructor(head: HttpHead, conn: Connection, opts: HttpAdapterOptions) {
    this.head = head;
    this.conn = conn;
    this.socketScheme = opts.scheme;
    this.body = new BodyCollector(opts.spool);
    this.method = head.method;
    this.uri = head.target;
    this.requestProtocol = `HTTP/${head.version}`;
    this.clientKeepAlive = head.keepAlive && opts.keepAlive;
    this.clientHttp11 = head.version === '1.1';
    this.scheme = opts.scheme;
    this.isHead = head.method === 'HEAD';
    this.out = conn;
  }

  get vars(): Array<[string, string]> {
    if (this.cgiVars !== undefined) return this.cgiVars;
    const t = this.conn.transport;
    return (this.cgiVars = httpHeadToCgiVars(this.head, {
      remoteAddr: t.remoteAddress,
      remotePort: t.remotePort,
      // Read only without a server name and a Host: a getsockname(2) we can mostly skip.
      get localAddr() {
        return t.localAddress;
      },
      localPort: t.localPort,
      serverName: HOSTNAME,
      scheme: this.socketScheme,
    }));
  }

  set vars(value: Array<[string, string]>) {
    this.cgiVars = value;
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
  let upgrade = false;
  let connection = false;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (lower === 'upgrade') upgrade ||= hasToken(value, 'websocket');
    else if (lower === 'connection') connection ||= hasToken(value, 'upgrade');
  }
  return upgrade && connection;
}

function hasToken(list: string, token: string): boolean {
  return list.split(',').some((item) => item.trim().toLowerCase() === token);
}
