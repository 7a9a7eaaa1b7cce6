import type { BodyCollector } from './body';
import type { ConnectionReader } from './connection';
import type { BodyStream } from './asgi/body-stream';
import type { HttpHead } from '../protocol/http1';
import type { UwsgiVars } from '../protocol/uwsgi';

/** Where a response goes: the client connection, seen from the runner. */
export interface ResponseOutput {
  /** Queue bytes; false when the socket's buffer is full (wait for drain before more). */
  write(chunks: Buffer[]): boolean;
  /** Resolves true when the buffer drained, false when the connection is gone. */
  drained(): Promise<boolean>;
  readonly closed: boolean;
  /** Why the connection broke ('EPIPE', 'ECONNRESET', 'ETIMEDOUT'...), if it did. */
  readonly failure: string | undefined;
  /** The response is complete: keep the connection for the next request, or close it. */
  finish(keepAlive: boolean): void;
  /** Drop the connection now: the response cannot be completed (app error mid-stream, bad length). */
  destroy(): void;
  /**
   * An interim (1xx) response before the final one: written unless a byte of
   * the final response went out already or the connection is gone. True when written.
   */
  interim?(data: Buffer): boolean;
  /**
   * The socket's descriptor when bytes may be written to it directly right
   * now (nothing queued, no write batch, not TLS), else -1. For sendfile(2).
   */
  directFd?(): number;
}

/** One request, parsed and with its whole body, waiting for or inside the Python side. */
export interface Exchange {
  /**
   * CGI/WSGI variables, latin-1 native strings, in order. On HTTP sockets
   * they are built on first use (a static file is answered from `head`).
   */
  vars: Array<[string, string]>;
  /**
   * uwsgi sockets: the packet's vars, as long as `vars` has not been read
   * (reading it makes the pairs, which a router may change): the bridge then
   * writes Python's environ from these bytes, and no JS string is made for them.
   */
  readonly uwsgiVars?: UwsgiVars | undefined;
  /**
   * HTTP sockets: false while `vars` has not been built (nothing asked for
   * it: no mountpoint routing, no trusted proxy, no request log); an ASGI
   * scope then comes from `head` alone. Absent: `vars` is there.
   */
  readonly varsBuilt?: boolean;
  /** HTTP sockets: the parsed request head. */
  head?: HttpHead;
  body: BodyCollector;
  method: string;
  uri: string;
  remoteAddr: string;
  remoteUser: string;
  /** Status-line protocol: "HTTP/1.1" on HTTP sockets, SERVER_PROTOCOL (or HTTP/1.0) on uwsgi sockets. */
  protocol: string;
  /** What the request line said, for the log: "HTTP/1.1" (empty when a uwsgi request has none). */
  requestProtocol: string;
  clientKeepAlive: boolean;
  clientHttp11: boolean;
  /** uwsgi protocol: no framing headers, close after the response. */
  raw: boolean;
  /** wsgi.url_scheme. */
  scheme: 'http' | 'https';
  isHead: boolean;
  startedAtMs: number;
  /** performance.now() when the request started: the log's duration (µs for --log-micros). */
  startedAtPerf?: number;
  /** The app serving it, once the runner has routed it. */
  appId: number;
  /** The core (--threads) running it, once started; an ASGI worker's slot. */
  core: number;
  /**
   * ASGI: how many times Node woke the app's task for this request (the
   * request, each body piece, each pull of a streamed response, each
   * WebSocket message): the log's "N switches", as uWSGI's async cores count
   * their resumptions. Unset: one (a WSGI request is one call).
   */
  switches?: number;
  out: ResponseOutput;
  /** ASGI: the body, when the request was handed on before all of it arrived (its first bytes are in `body`). */
  stream?: BodyStream;
  /** ASGI: told when the client closes or half-closes while the request is in the app (http.disconnect). */
  clientGone?: () => void;
  /** HTTP sockets (and HTTPS): what the parser and the socket know beyond the CGI variables (the ASGI scope uses it). */
  http?: HttpFacts;
  /** Set when the request asked to switch to WebSocket (HTTP sockets): the runner may take the connection over. */
  upgrade?: UpgradeRequest;
}

/** A request as the HTTP socket received it. */
export interface HttpFacts {
  readonly version: '1.0' | '1.1';
  /** The header fields, raw names as sent, values without surrounding whitespace, in order, latin-1. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly remotePort: number;
  /** The socket's local address and port (port 0 on a unix socket); a getsockname(2) the first time. */
  local(): { address: string; port: number };
}

/** A request with "Upgrade: websocket" (src/worker/asgi/websocket-session.ts serves it for ASGI apps). */
export interface UpgradeRequest {
  /** The request's header fields, raw names as sent, latin-1. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Hand the connection's input to `reader` from now on (right after writing the 101); null when it cannot be. */
  takeOver(reader: ConnectionReader): UpgradedConnection | null;
  /** Called if the client leaves before the connection is taken over (the app is still deciding). */
  onClosed(listener: () => void): void;
}

/** The connection once switched: flow control and the end, besides ResponseOutput's write/drained/destroy. */
export interface UpgradedConnection {
  pause(): void;
  resume(): void;
  /** FIN after what is written (the close handshake is over); the socket timeout closes it if the client never does. */
  end(): void;
}
