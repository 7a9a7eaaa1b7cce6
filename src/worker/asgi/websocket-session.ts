import type { Exchange, UpgradedConnection, UpgradeRequest } from '../exchange';
import type { ResponseOutcome } from '../runner';
import { errorResponse } from '../framing';
import {
  buildHandshakeErrorResponse,
  buildHandshakeResponse,
  allocFrame,
  encodeFrame,
  encodePing,
  encodePong,
  encodeMessage,
  MessageDeflater,
  MessageInflater,
  negotiatePerMessageDeflate,
  Opcode,
  truncateUtf8,
  validateUpgradeRequest,
  WebSocketParser,
  type WsEvent,
} from '../../protocol/websocket';
import { ASGI_EV } from './protocol';
import { WS_CMD, WS_EV, WS_FLAG_MORE, WS_IN, WS_IN_DATA, WS_IN_HEADER, WS_OUT } from './ws-contract';

/** --ws-max-size, --ws-ping-interval, --ws-ping-timeout, --ws-per-message-deflate. */
export interface WsSettings {
  maxSize: number;
  /** 0: no pings. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  perMessageDeflate: boolean;
}

/** What a session needs from the ASGI runner: its slot's region and pipe. */
export interface SessionHost {
  /** Write `command` for this session's slot into the loop's job pipe. */
  command(command: number): void;
  /** The slot's region. */
  readonly region: Buffer;
  /** A copy of the bytes the app's OUT message points at. */
  outData(): Buffer | null;
  /** How many bytes the app's OUT message points at (-1: none). */
  outLength(): number;
  /** Copy them into `target` at `at`, which has room. */
  copyOut(target: Buffer, at: number): void;
  log(line: string): void;
  /** The 101 is out: the connection may now stay open for hours (harakiri stops timing it). */
  opened(): void;
}

/** connecting: the app decides (accept, close, a response); open: frames; closing: our Close is out, the client's awaited. */
type Phase = 'connecting' | 'open' | 'closing' | 'closed';

interface Inbound {
  kind: number;
  code: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);
/** Service restart (IANA): the worker drains (reload, recycling, stop), as uvicorn says it. */
const SERVICE_RESTART = 1012;
const ABNORMAL = 1006;
const NO_STATUS = 1005;
/** How long the client has to answer our Close before the connection is closed anyway. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * One ASGI WebSocket (docs/asgi.md, "WebSockets"): the handshake after the
 * app's accept, frames both ways, pings, the close handshake, and the app's
 * messages through the slot's region (ws-contract.ts). One message at a time
 * goes to Python: the socket is paused while the app has not taken the last
 * one; CMD_WS_SENT tells Python once a message's frame is written and the
 * socket has drained (the app's next send() waits for it).
 */
export class WebSocketSession {
  private readonly host: SessionHost;
  private readonly ex: Exchange;
  private readonly upgrade: UpgradeRequest;
  private readonly settings: WsSettings;
  private phase: Phase = 'connecting';
  private conn: UpgradedConnection | null = null;
  private parser: WebSocketParser | null = null;
  private deflater: MessageDeflater | null = null;
  private key = '';
  private extensionsOffer: string | undefined;
  /** Messages (and the disconnect) not yet taken by Python, in order. */
  private readonly inbox: Inbound[] = [];
  /** A message (or piece) is with Python, its EV_WS_TAKEN awaited; at first, the request itself (CONNECT). */
  private delivering = true;
  private deliveredBytes = 0;
  /** The disconnect is queued for (or with) Python: nothing more goes in. */
  private disconnectQueued = false;
  private appOver = false;
  private httpHead: Buffer | null = null;
  private httpBody: Buffer[] = [];
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private finished: (() => void) | null = null;
  private draining = false;
  /** For the request log and the counters: what the client got. */
  readonly outcome: ResponseOutcome = { status: 101, bodyBytes: 0, headerCount: 0, headerBytes: 0 };

  constructor(host: SessionHost, ex: Exchange, upgrade: UpgradeRequest, settings: WsSettings) {
    this.host = host;
    this.ex = ex;
    this.upgrade = upgrade;
    this.settings = settings;
  }

  /**
   * Validate the handshake and start the app (its request is in the region).
   * Resolves once the app's task is over (the slot is free then; the socket
   * may still finish its close handshake).
   */
  run(writeRequest: () => void): Promise<void> {
    const check = validateUpgradeRequest(this.upgrade.headers);
    if (!check.ok) {
      this.host.log(`WebSocket ${this.ex.uri}: ${check.reason}, answering ${check.status}\n`);
      this.respondAndClose(buildHandshakeErrorResponse(check), check.status);
      return Promise.resolve();
    }
    this.key = check.key;
    this.extensionsOffer = check.extensionsHeader;
    this.upgrade.onClosed(() => {
      if (this.phase !== 'connecting') return;
      this.phase = 'closed';
      this.outcome.status = 499; // nginx's "client closed request": no handshake was answered
      this.ex.out.destroy();
      this.queueDisconnect(ABNORMAL, ''); // the client left while the app decided: receive() says so
    });
    writeRequest();
    this.host.command(WS_CMD.CONNECT);
    return new Promise<void>((resolve) => (this.finished = resolve));
  }

  onEvent(event: number): void {
    if (event === WS_EV.OUT) void this.onOut();
    else if (event === WS_EV.TAKEN) this.onTaken();
    else if (event === ASGI_EV.FREE) this.onAppOver();
    else if (event === ASGI_EV.ANSWER) this.appFailed(); // our own bug on the Python side: logged there
  }

  /** The worker drains (reload, recycling, stop): Close 1012 to the client, websocket.disconnect 1012 to the app. */
  shutdown(): void {
    this.draining = true; // an app still deciding gets its 1012 right after its accept
    if (this.phase !== 'open') return;
    this.queueDisconnect(SERVICE_RESTART, '');
    this.sendClose(SERVICE_RESTART, 'service restart');
  }

  // ------------------------------------------------------------ app -> client

  private async onOut(): Promise<void> {
    const region = this.host.region;
    const kind = region.readUInt32LE(0);
    try {
      if ((kind === WS_OUT.TEXT || kind === WS_OUT.BYTES) && this.deflater === null) await this.sendFrameOfOut(kind);
      else await this.onOtherOut(kind, region.readUInt32LE(4), region.readUInt32LE(8));
    } catch (err) {
      this.host.log(`WebSocket ${this.ex.uri}: ${(err as Error).message}\n`);
      this.fail(1011);
    } finally {
      this.host.command(WS_CMD.SENT);
    }
  }

  /** The hot path: the app's bytes go from Python's memory straight into the frame (one allocation, one copy). */
  private async sendFrameOfOut(kind: number): Promise<void> {
    if (this.phase !== 'open') return; // the client is gone or closing: the app learns it from websocket.disconnect
    const length = Math.max(0, this.host.outLength());
    const frame = allocFrame(kind === WS_OUT.TEXT ? Opcode.TEXT : Opcode.BINARY, length);
    if (length > 0) this.host.copyOut(frame, frame.length - length);
    this.outcome.bodyBytes += length;
    if (!this.ex.out.write([frame])) await this.ex.out.drained();
  }

  /** Accept, close, the HTTP response, an error, and compressed messages. */
  private async onOtherOut(kind: number, code: number, flags: number): Promise<void> {
    const data = this.host.outData() ?? EMPTY;
    if (kind === WS_OUT.ACCEPT) this.accept(data);
    else if (kind === WS_OUT.TEXT || kind === WS_OUT.BYTES) await this.sendMessage(kind === WS_OUT.TEXT ? Opcode.TEXT : Opcode.BINARY, data);
    else if (kind === WS_OUT.CLOSE) this.sendClose(code, data.toString('utf8'));
    else if (kind === WS_OUT.HTTP_HEAD) this.httpHead = data;
    else if (kind === WS_OUT.HTTP_BODY) this.httpBodyPiece(data, (flags & WS_FLAG_MORE) !== 0);
    else if (kind === WS_OUT.ERROR) this.appFailed();
  }

  private accept(data: Buffer): void {
    if (this.phase !== 'connecting') return;
    const text = data.toString('latin1');
    const eol = text.indexOf('\r\n');
    const subprotocol = eol > 0 ? text.slice(0, eol) : undefined;
    const extraHeaders = parseHeaderLines(text.slice(eol + 2));
    let inflater: MessageInflater | null = null;
    let extensionsHeader: string | undefined;
    if (this.settings.perMessageDeflate) {
      const agreement = negotiatePerMessageDeflate(this.extensionsOffer);
      if (agreement !== null) {
        extensionsHeader = agreement.responseHeader;
        this.deflater = new MessageDeflater({ windowBits: agreement.params.serverMaxWindowBits });
        inflater = new MessageInflater({ noContextTakeover: agreement.params.clientNoContextTakeover });
      }
    }
    if (this.ex.out.closed) {
      this.phase = 'closed';
      this.queueDisconnect(ABNORMAL, ''); // the client left while the app decided
      return;
    }
    this.conn = this.upgrade.takeOver({
      data: (chunk) => this.onData(chunk),
      end: () => this.onPeerEnd(),
      closed: () => this.onSocketClosed(),
      needsInput: () => true,
    });
    if (this.conn === null) {
      // Input after the request, before our 101: not a client following RFC 6455 §4.1.
      this.respondAndClose(errorResponse(this.ex.protocol, 400, 'Bad Request'), 400);
      this.queueDisconnect(ABNORMAL, '');
      return;
    }
    this.parser = new WebSocketParser({ maxMessageSize: this.settings.maxSize, inflater, requireMask: true, textAsBytes: true });
    const head = buildHandshakeResponse({ key: this.key, subprotocol, extensionsHeader, extraHeaders });
    this.outcome.headerBytes = head.length;
    this.outcome.headerCount = 3 + extraHeaders.length + (subprotocol !== undefined ? 1 : 0) + (extensionsHeader !== undefined ? 1 : 0);
    this.phase = 'open';
    this.ex.out.write([head]);
    this.host.opened();
    this.startPings();
    if (this.draining) this.shutdown();
  }

  private async sendMessage(opcode: typeof Opcode.TEXT | typeof Opcode.BINARY, data: Buffer): Promise<void> {
    if (this.phase !== 'open') return; // the client is gone or closing: the app learns it from websocket.disconnect
    this.outcome.bodyBytes += data.length;
    if (!this.ex.out.write([encodeMessage(opcode, data, this.deflater)])) await this.ex.out.drained();
  }

  /** Our Close frame; the connection ends when the client answers it (or after CLOSE_TIMEOUT_MS). */
  private sendClose(code: number, reason: string): void {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    this.stopPings();
    this.ex.out.write([closeFrame(code, reason)]);
    this.closeTimer = setTimeout(() => this.endConnection(), CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  private httpBodyPiece(data: Buffer, more: boolean): void {
    if (data.length > 0) this.httpBody.push(data);
    if (more || this.phase !== 'connecting' || this.httpHead === null) return;
    const head = this.httpHead;
    const body = Buffer.concat(this.httpBody);
    const hasLength = /(^|\r\n)content-length:/i.test(head.toString('latin1'));
    const extra = `${hasLength ? '' : `Content-Length: ${body.length}\r\n`}Connection: close\r\n\r\n`;
    const wire = Buffer.concat([Buffer.from(`${this.ex.protocol} `, 'latin1'), head, Buffer.from(extra, 'latin1'), body]);
    this.outcome.bodyBytes = body.length;
    this.respondAndClose(wire, parseInt(head.toString('latin1', 0, 3), 10));
  }

  /** An HTTP answer instead of the handshake (a refusal, the app's response, a 500). */
  private respondAndClose(wire: Buffer, status: number): void {
    this.phase = 'closed';
    this.outcome.status = status;
    this.outcome.headerBytes = wire.length - this.outcome.bodyBytes;
    this.ex.out.write([wire]);
    this.ex.out.finish(false);
  }

  /** The app raised (or Python failed): 500 before the handshake, Close 1011 after it. */
  private appFailed(): void {
    this.outcome.exception = true;
    if (this.phase === 'connecting') {
      this.respondAndClose(errorResponse(this.ex.protocol, 500, 'Internal Server Error'), 500);
      this.queueDisconnect(ABNORMAL, '');
    } else {
      this.fail(1011);
    }
  }

  // ------------------------------------------------------------ client -> app

  private onData(chunk: Buffer): void {
    const parser = this.parser;
    if (parser === null || this.phase === 'closed') return;
    for (const event of parser.feed(chunk)) this.onFrameEvent(event);
    // Backpressure: while messages wait for the app (one is with Python), read no more; deliver() resumes.
    if (this.inbox.length > 0) this.conn?.pause();
  }

  private onFrameEvent(event: WsEvent): void {
    switch (event.type) {
      case 'utf8': // text, validated: Python decodes its bytes once
        this.queueMessage(WS_IN.TEXT, event.data);
        break;
      case 'text': // not produced with textAsBytes
        this.queueMessage(WS_IN.TEXT, Buffer.from(event.data, 'utf8'));
        break;
      case 'binary':
        this.queueMessage(WS_IN.BYTES, event.data);
        break;
      case 'ping':
        if (this.phase === 'open') this.ex.out.write([encodePong(event.data)]);
        break;
      case 'pong':
        this.clearPongTimer();
        break;
      case 'close':
        this.onClientClose(event.code, event.reason);
        break;
      case 'error':
        this.host.log(`WebSocket ${this.ex.uri}: ${event.reason} (closing with ${event.closeCode})\n`);
        this.fail(event.closeCode);
        break;
    }
  }

  /** The client's Close: answer it (echoing its code) unless it answers ours, then end the connection. */
  private onClientClose(code: number | undefined, reason: string): void {
    if (this.phase === 'open') this.ex.out.write([code === undefined ? encodeFrame(Opcode.CLOSE, EMPTY) : closeFrame(code, '')]);
    this.queueDisconnect(code ?? NO_STATUS, reason);
    this.endConnection();
  }

  /** A protocol error, a message too big, a ping unanswered, an app that raised: Close `code` and end. */
  private fail(code: number): void {
    if (this.phase === 'open') this.ex.out.write([closeFrame(code, '')]);
    this.queueDisconnect(code, '');
    this.endConnection();
  }

  private onPeerEnd(): void {
    this.queueDisconnect(ABNORMAL, ''); // EOF without a Close frame (or after ours, unanswered)
    this.endConnection();
  }

  private onSocketClosed(): void {
    this.phase = 'closed';
    this.stopPings();
    this.clearCloseTimer();
    this.queueDisconnect(ABNORMAL, '');
  }

  private endConnection(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopPings();
    this.clearCloseTimer();
    this.conn?.end();
  }

  private queueMessage(kind: number, data: Buffer): void {
    if (this.disconnectQueued) return;
    this.inbox.push({ kind, code: 0, data });
    this.deliver();
  }

  private queueDisconnect(code: number, reason: string): void {
    if (this.disconnectQueued) return;
    this.disconnectQueued = true;
    this.inbox.push({ kind: WS_IN.DISCONNECT, code, data: Buffer.from(reason, 'utf8') });
    this.deliver();
  }

  /** The next message, or its next piece, into the region: one at a time, each after Python took the last. */
  private deliver(): void {
    if (this.delivering || this.appOver) return;
    const next = this.inbox[0];
    if (next === undefined) {
      if (this.phase === 'open' || this.phase === 'closing') this.conn?.resume();
      return;
    }
    const region = this.host.region;
    const room = region.length - WS_IN_DATA;
    const piece = next.data.subarray(this.deliveredBytes, this.deliveredBytes + room);
    this.deliveredBytes += piece.length;
    const more = this.deliveredBytes < next.data.length;
    region.writeUInt32LE(next.kind, WS_IN_HEADER);
    region.writeUInt32LE(next.code, WS_IN_HEADER + 4);
    region.writeUInt32LE(more ? WS_FLAG_MORE : 0, WS_IN_HEADER + 8);
    region.writeUInt32LE(piece.length, WS_IN_HEADER + 12);
    piece.copy(region, WS_IN_DATA);
    if (!more) {
      this.inbox.shift();
      this.deliveredBytes = 0;
    }
    // The disconnect is the last thing Python gets and it answers nothing to it.
    this.delivering = more || next.kind !== WS_IN.DISCONNECT;
    this.host.command(WS_CMD.RECEIVE);
  }

  private onTaken(): void {
    this.delivering = false;
    this.deliver();
  }

  /** EV_FREE: the app's task is over and Node has all it sent. */
  private onAppOver(): void {
    this.appOver = true;
    if (this.phase === 'connecting') this.appFailed(); // cannot happen: Python says ERROR first
    else if (this.phase === 'open') this.sendClose(1000, '');
    const finished = this.finished;
    this.finished = null;
    finished?.();
  }

  // ------------------------------------------------------------------ pings

  private startPings(): void {
    if (this.settings.pingIntervalMs <= 0) return;
    this.pingTimer = setInterval(() => this.ping(), this.settings.pingIntervalMs);
    this.pingTimer.unref();
  }

  private ping(): void {
    if (this.phase !== 'open' || this.pongTimer !== null) return;
    this.ex.out.write([encodePing()]);
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.host.log(`WebSocket ${this.ex.uri}: no pong within ${this.settings.pingTimeoutMs / 1000} seconds, closing\n`);
      this.fail(1011);
    }, this.settings.pingTimeoutMs);
    this.pongTimer.unref();
  }

  private clearPongTimer(): void {
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private stopPings(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.clearPongTimer();
  }

  private clearCloseTimer(): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
  }
}

/**
 * A Close frame for any code an ASGI app may send: where encodeClose would
 * throw (a code no peer accepts, such as 1005 or 999), the app's mistake
 * becomes a normal closure (1000) rather than an exception in the worker.
 */
function closeFrame(code: number, reason: string): Buffer {
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  const reasonBytes = truncateUtf8(reason, 123);
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(sendable ? code : 1000, 0);
  reasonBytes.copy(payload, 2);
  return encodeFrame(Opcode.CLOSE, payload);
}

/** "Name: value\r\n" lines (validated by the loader) as pairs. */
function parseHeaderLines(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) pairs.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return pairs;
}
