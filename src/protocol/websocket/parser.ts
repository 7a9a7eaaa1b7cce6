/**
 * WebSocket frame parser (RFC 6455 §5), a pull-style state machine.
 *
 * Feed it the bytes a client sends, in pieces of any size, with `feed()`; it
 * returns the events those bytes complete, in order: whole messages (text or
 * binary, fragments reassembled and decompressed), pings, pongs, a close, or
 * one error. The events own their data: nothing refers to the fed buffers,
 * which the caller may reuse as soon as `feed()` returns.
 *
 * After a `close` event the parser is `closed`, after an `error` event it is
 * `failed`: either way it ignores all further input (RFC 6455 §5.5.1: nothing
 * may follow a Close frame; §7.1.7: a failed connection is not read further).
 * The caller answers the close (echo it) or the error (send a Close frame
 * with `closeCode`, then close the TCP connection).
 *
 * What is refused, and with which close code (each one has a unit test):
 *
 * - 1002 (protocol error): an unmasked frame when `requireMask` (every client
 *   frame must be masked, §5.1); RSV2/RSV3 set, or RSV1 set without
 *   permessage-deflate, on a control frame or on a continuation frame
 *   (RFC 7692 §6.1: RSV1 marks the first frame of a compressed message);
 *   opcodes 3-7 and 11-15; a control frame that is fragmented or carries more
 *   than 125 bytes (§5.5); a continuation frame with no message to continue,
 *   or a new text/binary frame before the previous message's FIN (§5.4); a
 *   64-bit length with its most significant bit set (§5.2); a Close payload
 *   of 1 byte, or a close code that may not be sent (`isValidCloseCode`).
 * - 1007 (invalid payload data): a text message or a close reason that is
 *   not valid UTF-8. Uncompressed text is validated as it arrives, so it
 *   fails on the first invalid byte, in whichever fragment and chunk it comes
 *   (Autobahn 6.4.x); an unfinished character at the end of the message also
 *   fails. Compressed data that does not inflate is also 1007.
 * - 1009 (message too big): a message whose payload, summed over its
 *   fragments, exceeds `maxMessageSize`. The check uses the length in the
 *   frame header, so it fails before the payload arrives. For compressed
 *   messages the limit applies to the inflated size (enforced inside zlib)
 *   and, with a small allowance for DEFLATE's framing, to the compressed
 *   bytes buffered.
 *
 * Not enforced: the minimal encoding of payload lengths (§5.2 asks senders
 * for it; receivers gain nothing by refusing, and neither ws nor websockets
 * does).
 */
import { isUtf8 } from 'node:buffer';
import { CloseCode, isValidCloseCode } from './close-codes';
import type { MessageInflater } from './deflate';
import { applyMask, MAX_CONTROL_PAYLOAD, Opcode } from './frame';
import { Utf8Validator } from './utf8';

export type WsEvent =
  | { type: 'text'; data: string }
  /** A text message, validated, as its UTF-8 bytes (instead of `text`, with `textAsBytes`). */
  | { type: 'utf8'; data: Buffer }
  | { type: 'binary'; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  /** `code` is absent when the Close frame had no payload (report 1005 to the app). */
  | { type: 'close'; code?: number; reason: string }
  | { type: 'error'; closeCode: number; reason: string };

export interface WebSocketParserOptions {
  /** Largest message, in bytes, after decompression (0 or Infinity: no limit, as the HTTP parser's 0). */
  maxMessageSize: number;
  /** Set when permessage-deflate was negotiated: RSV1 is then allowed and means "compressed". */
  inflater?: MessageInflater | null;
  /** Refuse unmasked frames (a server reading a client: true, the default). False accepts both. */
  requireMask?: boolean;
  /**
   * Emit text messages as `utf8` events (their validated bytes) rather than
   * decoded strings: for a caller that wants the bytes anyway (the ASGI
   * session hands them to Python, which decodes them once).
   */
  textAsBytes?: boolean;
}

export type WebSocketParserStatus = 'open' | 'closed' | 'failed';

const EMPTY = Buffer.alloc(0);
/** Bytes of the frame header before the extended length: FIN/RSV/opcode, MASK/length. */
const BASE_HEADER = 2;

export class WebSocketParser {
  private readonly maxMessageSize: number;
  private readonly maxCompressedSize: number;
  private readonly inflater: MessageInflater | null;
  private readonly requireMask: boolean;
  private readonly textAsBytes: boolean;
  private state: WebSocketParserStatus = 'open';

  // The frame header being read (at most 2 + 8 + 4 bytes).
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  private headerNeed = BASE_HEADER;
  private inPayload = false;

  // The current frame, once its first two bytes are known.
  private fin = false;
  private opcode = 0;
  private rsv1 = false;
  private masked = false;
  private readonly maskKey = Buffer.alloc(4);
  private payloadLength = 0;
  private payloadReceived = 0;
  /** A control frame's payload (at most 125 bytes, so allocated whole from the header). */
  private control: Buffer = EMPTY;

  // The data message being reassembled (messageOpcode 0: none).
  private messageOpcode = 0;
  private messageCompressed = false;
  /**
   * The message's payload so far, in one buffer that grows as bytes arrive
   * (never ahead of them: a header announcing 16 MB allocates nothing).
   * One buffer rather than a list of pieces: a message sent as millions of
   * 1-byte fragments must not cost a Buffer object per byte.
   */
  private message: Buffer = EMPTY;
  private messageSize = 0;
  private readonly utf8 = new Utf8Validator();

  constructor(options: WebSocketParserOptions) {
    this.maxMessageSize = options.maxMessageSize > 0 ? options.maxMessageSize : Infinity;
    this.maxCompressedSize = compressedAllowance(this.maxMessageSize);
    this.inflater = options.inflater ?? null;
    this.requireMask = options.requireMask ?? true;
    this.textAsBytes = options.textAsBytes ?? false;
  }

  get status(): WebSocketParserStatus {
    return this.state;
  }

  /** Parses `chunk`; returns the events it completes (often none). */
  feed(chunk: Buffer): WsEvent[] {
    const events: WsEvent[] = [];
    let pos = 0;
    while (this.state === 'open' && pos < chunk.length) {
      pos = this.inPayload ? this.readPayload(chunk, pos, events) : this.readHeader(chunk, pos, events);
    }
    return events;
  }

  private readHeader(chunk: Buffer, pos: number, events: WsEvent[]): number {
    const take = Math.min(this.headerNeed - this.headerHave, chunk.length - pos);
    chunk.copy(this.header, this.headerHave, pos, pos + take);
    this.headerHave += take;
    pos += take;
    if (this.headerHave < this.headerNeed) return pos;
    if (this.headerNeed === BASE_HEADER) {
      const problem = this.readBaseHeader();
      if (problem !== null) {
        this.fail(events, CloseCode.PROTOCOL_ERROR, problem);
        return pos;
      }
      if (this.headerNeed > BASE_HEADER) return pos;
    }
    this.startFrame(events);
    return pos;
  }

  /** Checks everything the first two bytes decide; sets how long the header is. Returns the problem, if any. */
  private readBaseHeader(): string | null {
    const b0 = this.header[0]!;
    const b1 = this.header[1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if ((b0 & 0x30) !== 0) return 'RSV2/RSV3 set without a negotiated extension';
    const problem = this.opcode >= Opcode.CLOSE ? this.checkControlFrame(length7) : this.checkDataFrame();
    if (problem !== null) return problem;
    if (this.requireMask && !this.masked) return 'unmasked frame from the client';
    this.headerNeed = BASE_HEADER + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (this.masked ? 4 : 0);
    return null;
  }

  private checkControlFrame(length7: number): string | null {
    if (this.opcode > Opcode.PONG) return `reserved opcode ${this.opcode}`;
    if (!this.fin) return 'fragmented control frame';
    if (length7 > MAX_CONTROL_PAYLOAD) return `control frame payload over ${MAX_CONTROL_PAYLOAD} bytes`;
    if (this.rsv1) return 'RSV1 set on a control frame';
    return null;
  }

  private checkDataFrame(): string | null {
    if (this.opcode > Opcode.BINARY) return `reserved opcode ${this.opcode}`;
    if (this.opcode === Opcode.CONTINUATION) {
      if (this.messageOpcode === 0) return 'continuation frame with no message to continue';
      if (this.rsv1) return 'RSV1 set on a continuation frame';
      return null;
    }
    if (this.messageOpcode !== 0) return 'new data frame before the previous message ended';
    if (this.rsv1 && this.inflater === null) return 'RSV1 set without a negotiated extension';
    return null;
  }

  /** The header is complete: read the length and mask, check the size limit. */
  private startFrame(events: WsEvent[]): void {
    const length7 = this.header[1]! & 0x7f;
    let offset = BASE_HEADER;
    let length = length7;
    if (length7 === 126) {
      length = this.header.readUInt16BE(2);
      offset += 2;
    } else if (length7 === 127) {
      const high = this.header.readUInt32BE(2);
      if (high >= 0x80000000) {
        this.fail(events, CloseCode.PROTOCOL_ERROR, '64-bit payload length with the most significant bit set');
        return;
      }
      length = high * 0x100000000 + this.header.readUInt32BE(6);
      offset += 8;
    }
    if (this.masked) this.header.copy(this.maskKey, 0, offset, offset + 4);
    this.headerHave = 0;
    this.headerNeed = BASE_HEADER;
    this.payloadLength = length;
    this.payloadReceived = 0;

    if (this.opcode >= Opcode.CLOSE) {
      this.control = Buffer.allocUnsafe(length);
    } else {
      if (this.opcode !== Opcode.CONTINUATION) this.startMessage();
      const limit = this.messageCompressed ? this.maxCompressedSize : this.maxMessageSize;
      if (this.messageSize + length > limit) {
        this.fail(events, CloseCode.MESSAGE_TOO_BIG, `message larger than ${this.maxMessageSize} bytes`);
        return;
      }
    }
    if (length === 0) this.endFrame(events);
    else this.inPayload = true;
  }

  private startMessage(): void {
    this.messageOpcode = this.opcode;
    this.messageCompressed = this.rsv1;
    this.message = EMPTY;
    this.messageSize = 0;
    this.utf8.reset();
  }

  private readPayload(chunk: Buffer, pos: number, events: WsEvent[]): number {
    const take = Math.min(this.payloadLength - this.payloadReceived, chunk.length - pos);
    const isControl = this.opcode >= Opcode.CLOSE;
    if (!isControl) this.reserve(take);
    const target = isControl ? this.control : this.message;
    const at = isControl ? this.payloadReceived : this.messageSize;
    const source = chunk.subarray(pos, pos + take);
    if (this.masked) applyMask(source, this.maskKey, this.payloadReceived, target, at);
    else target.set(source, at);
    this.payloadReceived += take;
    pos += take;
    if (!isControl) {
      this.messageSize += take;
      const validate = this.messageOpcode === Opcode.TEXT && !this.messageCompressed;
      if (validate && !this.utf8.push(target.subarray(at, at + take))) {
        this.fail(events, CloseCode.INVALID_PAYLOAD, 'text message is not valid UTF-8');
        return pos;
      }
    }
    if (this.payloadReceived === this.payloadLength) {
      this.inPayload = false;
      this.endFrame(events);
    }
    return pos;
  }

  /**
   * Room for `extra` more message bytes. Grows geometrically (amortized copies
   * stay linear), but never past the end of the current frame, so memory
   * follows the bytes received, not the lengths announced.
   */
  private reserve(extra: number): void {
    const needed = this.messageSize + extra;
    if (needed <= this.message.length) return;
    const frameEnd = this.messageSize + (this.payloadLength - this.payloadReceived);
    const capacity = Math.max(needed, Math.min(this.message.length * 2, frameEnd));
    const grown = Buffer.allocUnsafe(capacity);
    this.message.copy(grown, 0, 0, this.messageSize);
    this.message = grown;
  }

  private endFrame(events: WsEvent[]): void {
    if (this.opcode >= Opcode.CLOSE) {
      const payload = this.control;
      this.control = EMPTY;
      if (this.opcode === Opcode.PING) events.push({ type: 'ping', data: payload });
      else if (this.opcode === Opcode.PONG) events.push({ type: 'pong', data: payload });
      else this.readClose(payload, events);
    } else if (this.fin) {
      this.finishMessage(events);
    }
  }

  private finishMessage(events: WsEvent[]): void {
    let data = exactly(this.message, this.messageSize);
    const text = this.messageOpcode === Opcode.TEXT;
    const compressed = this.messageCompressed;
    this.messageOpcode = 0;
    this.message = EMPTY;
    this.messageSize = 0;
    if (compressed) {
      const result = this.inflater!.inflate(data, this.maxMessageSize);
      if (!result.ok) {
        this.fail(events, result.closeCode, result.reason);
        return;
      }
      data = result.data;
    }
    if (!text) {
      events.push({ type: 'binary', data });
      return;
    }
    if (compressed ? !isUtf8(data) : !this.utf8.complete) {
      this.fail(events, CloseCode.INVALID_PAYLOAD, 'text message is not valid UTF-8');
      return;
    }
    events.push(this.textAsBytes ? { type: 'utf8', data } : { type: 'text', data: data.toString('utf8') });
  }

  /** RFC 6455 §5.5.1, §7.4: an optional 2-byte code, then an optional UTF-8 reason. */
  private readClose(payload: Buffer, events: WsEvent[]): void {
    if (payload.length === 1) {
      this.fail(events, CloseCode.PROTOCOL_ERROR, 'close frame with a 1-byte payload');
      return;
    }
    if (payload.length === 0) {
      events.push({ type: 'close', reason: '' });
    } else {
      const code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) {
        this.fail(events, CloseCode.PROTOCOL_ERROR, `invalid close code ${code}`);
        return;
      }
      const reason = payload.subarray(2);
      if (!isUtf8(reason)) {
        this.fail(events, CloseCode.INVALID_PAYLOAD, 'close reason is not valid UTF-8');
        return;
      }
      events.push({ type: 'close', code, reason: reason.toString('utf8') });
    }
    this.state = 'closed';
  }

  private fail(events: WsEvent[], closeCode: number, reason: string): void {
    events.push({ type: 'error', closeCode, reason });
    this.state = 'failed';
    this.message = EMPTY;
    this.control = EMPTY;
  }
}

/**
 * The first `size` bytes of `buffer`, for an event to own. A view when little
 * capacity is wasted (a single frame fills its buffer exactly), a copy when
 * geometric growth left more than a quarter unused.
 */
function exactly(buffer: Buffer, size: number): Buffer {
  if (buffer.length - size <= size / 4) return buffer.subarray(0, size);
  return Buffer.from(buffer.subarray(0, size));
}

/**
 * How many compressed bytes a message of at most `maxMessageSize` bytes may
 * take: DEFLATE's worst case is stored blocks, 5 bytes of framing per 64 KiB
 * (RFC 1951 §3.2.4); zlib may also emit a few empty blocks. Counted per 16 KiB
 * to stay generous.
 */
function compressedAllowance(maxMessageSize: number): number {
  if (!Number.isFinite(maxMessageSize)) return Infinity;
  return maxMessageSize + Math.ceil(maxMessageSize / 16384) * 5 + 64;
}
