/**
 * permessage-deflate (RFC 7692): negotiation, and per-message compression with
 * node:zlib's synchronous one-shot functions (the protocol layer is pure and
 * synchronous: no streams, no callbacks).
 *
 * How context takeover is handled (RFC 7692 §7.1.1, §7.2):
 *
 * - Server to client: every message is compressed on its own
 *   (`deflateRawSync`), and the response always carries
 *   `server_no_context_takeover`, which §7.1.1.1 lets a server add even when
 *   the client did not offer it. Keeping context would need either a
 *   persistent zlib stream (asynchronous in Node) or priming each message with
 *   the previous 32 KiB as a preset dictionary, which re-hashes 32 KiB per
 *   message: more CPU than it saves on typical small messages. Because nothing
 *   carries over, any message may also be sent uncompressed (RSV1 clear) when
 *   compressing would not make it smaller (§6: compression is per message).
 *
 * - Client to server: `client_no_context_takeover` may only be in the response
 *   when the client offered it (§7.1.1.2), and browsers do not offer it, so the
 *   inflater supports context takeover. It does so without a persistent
 *   stream: each message is inflated by `inflateRawSync` primed, as a preset
 *   dictionary, with the last 32 KiB the previous messages decompressed to.
 *   That is exactly the LZ77 sliding window a persistent stream would hold
 *   (back-references reach at most 2^15 bytes back), and it also copes with
 *   messages ended by a BFINAL block (§7.2.3.5), after which a persistent
 *   zlib stream would have stopped. When the client offered
 *   `client_no_context_takeover`, the response accepts it and no history is
 *   kept.
 *
 * - Limits: the inflated size is capped by zlib itself (`maxOutputLength`),
 *   so a small message that would inflate to gigabytes (a zip bomb) fails
 *   after producing at most the limit (close 1009).
 */
import {
  constants as zlibConstants,
  deflateRawSync,
  inflateRawSync,
  type ZlibOptions,
} from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { parseExtensionsHeader, type ExtensionOffer } from './extensions';
import { CloseCode } from './close-codes';

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** The parameters both sides work with after negotiation (RFC 7692 §7.1). */
export interface PerMessageDeflateParams {
  /** Always true here (see the module comment). */
  serverNoContextTakeover: boolean;
  /** The client compresses each message on its own; the inflater keeps no history. */
  clientNoContextTakeover: boolean;
  /** Largest LZ77 window (log2) our compressor may use: 8-15. */
  serverMaxWindowBits: number;
  /** Largest window the client said or was told it will use: 8-15 (15 when unspecified). */
  clientMaxWindowBits: number;
}

export interface PerMessageDeflateServerOptions {
  /** Cap on our own compression window, 8-15 (default 15); sent as server_max_window_bits when below 15. */
  serverMaxWindowBits?: number;
  /**
   * Ask the client for a window of at most this (8-15), when its offer allows
   * it (it carried client_max_window_bits). Default: do not ask. Only saves
   * the client memory: our inflater always decodes any window.
   */
  clientMaxWindowBits?: number;
}

export interface PerMessageDeflateAgreement {
  /** The Sec-WebSocket-Extensions value of the 101 response. */
  responseHeader: string;
  params: PerMessageDeflateParams;
}

interface OfferedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true`: offered without a value ("the client supports the parameter in the response"). */
  clientMaxWindowBits: number | true | undefined;
}

const WINDOW_BITS = /^(?:8|9|1[0-5])$/;
const MAX_WINDOW_BITS = 15;

/**
 * Picks the first acceptable permessage-deflate offer in a
 * Sec-WebSocket-Extensions request value (RFC 7692 §5, §7.1); null when there
 * is none, or the header is malformed. Offers with an unknown parameter, a
 * repeated parameter or an invalid value are declined (§7.1), and the next
 * offer is considered.
 */
export function negotiatePerMessageDeflate(
  offerHeader: string | undefined,
  serverOpts: PerMessageDeflateServerOptions = {},
): PerMessageDeflateAgreement | null {
  if (offerHeader === undefined) return null;
  const offers = parseExtensionsHeader(offerHeader);
  if (offers === null) return null;
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const offered = readOfferParams(offer);
    if (offered !== null) return accept(offered, serverOpts);
  }
  return null;
}

/** An offer's parameters, or null when the offer must be declined (§7.1). */
function readOfferParams(offer: ExtensionOffer): OfferedParams | null {
  const result: OfferedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of offer.params) {
    if (seen.has(name)) return null;
    seen.add(name);
    if (name === 'server_no_context_takeover' && value === true) result.serverNoContextTakeover = true;
    else if (name === 'client_no_context_takeover' && value === true) result.clientNoContextTakeover = true;
    else if (name === 'server_max_window_bits' && value !== true && WINDOW_BITS.test(value)) {
      result.serverMaxWindowBits = Number(value);
    } else if (name === 'client_max_window_bits' && (value === true || WINDOW_BITS.test(value))) {
      result.clientMaxWindowBits = value === true ? true : Number(value);
    } else {
      return null;
    }
  }
  return result;
}

function accept(offered: OfferedParams, opts: PerMessageDeflateServerOptions): PerMessageDeflateAgreement {
  const parts = [PERMESSAGE_DEFLATE, 'server_no_context_takeover'];
  if (offered.clientNoContextTakeover) parts.push('client_no_context_takeover');

  // §7.1.2.1: the response value must not exceed the offered one; without an
  // offer the server may still announce a smaller window.
  const ownCap = clampWindowBits(opts.serverMaxWindowBits);
  const serverBits = Math.min(offered.serverMaxWindowBits ?? MAX_WINDOW_BITS, ownCap);
  if (offered.serverMaxWindowBits !== undefined || serverBits < MAX_WINDOW_BITS) {
    parts.push(`server_max_window_bits=${serverBits}`);
  }

  // §7.1.2.2: only when offered; with a value, the response may only lower it.
  const clientOffered = offered.clientMaxWindowBits === true ? MAX_WINDOW_BITS : offered.clientMaxWindowBits;
  let clientBits = clientOffered ?? MAX_WINDOW_BITS;
  if (clientOffered !== undefined && opts.clientMaxWindowBits !== undefined) {
    const wanted = clampWindowBits(opts.clientMaxWindowBits);
    if (wanted < clientOffered) {
      clientBits = wanted;
      parts.push(`client_max_window_bits=${wanted}`);
    }
  }

  return {
    responseHeader: parts.join('; '),
    params: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: offered.clientNoContextTakeover,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    },
  };
}

function clampWindowBits(bits: number | undefined): number {
  if (bits === undefined || !Number.isInteger(bits)) return MAX_WINDOW_BITS;
  return Math.max(8, Math.min(MAX_WINDOW_BITS, bits));
}

// ---------------------------------------------------------------------------
// Compression

/** The empty stored block a sync flush ends with; §7.2.1 removes it, §7.2.2 appends it back. */
const SYNC_FLUSH_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** What an empty message compresses to (§7.2.3.6): one empty fixed-Huffman block. */
const EMPTY_COMPRESSED = Buffer.from([0x00]);
/** The LZ77 window of DEFLATE is at most 32 KiB (RFC 1951 §2). */
const MAX_WINDOW_BYTES = 1 << MAX_WINDOW_BITS;

export interface MessageDeflaterOptions {
  /** The negotiated server_max_window_bits (8-15). */
  windowBits: number;
  /** zlib level 0-9, default zlib's own default (6). */
  level?: number;
  /** zlib memLevel (1-9), default 8. */
  memLevel?: number;
  /** Messages shorter than this are sent uncompressed (default 0: try every message). */
  threshold?: number;
}

/**
 * Compresses one message at a time, with no context between messages (the
 * response always says server_no_context_takeover).
 */
export class MessageDeflater {
  private readonly zlibOptions: ZlibOptions;
  private readonly threshold: number;

  constructor(options: MessageDeflaterOptions) {
    const windowBits = clampWindowBits(options.windowBits);
    this.threshold = options.threshold ?? 0;
    this.zlibOptions = {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      level: options.level ?? zlibConstants.Z_DEFAULT_COMPRESSION,
      memLevel: options.memLevel ?? 8,
      // zlib does not make raw streams with a 256-byte window (it silently
      // uses 512, which would send back-references the client cannot follow).
      // Huffman-only coding has no back-references at all, so it is valid
      // under any window the client asked for.
      ...(windowBits === 8
        ? { windowBits: 9, strategy: zlibConstants.Z_HUFFMAN_ONLY }
        : { windowBits }),
    };
  }

  /**
   * The payload to send for `data`: compressed (send with RSV1 set), or null
   * when the message should go uncompressed (below the threshold, or not
   * made smaller by compression).
   */
  compress(data: Buffer): Buffer | null {
    if (data.length < this.threshold) return null;
    const compressed = deflateMessage(data, this.zlibOptions);
    return compressed.length < data.length || data.length === 0 ? compressed : null;
  }
}

/** RFC 7692 §7.2.1: DEFLATE with a sync flush, minus the trailing 00 00 ff ff. */
function deflateMessage(data: Buffer, options: ZlibOptions): Buffer {
  const output = deflateRawSync(data, options);
  const end = output.length - SYNC_FLUSH_TAIL.length;
  const body = end >= 0 && output.subarray(end).equals(SYNC_FLUSH_TAIL) ? output.subarray(0, end) : output;
  return body.length === 0 ? EMPTY_COMPRESSED : body;
}

export type InflateResult =
  | { ok: true; data: Buffer }
  | { ok: false; closeCode: number; reason: string };

export interface MessageInflaterOptions {
  /** client_no_context_takeover was agreed: every message starts with an empty window. */
  noContextTakeover: boolean;
}

/**
 * Decompresses whole messages, keeping the LZ77 window between them unless
 * no_context_takeover was agreed (see the module comment).
 */
export class MessageInflater {
  private readonly noContextTakeover: boolean;
  /** The last ≤32 KiB of decompressed output: the window the next message may refer to. */
  private history: Buffer = Buffer.alloc(0);

  constructor(options: MessageInflaterOptions) {
    this.noContextTakeover = options.noContextTakeover;
  }

  /**
   * Inflates one message's payload (all its fragments, concatenated). Fails
   * with 1009 as soon as the output would exceed `maxOutputLength`, and 1007
   * when the data is not valid DEFLATE.
   */
  inflate(compressed: Buffer, maxOutputLength: number): InflateResult {
    let data: Buffer;
    try {
      data = inflateRawSync(Buffer.concat([compressed, SYNC_FLUSH_TAIL]), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        windowBits: MAX_WINDOW_BITS, // decodes streams made with any smaller window
        maxOutputLength: outputCap(maxOutputLength),
        ...(this.history.length > 0 ? { dictionary: this.history } : {}),
      });
    } catch (err) {
      return inflateFailure(err, maxOutputLength);
    }
    if (!this.noContextTakeover) this.remember(data);
    return { ok: true, data };
  }

  private remember(data: Buffer): void {
    if (data.length >= MAX_WINDOW_BYTES) {
      this.history = Buffer.from(data.subarray(data.length - MAX_WINDOW_BYTES));
    } else if (data.length > 0) {
      const joined = Buffer.concat([this.history, data]);
      this.history = joined.length > MAX_WINDOW_BYTES ? joined.subarray(joined.length - MAX_WINDOW_BYTES) : joined;
    }
  }
}

function outputCap(maxOutputLength: number): number {
  if (!Number.isFinite(maxOutputLength) || maxOutputLength > bufferConstants.MAX_LENGTH) {
    return bufferConstants.MAX_LENGTH;
  }
  return Math.max(1, Math.floor(maxOutputLength));
}

function inflateFailure(err: unknown, maxOutputLength: number): InflateResult {
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE') {
    return {
      ok: false,
      closeCode: CloseCode.MESSAGE_TOO_BIG,
      reason: `decompressed message larger than ${maxOutputLength} bytes`,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, closeCode: CloseCode.INVALID_PAYLOAD, reason: `invalid compressed data: ${message}` };
}
