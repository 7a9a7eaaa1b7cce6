// permessage-deflate (RFC 7692), in the spirit of Autobahn 12.x/13.x:
// negotiation, compressed messages from a real zlib compressor with and
// without context takeover, our compressed frames read back by a client-side
// zlib, window sizes, and decompression limits (zip bombs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as Z, createDeflateRaw, deflateRawSync, inflateRawSync, type DeflateRaw } from 'node:zlib';
import {
  MessageDeflater,
  MessageInflater,
  negotiatePerMessageDeflate,
  type PerMessageDeflateParams,
  type PerMessageDeflateServerOptions,
} from '../../src/protocol/websocket/deflate';
import { encodeBinary, encodeText } from '../../src/protocol/websocket/frame';
import { WebSocketParser, type WebSocketParserOptions } from '../../src/protocol/websocket/parser';
import { assertSplitInvariant, clientFrame, runInPieces, runParser, type Observed } from '../helpers/ws-frames';

const TEXT = 0x1;
const BINARY = 0x2;
const CONT = 0x0;
const PING = 0x9;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// --- negotiation -------------------------------------------------------------------

const DEFAULT_PARAMS: PerMessageDeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

type Row = [offer: string | undefined, opts: PerMessageDeflateServerOptions, response: string | null, params?: Partial<PerMessageDeflateParams>];

const PMD = 'permessage-deflate';
const SNCT = `${PMD}; server_no_context_takeover`;

const NEGOTIATION: Row[] = [
  [undefined, {}, null],
  ['', {}, null],
  ['x-webkit-deflate-frame', {}, null],
  [PMD, {}, SNCT],
  ['Permessage-Deflate', {}, SNCT],
  [`x-foo; bar=1, ${PMD}`, {}, SNCT],
  [`${PMD}; server_no_context_takeover`, {}, SNCT],
  [`${PMD}; client_no_context_takeover`, {}, `${SNCT}; client_no_context_takeover`, { clientNoContextTakeover: true }],
  [`${PMD}; client_max_window_bits`, {}, SNCT],
  [`${PMD}; client_max_window_bits`, { clientMaxWindowBits: 10 }, `${SNCT}; client_max_window_bits=10`, { clientMaxWindowBits: 10 }],
  [`${PMD}; client_max_window_bits=12`, {}, SNCT, { clientMaxWindowBits: 12 }],
  [`${PMD}; client_max_window_bits=12`, { clientMaxWindowBits: 10 }, `${SNCT}; client_max_window_bits=10`, { clientMaxWindowBits: 10 }],
  [`${PMD}; client_max_window_bits=12`, { clientMaxWindowBits: 14 }, SNCT, { clientMaxWindowBits: 12 }],
  // Without client_max_window_bits in the offer the server may not ask for it (§7.1.2.2).
  [PMD, { clientMaxWindowBits: 9 }, SNCT],
  [`${PMD}; server_max_window_bits=10`, {}, `${SNCT}; server_max_window_bits=10`, { serverMaxWindowBits: 10 }],
  [`${PMD}; server_max_window_bits=8`, {}, `${SNCT}; server_max_window_bits=8`, { serverMaxWindowBits: 8 }],
  [`${PMD}; server_max_window_bits=14`, { serverMaxWindowBits: 12 }, `${SNCT}; server_max_window_bits=12`, { serverMaxWindowBits: 12 }],
  [`${PMD}; server_max_window_bits=10`, { serverMaxWindowBits: 12 }, `${SNCT}; server_max_window_bits=10`, { serverMaxWindowBits: 10 }],
  [PMD, { serverMaxWindowBits: 11 }, `${SNCT}; server_max_window_bits=11`, { serverMaxWindowBits: 11 }],
  [`${PMD}; server_max_window_bits="10"`, {}, `${SNCT}; server_max_window_bits=10`, { serverMaxWindowBits: 10 }],
  [
    `${PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9`,
    {},
    `${SNCT}; client_no_context_takeover; server_max_window_bits=9`,
    { clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  ],
  // Offers that must be declined (§7.1): the next acceptable one wins, else none.
  [`${PMD}; server_max_window_bits`, {}, null],
  [`${PMD}; server_max_window_bits=7`, {}, null],
  [`${PMD}; server_max_window_bits=16`, {}, null],
  [`${PMD}; server_max_window_bits=08`, {}, null],
  [`${PMD}; server_max_window_bits=10.0`, {}, null],
  [`${PMD}; client_max_window_bits=7`, {}, null],
  [`${PMD}; client_max_window_bits=0`, {}, null],
  [`${PMD}; server_no_context_takeover=1`, {}, null],
  [`${PMD}; client_no_context_takeover; client_no_context_takeover`, {}, null],
  [`${PMD}; server_max_window_bits=10; server_max_window_bits=10`, {}, null],
  [`${PMD}; unknown_param`, {}, null],
  [`${PMD}; server_max_window_bits=7, ${PMD}; client_no_context_takeover`, {}, `${SNCT}; client_no_context_takeover`, { clientNoContextTakeover: true }],
  [`${PMD}; x=1, ${PMD}`, {}, SNCT],
  // A malformed header declines everything.
  [`${PMD}; =1`, {}, null],
  [`${PMD};; client_no_context_takeover`, {}, null],
];

test('12.x/13.x negotiation table (RFC 7692 §7)', () => {
  for (const [offer, opts, response, params] of NEGOTIATION) {
    const result = negotiatePerMessageDeflate(offer, opts);
    const label = `${JSON.stringify(offer)} ${JSON.stringify(opts)}`;
    if (response === null) {
      assert.equal(result, null, label);
      continue;
    }
    assert.ok(result, label);
    assert.equal(result.responseHeader, response, label);
    assert.deepEqual(result.params, { ...DEFAULT_PARAMS, ...params }, label);
  }
});

// --- a real client-side compressor --------------------------------------------------

/** A client-side compressor with context takeover: one zlib stream, sync-flushed per message. */
class ClientCompressor {
  private readonly stream: DeflateRaw;
  constructor(windowBits = 15) {
    this.stream = createDeflateRaw({ windowBits });
  }
  compress(data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer): void => void chunks.push(chunk);
      this.stream.on('data', onData);
      this.stream.once('error', reject);
      this.stream.write(data);
      this.stream.flush(Z.Z_SYNC_FLUSH, () => {
        this.stream.off('data', onData);
        const out = Buffer.concat(chunks);
        assert.deepEqual(out.subarray(-4), TAIL);
        resolve(out.subarray(0, -4));
      });
    });
  }
  close(): void {
    this.stream.close();
  }
}

function inflating(noContextTakeover: boolean, maxMessageSize = 1 << 20): () => WebSocketParserOptions {
  return () => ({ maxMessageSize, inflater: new MessageInflater({ noContextTakeover }) });
}

const CHAT = [
  'The quick brown fox jumps over the lazy dog. '.repeat(20),
  'The quick brown fox jumps over the lazy dog. '.repeat(20),
  'Pack my box with five dozen liquor jugs; the quick brown fox again.',
  '',
  'κόσμε — the quick brown fox, in UTF-8 ☺',
];

test('13.x messages compressed with context takeover (a persistent zlib stream) decode in order', async () => {
  const client = new ClientCompressor();
  const payloads: Buffer[] = [];
  for (const text of CHAT) payloads.push(await client.compress(Buffer.from(text, 'utf8')));
  client.close();
  // The second message only refers back to the first: it needs the kept window.
  assert.ok(payloads[1]!.length < 20, `second message is ${payloads[1]!.length} bytes`);
  const input = Buffer.concat(payloads.map((p) => clientFrame(TEXT, p, { rsv1: true })));
  const expected: Observed[] = CHAT.map((data) => ({ type: 'text', data }));
  for (const size of [1, 2, 5, 64, input.length]) {
    assert.deepEqual(runInPieces(input, size, inflating(false)), expected, `${size}-byte pieces`);
  }
  // Without the window the second message cannot be decoded: that is what takeover means.
  const noWindow = runParser([input], inflating(true));
  assert.deepEqual(noWindow, [{ type: 'text', data: CHAT[0]! }, { type: 'error', closeCode: 1007 }]);
});

test('13.x context takeover across more than 32 KiB of history, and uncompressed messages in between', async () => {
  const client = new ClientCompressor();
  let seed = 99;
  const block = Buffer.alloc(50_000);
  for (let i = 0; i < block.length; i++) block[i] = 0x61 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 26);
  const messages = [block, block.subarray(30_000, 45_000), Buffer.from(block.subarray(44_000, 50_000)), block.subarray(17_000, 19_000)];
  const frames: Buffer[] = [];
  for (const message of messages) frames.push(clientFrame(BINARY, await client.compress(message), { rsv1: true }));
  client.close();
  // An uncompressed message (RSV1 clear) does not touch the window (RFC 7692 §6).
  frames.splice(2, 0, clientFrame(BINARY, Buffer.from('plain')));
  const expected: Observed[] = messages.map((m) => ({ type: 'binary', hex: m.toString('hex') }));
  expected.splice(2, 0, { type: 'binary', hex: Buffer.from('plain').toString('hex') });
  assert.deepEqual(runInPieces(Buffer.concat(frames), 4093, inflating(false)), expected);
});

test('12.x independently compressed messages decode with and without context takeover', () => {
  const frames = CHAT.map((text) => clientFrame(TEXT, deflateRawSync(Buffer.from(text), { finishFlush: Z.Z_SYNC_FLUSH }).subarray(0, -4), { rsv1: true }));
  const expected: Observed[] = CHAT.map((data) => ({ type: 'text', data }));
  assert.deepEqual(runParser([Buffer.concat(frames)], inflating(true)), expected);
  assert.deepEqual(runParser([Buffer.concat(frames)], inflating(false)), expected);
});

test('12.x a compressed message in fragments (RSV1 on the first only), at every split', () => {
  const compressed = deflateRawSync(Buffer.from('fragmented and compressed, fragmented and compressed'), { finishFlush: Z.Z_SYNC_FLUSH }).subarray(0, -4);
  const input = Buffer.concat([
    clientFrame(TEXT, compressed.subarray(0, 5), { rsv1: true, fin: false }),
    clientFrame(PING, 'p'),
    clientFrame(CONT, compressed.subarray(5, 9), { fin: false }),
    clientFrame(CONT, compressed.subarray(9)),
  ]);
  assertSplitInvariant(input, [
    { type: 'ping', hex: '70' },
    { type: 'text', data: 'fragmented and compressed, fragmented and compressed' },
  ], inflating(false));
});

test('RFC 7692 §7.2.3 examples: "Hello" compressed, BFINAL, empty message, and a message ended by BFINAL then another', () => {
  const hello = Buffer.from('f248cdc9c90700', 'hex');
  assertSplitInvariant(clientFrame(TEXT, hello, { rsv1: true }), [{ type: 'text', data: 'Hello' }], inflating(false));
  const helloFinal = Buffer.from('f348cdc9c90700', 'hex'); // BFINAL set
  assertSplitInvariant(clientFrame(TEXT, helloFinal, { rsv1: true }), [{ type: 'text', data: 'Hello' }], inflating(false));
  assertSplitInvariant(clientFrame(TEXT, Buffer.from([0x00]), { rsv1: true }), [{ type: 'text', data: '' }], inflating(false));
  // After a BFINAL message the window still holds "Hello" (the next one refers back to it).
  const second = deflateRawSync(Buffer.from('Hello'), { dictionary: Buffer.from('Hello'), finishFlush: Z.Z_SYNC_FLUSH }).subarray(0, -4);
  const input = Buffer.concat([clientFrame(TEXT, helloFinal, { rsv1: true }), clientFrame(TEXT, second, { rsv1: true })]);
  assert.deepEqual(runParser([input], inflating(false)), [{ type: 'text', data: 'Hello' }, { type: 'text', data: 'Hello' }]);
});

// --- our compressor, read by a client-side zlib ----------------------------------------

function clientInflate(payload: Buffer, windowBits: number): Buffer {
  return inflateRawSync(Buffer.concat([payload, TAIL]), { windowBits, finishFlush: Z.Z_SYNC_FLUSH });
}

test('12.x our compressed messages decode on their own with the negotiated window (8 to 15 bits)', () => {
  let seed = 5;
  const unit = Buffer.alloc(3000);
  for (let i = 0; i < unit.length; i++) unit[i] = 0x20 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 90);
  // Repeats at distances of 3000 bytes: beyond small windows, within large ones.
  const message = Buffer.concat([unit, unit, unit, Buffer.from('tail')]);
  for (let bits = 8; bits <= 15; bits++) {
    const deflater = new MessageDeflater({ windowBits: bits });
    for (let n = 0; n < 3; n++) {
      const compressed = deflater.compress(message);
      assert.ok(compressed, `${bits} bits compresses`);
      assert.deepEqual(clientInflate(compressed, Math.max(bits, 9)), message, `window ${bits}`);
      if (bits === 8) assert.deepEqual(clientInflate(compressed, 8), message, 'huffman-only fits a 256-byte window');
    }
  }
});

test('the deflater sends incompressible or short messages uncompressed; empty compresses to 0x00', () => {
  const random = Buffer.alloc(200);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + (i >> 3) * 104729) & 0xff;
  const deflater = new MessageDeflater({ windowBits: 15 });
  assert.equal(deflater.compress(Buffer.from('ab')), null);
  assert.deepEqual(deflater.compress(Buffer.alloc(0)), Buffer.from([0x00]));
  const withThreshold = new MessageDeflater({ windowBits: 15, threshold: 1024 });
  assert.equal(withThreshold.compress(Buffer.alloc(1023, 0x61)), null);
  assert.ok(withThreshold.compress(Buffer.alloc(1024, 0x61)));
});

test('frames from encodeText/encodeBinary with a deflater round-trip through a client-side parser', () => {
  const deflater = new MessageDeflater({ windowBits: 15 });
  const clientSide = (): WebSocketParserOptions => ({ maxMessageSize: 1 << 20, requireMask: false, inflater: new MessageInflater({ noContextTakeover: true }) });
  const long = 'hello compressed world, '.repeat(100);
  const frames = [encodeText(long, deflater), encodeText('hi', deflater), encodeBinary(Buffer.alloc(5000, 7), deflater), encodeText('', deflater)];
  assert.equal(frames[0]![0]! & 0x40, 0x40, 'RSV1 on a compressed message');
  assert.equal(frames[1]![0]! & 0x40, 0, 'a short one is sent as is');
  assert.ok(frames[0]!.length < 200);
  assert.deepEqual(runParser([Buffer.concat(frames)], clientSide), [
    { type: 'text', data: long },
    { type: 'text', data: 'hi' },
    { type: 'binary', hex: Buffer.alloc(5000, 7).toString('hex') },
    { type: 'text', data: '' },
  ]);
});

// --- limits and bad data ---------------------------------------------------------------

function compressedZeros(size: number): Buffer {
  return deflateRawSync(Buffer.alloc(size), { finishFlush: Z.Z_SYNC_FLUSH }).subarray(0, -4);
}

test('9.x/12.x zip bomb: 64 MB of zeros in 64 KB of data is 1009 with a 1 MB limit, quickly', () => {
  const bomb = compressedZeros(64 << 20);
  assert.ok(bomb.length < 70_000);
  const started = process.hrtime.bigint();
  const events = runInPieces(clientFrame(BINARY, bomb, { rsv1: true }), 16384, inflating(false, 1 << 20));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.deepEqual(events, [{ type: 'error', closeCode: 1009 }]);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test('the inflated size limit is exact', () => {
  const limit = 100_000;
  assert.deepEqual(
    runParser([clientFrame(BINARY, compressedZeros(limit), { rsv1: true })], inflating(false, limit)),
    [{ type: 'binary', hex: Buffer.alloc(limit).toString('hex') }],
  );
  assert.deepEqual(runParser([clientFrame(BINARY, compressedZeros(limit + 1), { rsv1: true })], inflating(false, limit)), [
    { type: 'error', closeCode: 1009 },
  ]);
  const inflater = new MessageInflater({ noContextTakeover: false });
  const result = inflater.inflate(compressedZeros(limit + 1), limit);
  assert.equal(result.ok, false);
});

test('compressed bytes far beyond the limit fail from the frame header (1009)', () => {
  const header = clientFrame(BINARY, Buffer.alloc(2000), { rsv1: true }).subarray(0, 8);
  assert.deepEqual(runParser([header], inflating(false, 1000)), [{ type: 'error', closeCode: 1009 }]);
});

test('data that is not DEFLATE, and compressed text that is not UTF-8, are 1007', () => {
  assertSplitInvariant(clientFrame(BINARY, Buffer.from([0xff, 0xff, 0xff]), { rsv1: true }), [{ type: 'error', closeCode: 1007 }], inflating(false));
  const badText = deflateRawSync(Buffer.from([0x61, 0xed, 0xa0, 0x80]), { finishFlush: Z.Z_SYNC_FLUSH }).subarray(0, -4);
  assertSplitInvariant(clientFrame(TEXT, badText, { rsv1: true }), [{ type: 'error', closeCode: 1007 }], inflating(false));
});

test('a parser without an inflater refuses RSV1 (1002)', () => {
  const parser = new WebSocketParser({ maxMessageSize: 100 });
  assert.deepEqual(parser.feed(clientFrame(TEXT, Buffer.from('f248cdc9c90700', 'hex'), { rsv1: true })), [
    { type: 'error', closeCode: 1002, reason: 'RSV1 set without a negotiated extension' },
  ]);
});
