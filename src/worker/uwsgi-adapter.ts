import { performance } from 'node:perf_hooks';
import type { ProtocolError } from '../protocol/errors';
import { UwsgiParser, uwsgiVarSlots, type UwsgiHead } from '../protocol/uwsgi';
import { BodyCollector, type SpoolPolicy } from './body';
import { BodyStream } from './asgi/body-stream';
import { Connection, type ConnectionHost, type ConnectionTimeouts } from './connection';
import type { Exchange } from './exchange';
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
  let current: Exchange | null = null;
  /** The packet has a body: once this read is consumed, hand the request on if the body is still arriving (ASGI). */
  let mayStream = false;
  const parser = new UwsgiParser(
    {
      onHead: (head) => {
        if (head.modifier1 !== MODIFIER_WSGI && head.modifier1 !== MODIFIER_WSGI_STRIP_SCRIPT_NAME) {
          // uWSGI's words; nothing is written, nginx answers 502.
          host.log(`-- unavailable modifier requested: ${head.modifier1} --`);
          conn.destroy();
          return;
        }
        current = exchangeFor(head, conn, opts);
        conn.headParsed();
        mayStream = head.contentLength > 0 && host.streamsBodies === true;
        if (mayStream) current.body.spillsOverBudget = false; // one read at most: then it streams
      },
      onBody: (chunk) => {
        conn.noteBody(chunk.length);
        if (current?.stream !== undefined) current.stream.push(chunk);
        else current?.body.push(chunk);
      },
      onEnd: () => {
        const ex = current;
        current = null;
        conn.partialRequest = false;
        if (ex === null) return;
        if (ex.stream !== undefined) {
          ex.stream.end();
          conn.bodyEnded();
          return;
        }
        conn.enqueue(ex);
      },
      onError: (err: ProtocolError) => {
        if (current?.stream === undefined) current?.body.dispose(); // a streamed one: the runner disposes it
        current = null;
        conn.fail(err, 'HTTP/1.0');
      },
    },
    { bufferSize: opts.bufferSize, maxVars: uwsgiVarSlots(opts.maxVars), maxBodyBytes: opts.maxBodyBytes },
  );
  conn.read({
    data: (chunk) => {
      parser.push(chunk);
      if (mayStream) {
        mayStream = false;
        if (current !== null && !current.body.spooled) streamBody(current);
      }
      conn.noteInput();
    },
    end: () => {
      current?.stream?.fail(); // a body cut short never completes
      if (!parser.finished) conn.destroy(); // a truncated packet: nothing to answer
    },
    closed: () => {
      if (current?.stream !== undefined) current.stream.fail();
      else current?.body.dispose();
      current = null;
    },
    // nginx sends nothing after the packet, and the connection closes after the response.
    needsInput: () => !parser.finished,
  });
  conn.noteInput();
  /**
   * ASGI: the app gets the body as it arrives (nginx sends it as the client
   * does with `uwsgi_request_buffering off`), with the HTTP socket's
   * backpressure. nginx answers Expect: 100-continue itself.
   */
  function streamBody(ex: Exchange): void {
    ex.stream = new BodyStream({ pause: () => conn.pauseBody(), resume: () => conn.resumeBody(), firstTake: () => undefined }, opts.spool.budget);
    conn.enqueueEarly(ex);
  }
  return conn;
}

function exchangeFor(head: UwsgiHead, conn: Connection, opts: UwsgiAdapterOptions): Exchange {
  const vars = head.vars;
  if (head.modifier1 === MODIFIER_WSGI_STRIP_SCRIPT_NAME) stripScriptName(vars);
  const get = (key: string): string | undefined => {
    for (const [k, v] of vars) if (k === key) return v;
    return undefined;
  };
  const serverProtocol = get('SERVER_PROTOCOL') ?? '';
  return {
    vars,
    body: new BodyCollector(opts.spool),
    method: get('REQUEST_METHOD') ?? '',
    uri: get('REQUEST_URI') ?? get('PATH_INFO') ?? '',
    remoteAddr: get('REMOTE_ADDR') ?? '',
    remoteUser: get('REMOTE_USER') ?? '',
    protocol: statusLineProtocol(serverProtocol),
    requestProtocol: serverProtocol,
    clientKeepAlive: false,
    clientHttp11: false,
    raw: true,
    scheme: schemeFromHttpsVar(get('HTTPS')),
    isHead: get('REQUEST_METHOD') === 'HEAD',
    startedAtMs: Date.now(),
    startedAtPerf: performance.now(),
    appId: 0,
    core: 0,
    out: conn,
  };
}

/**
 * The protocol of the status line. uWSGI writes SERVER_PROTOCOL as it came;
 * a var with a CR, LF or any garbage would then split or break the response
 * (found by scripts/fuzz.mjs), so anything but HTTP/x.y gets HTTP/1.0.
 */
function statusLineProtocol(serverProtocol: string): string {
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
