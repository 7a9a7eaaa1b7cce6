// WebSocket frame parser, in the spirit of the Autobahn testsuite's
// categories: framing (1.x), pings/pongs (2.x), reserved bits (3.x), opcodes
// (4.x), fragmentation (5.x), close handling (7.x), limits (9.x). Every small
// input is fed whole, split at every byte and one byte at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketParser } from '../../src/protocol/websocket/parser';
import { MessageInflater } from '../../src/protocol/websocket/deflate';
import { applyMask } from '../../src/protocol/websocket/frame';
import {
  assertSplitInvariant,
  clientFrame,
  runInPieces,
  runParser,
  type Observed,
} from '../helpers/ws-frames';

const TEXT = 0x1;
const BINARY = 0x2;
const CONT = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;
const PROTOCOL_ERROR: Observed = { type: 'error', closeCode: 1002 };
const INVALID_PAYLOAD: Observed = { type: 'error', closeCode: 1007 };
const TOO_BIG: Observed = { type: 'error', closeCode: 1009 };

function bytesOf(length: number, seed = 7): Buffer {
  const buf = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buf[i] = (i * 31 + seed) & 0xff;
  return buf;
}

// --- 1.x framing -----------------------------------------------------------

test('1.x text and binary messages of lengths around the length encodings', () => {
  for (const length of [0, 1, 125, 126, 127, 128]) {
    const text = 'x'.repeat(length);
    assertSplitInvariant(clientFrame(TEXT, text), [{ type: 'text', data: text }], undefined, `text ${length}`);
    const data = bytesOf(length);
    assertSplitInvariant(clientFrame(BINARY, data), [{ type: 'binary', hex: data.toString('hex') }], undefined, `binary ${length}`);
  }
});

test('1.x large payloads (16-bit and 64-bit lengths) in pieces of many sizes', () => {
  for (const length of [65535, 65536, 1 << 20]) {
    const data = bytesOf(length, length);
    const frame = clientFrame(BINARY, data);
    const expected = [{ type: 'binary', hex: data.toString('hex') }];
    const sizes = length <= 65536 ? [1, 3, 4096, 65537, frame.length] : [997, 65536, frame.length];
    for (const size of sizes) assert.deepEqual(runInPieces(frame, size), expected, `${length} in ${size}-byte pieces`);
    const text = 'abcdefghij'.repeat(length / 10 + 1).slice(0, length);
    assert.deepEqual(runInPieces(clientFrame(TEXT, text), 8191), [{ type: 'text', data: text }], `text ${length}`);
  }
});

test('1.x non-minimal length encodings are accepted (receivers need not refuse them)', () => {
  assertSplitInvariant(clientFrame(TEXT, 'hi', { lengthBits: 16 }), [{ type: 'text', data: 'hi' }]);
  assertSplitInvariant(clientFrame(TEXT, 'hi', { lengthBits: 64 }), [{ type: 'text', data: 'hi' }]);
});

test('1.x several messages in one chunk come out in order', () => {
  const input = Buffer.concat([clientFrame(TEXT, 'one'), clientFrame(BINARY, Buffer.from([1, 2])), clientFrame(TEXT, '')]);
  assertSplitInvariant(input, [
    { type: 'text', data: 'one' },
    { type: 'binary', hex: '0102' },
    { type: 'text', data: '' },
  ]);
});

test('textAsBytes: text messages come out as their validated UTF-8 bytes, at every split; invalid ones are still 1007', () => {
  const options = (): { maxMessageSize: number; textAsBytes: boolean } => ({ maxMessageSize: 1 << 20, textAsBytes: true });
  const text = 'héllo, wörld €𝄞';
  const input = Buffer.concat([clientFrame(TEXT, text.slice(0, 4), { fin: false }), clientFrame(CONT, text.slice(4)), clientFrame(TEXT, '')]);
  for (let size = 1; size <= input.length; size++) {
    assert.deepEqual(runInPieces(input, size, options), [
      { type: 'utf8', hex: Buffer.from(text, 'utf8').toString('hex') },
      { type: 'utf8', hex: '' },
    ]);
  }
  assert.deepEqual(runParser([clientFrame(TEXT, Buffer.from([0x61, 0xc3, 0x28]))], options), [INVALID_PAYLOAD]);
});

test('frames must be masked (1002); requireMask: false accepts unmasked ones', () => {
  assertSplitInvariant(clientFrame(TEXT, 'hello', { mask: false }), [PROTOCOL_ERROR]);
  // Fails on the second byte: the rest of the frame is never waited for.
  assert.deepEqual(runParser([clientFrame(TEXT, 'hello', { mask: false }).subarray(0, 2)]), [PROTOCOL_ERROR]);
  const lenient = (): { maxMessageSize: number; requireMask: boolean } => ({ maxMessageSize: 1000, requireMask: false });
  assertSplitInvariant(clientFrame(TEXT, 'hello', { mask: false }), [{ type: 'text', data: 'hello' }], lenient);
  assertSplitInvariant(clientFrame(TEXT, 'hello'), [{ type: 'text', data: 'hello' }], lenient);
});

// --- 2.x pings and pongs -----------------------------------------------------

test('2.x pings and pongs with 0 to 125 bytes, binary payloads included', () => {
  assertSplitInvariant(clientFrame(PING), [{ type: 'ping', hex: '' }]);
  const payload = bytesOf(125);
  assertSplitInvariant(clientFrame(PING, payload), [{ type: 'ping', hex: payload.toString('hex') }]);
  assertSplitInvariant(clientFrame(PONG, 'unsolicited'), [{ type: 'pong', hex: Buffer.from('unsolicited').toString('hex') }]);
  const ten = Buffer.concat(Array.from({ length: 10 }, (_, i) => clientFrame(PING, `p${i}`)));
  assert.deepEqual(
    runParser([ten]),
    Array.from({ length: 10 }, (_, i) => ({ type: 'ping', hex: Buffer.from(`p${i}`).toString('hex') })),
  );
});

test('2.x a control frame over 125 bytes is refused on its second byte (1002)', () => {
  assertSplitInvariant(clientFrame(PING, bytesOf(126)), [PROTOCOL_ERROR]);
  assertSplitInvariant(clientFrame(PONG, bytesOf(126)), [PROTOCOL_ERROR]);
  assertSplitInvariant(clientFrame(CLOSE, bytesOf(126)), [PROTOCOL_ERROR]);
  assert.deepEqual(runParser([clientFrame(PING, bytesOf(200)).subarray(0, 2)]), [PROTOCOL_ERROR]);
});

test('2.x a fragmented ping is refused (1002)', () => {
  assertSplitInvariant(clientFrame(PING, 'a', { fin: false }), [PROTOCOL_ERROR]);
});

// --- 3.x reserved bits ---------------------------------------------------------

test('3.x RSV bits without a negotiated extension are refused (1002), after what came before', () => {
  const cases: Array<[string, Buffer]> = [
    ['rsv1 text', clientFrame(TEXT, 'x', { rsv1: true })],
    ['rsv2 text', clientFrame(TEXT, 'x', { rsv2: true })],
    ['rsv3 text', clientFrame(TEXT, 'x', { rsv3: true })],
    ['rsv1+rsv3 binary', clientFrame(BINARY, 'x', { rsv1: true, rsv3: true })],
    ['rsv2 ping', clientFrame(PING, 'x', { rsv2: true })],
    ['all rsv close', clientFrame(CLOSE, Buffer.from([3, 232]), { rsv1: true, rsv2: true, rsv3: true })],
  ];
  for (const [label, frame] of cases) {
    const input = Buffer.concat([clientFrame(TEXT, 'ok'), frame, clientFrame(PING, 'after')]);
    assertSplitInvariant(input, [{ type: 'text', data: 'ok' }, PROTOCOL_ERROR], undefined, label);
  }
});

test('3.x with permessage-deflate, RSV1 is still refused on control and continuation frames, RSV2/3 always', () => {
  const withDeflate = (): { maxMessageSize: number; inflater: MessageInflater } => ({
    maxMessageSize: 1000,
    inflater: new MessageInflater({ noContextTakeover: false }),
  });
  assertSplitInvariant(clientFrame(PING, 'x', { rsv1: true }), [PROTOCOL_ERROR], withDeflate, 'ping');
  const input = Buffer.concat([clientFrame(TEXT, 'a', { fin: false }), clientFrame(CONT, 'b', { rsv1: true })]);
  assertSplitInvariant(input, [PROTOCOL_ERROR], withDeflate, 'continuation');
  assertSplitInvariant(clientFrame(TEXT, 'x', { rsv2: true }), [PROTOCOL_ERROR], withDeflate, 'rsv2');
});

// --- 4.x opcodes ---------------------------------------------------------------

test('4.x reserved opcodes 3-7 and 11-15 are refused (1002)', () => {
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    const input = Buffer.concat([clientFrame(TEXT, 'ok'), clientFrame(opcode, 'payload'), clientFrame(PING)]);
    assertSplitInvariant(input, [{ type: 'text', data: 'ok' }, PROTOCOL_ERROR], undefined, `opcode ${opcode}`);
    assert.deepEqual(runParser([clientFrame(opcode).subarray(0, 2)]), [PROTOCOL_ERROR], `opcode ${opcode} fails fast`);
  }
});

// --- 5.x fragmentation ---------------------------------------------------------

test('5.x fragmented messages are reassembled; control frames may come between fragments', () => {
  const input = Buffer.concat([
    clientFrame(TEXT, 'frag', { fin: false }),
    clientFrame(PING, 'in between'),
    clientFrame(CONT, 'men', { fin: false }),
    clientFrame(PONG),
    clientFrame(CONT, '', { fin: false }),
    clientFrame(CONT, 'ted'),
    clientFrame(BINARY, Buffer.from([1]), { fin: false }),
    clientFrame(CONT, Buffer.from([2])),
  ]);
  assertSplitInvariant(input, [
    { type: 'ping', hex: Buffer.from('in between').toString('hex') },
    { type: 'pong', hex: '' },
    { type: 'text', data: 'fragmented' },
    { type: 'binary', hex: '0102' },
  ]);
});

test('5.x a message in one-byte fragments', () => {
  const text = 'Hello, fragmented world';
  const frames = [...text].map((char, i) => clientFrame(i === 0 ? TEXT : CONT, char, { fin: i === text.length - 1 }));
  assertSplitInvariant(Buffer.concat(frames), [{ type: 'text', data: text }]);
});

test('5.x continuation with nothing to continue, and a new message inside a fragmented one, are refused (1002)', () => {
  assertSplitInvariant(clientFrame(CONT, 'orphan'), [PROTOCOL_ERROR], undefined, 'orphan fin');
  assertSplitInvariant(clientFrame(CONT, 'orphan', { fin: false }), [PROTOCOL_ERROR], undefined, 'orphan');
  const afterMessage = Buffer.concat([clientFrame(TEXT, 'done'), clientFrame(CONT, 'late')]);
  assertSplitInvariant(afterMessage, [{ type: 'text', data: 'done' }, PROTOCOL_ERROR], undefined, 'after a message');
  const nested = Buffer.concat([clientFrame(TEXT, 'a', { fin: false }), clientFrame(TEXT, 'b')]);
  assertSplitInvariant(nested, [PROTOCOL_ERROR], undefined, 'text in text');
  const mixed = Buffer.concat([clientFrame(BINARY, 'a', { fin: false }), clientFrame(TEXT, 'b', { fin: false })]);
  assertSplitInvariant(mixed, [PROTOCOL_ERROR], undefined, 'text in binary');
});

// --- 7.x close -------------------------------------------------------------------

function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const reasonBytes = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
  const payload = Buffer.alloc(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return payload;
}

test('7.x a close without payload has no code; a close ends the parser (later frames are ignored)', () => {
  const input = Buffer.concat([clientFrame(CLOSE), clientFrame(TEXT, 'ignored'), clientFrame(PING)]);
  assertSplitInvariant(input, [{ type: 'close', reason: '' }]);
  const parser = new WebSocketParser({ maxMessageSize: 100 });
  parser.feed(clientFrame(CLOSE, closePayload(1000)));
  assert.equal(parser.status, 'closed');
  assert.deepEqual(parser.feed(clientFrame(TEXT, 'x')), []);
});

test('7.x close codes: the valid ones pass with their reason, the others are 1002', () => {
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  for (const code of valid) {
    assertSplitInvariant(clientFrame(CLOSE, closePayload(code, 'bye ☺')), [{ type: 'close', code, reason: 'bye ☺' }], undefined, `${code}`);
  }
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  for (const code of invalid) {
    assertSplitInvariant(clientFrame(CLOSE, closePayload(code)), [PROTOCOL_ERROR], undefined, `${code}`);
  }
});

test('7.x a 1-byte close payload is 1002; a 125-byte one is fine', () => {
  assertSplitInvariant(clientFrame(CLOSE, Buffer.from([0x03])), [PROTOCOL_ERROR]);
  const reason = 'r'.repeat(123);
  assertSplitInvariant(clientFrame(CLOSE, closePayload(1000, reason)), [{ type: 'close', code: 1000, reason }]);
});

test('7.x a close reason that is not UTF-8 is 1007', () => {
  const bad = Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65]);
  assertSplitInvariant(clientFrame(CLOSE, closePayload(1000, bad)), [INVALID_PAYLOAD]);
  assertSplitInvariant(clientFrame(CLOSE, closePayload(1000, Buffer.from([0xce]))), [INVALID_PAYLOAD], undefined, 'truncated');
});

// --- 9.x limits ---------------------------------------------------------------------

test('9.x a message of exactly maxMessageSize passes; one byte more is 1009, before its payload arrives', () => {
  const limit = (): { maxMessageSize: number } => ({ maxMessageSize: 300 });
  const exact = bytesOf(300);
  assertSplitInvariant(clientFrame(BINARY, exact), [{ type: 'binary', hex: exact.toString('hex') }], limit);
  const over = clientFrame(BINARY, bytesOf(301));
  assertSplitInvariant(over, [TOO_BIG], limit);
  assert.deepEqual(runParser([over.subarray(0, 8)], limit), [TOO_BIG], 'the header alone fails');
});

test('9.x the limit counts all fragments of a message, not control frames', () => {
  const limit = (): { maxMessageSize: number } => ({ maxMessageSize: 10 });
  const fits = Buffer.concat([
    clientFrame(TEXT, '12345', { fin: false }),
    clientFrame(PING, 'a control frame longer than the limit'),
    clientFrame(CONT, '67890'),
  ]);
  assertSplitInvariant(fits, [{ type: 'ping', hex: Buffer.from('a control frame longer than the limit').toString('hex') }, { type: 'text', data: '1234567890' }], limit);
  const over = Buffer.concat([clientFrame(TEXT, '123456', { fin: false }), clientFrame(CONT, '78901')]);
  assertSplitInvariant(over, [TOO_BIG], limit);
  // Each message starts from zero.
  const two = Buffer.concat([clientFrame(TEXT, '1234567890'), clientFrame(TEXT, '1234567890')]);
  assertSplitInvariant(two, [{ type: 'text', data: '1234567890' }, { type: 'text', data: '1234567890' }], limit);
});

test('9.x a 64-bit length with the most significant bit set is 1002; a huge valid one is 1009', () => {
  assertSplitInvariant(clientFrame(BINARY, 'x', { announcedLength: 1n << 63n }), [PROTOCOL_ERROR]);
  assertSplitInvariant(clientFrame(BINARY, 'x', { announcedLength: (1n << 63n) - 1n }), [TOO_BIG]);
  assertSplitInvariant(clientFrame(BINARY, 'x', { announcedLength: 1n << 40n }), [TOO_BIG]);
});

test('an unlimited parser (maxMessageSize: Infinity or 0) takes a 64-bit length', () => {
  const data = bytesOf(70000);
  for (const maxMessageSize of [Infinity, 0]) {
    assert.deepEqual(
      runInPieces(clientFrame(BINARY, data, { lengthBits: 64 }), 4096, () => ({ maxMessageSize })),
      [{ type: 'binary', hex: data.toString('hex') }],
      `${maxMessageSize}`,
    );
  }
});

test('the parser reports its status, and the events own their data', () => {
  const parser = new WebSocketParser({ maxMessageSize: 100 });
  assert.equal(parser.status, 'open');
  const input = clientFrame(BINARY, Buffer.from([1, 2, 3]));
  const [event] = parser.feed(input);
  input.fill(0);
  assert.deepEqual(event, { type: 'binary', data: Buffer.from([1, 2, 3]) });
  assert.deepEqual(parser.feed(clientFrame(9, 'x', { rsv2: true })), [
    { type: 'error', closeCode: 1002, reason: 'RSV2/RSV3 set without a negotiated extension' },
  ]);
  assert.equal(parser.status, 'failed');
  assert.deepEqual(parser.feed(clientFrame(TEXT, 'more')), []);
});

test('applyMask: the word loop equals the byte-by-byte definition at every length, offset and alignment', () => {
  const key = Buffer.from([0xa1, 0x02, 0xf3, 0x7c]);
  const source = bytesOf(300, 3);
  for (let length = 0; length <= 140; length++) {
    for (let maskOffset = 0; maskOffset < 4; maskOffset++) {
      for (let targetStart = 0; targetStart < 5; targetStart++) {
        const target = Buffer.alloc(targetStart + length + 3, 0xee);
        const input = source.subarray(1, 1 + length);
        applyMask(input, key, maskOffset, target, targetStart);
        const expected = Buffer.alloc(target.length, 0xee);
        for (let i = 0; i < length; i++) expected[targetStart + i] = input[i]! ^ key[(maskOffset + i) % 4]!;
        assert.deepEqual(target, expected, `length ${length}, offset ${maskOffset}, at ${targetStart}`);
      }
    }
  }
  // In place (source and target the same bytes), as a client masking its own buffer would.
  const data = bytesOf(100, 9);
  const copy = Buffer.from(data);
  applyMask(data, key, 1, data, 0);
  applyMask(data, key, 1, data, 0);
  assert.deepEqual(data, copy);
});

test('random frame sequences (valid and broken) give the same events whole and in random pieces, and never throw', () => {
  let seed = 20261202;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const opcodes = [TEXT, BINARY, CONT, CLOSE, PING, PONG, 3, 11];
  const payloads = [Buffer.alloc(0), Buffer.from('hi ☺'), Buffer.from([0xc3]), Buffer.from([0xa9]), Buffer.from([3, 232]), bytesOf(130), Buffer.from([0xff])];
  const limit = (): { maxMessageSize: number } => ({ maxMessageSize: 200 });
  for (let n = 0; n < 3000; n++) {
    const frames: Buffer[] = [];
    for (let f = 1 + random(5); f > 0; f--) {
      frames.push(clientFrame(opcodes[random(opcodes.length)]!, payloads[random(payloads.length)]!, {
        fin: random(3) !== 0,
        rsv1: random(20) === 0,
        mask: random(30) !== 0,
      }));
    }
    if (random(4) === 0) frames.push(bytesOf(1 + random(20), n)); // trailing garbage
    const input = Buffer.concat(frames);
    const whole = runParser([input], limit);
    const pieces: Buffer[] = [];
    for (let i = 0; i < input.length; ) {
      const size = 1 + random(9);
      pieces.push(input.subarray(i, i + size));
      i += size;
    }
    assert.deepEqual(runParser(pieces, limit), whole, input.toString('hex'));
  }
});

test('memory follows the bytes received: 1-byte fragments by the thousand, and announced lengths allocate nothing', () => {
  const fragments: Buffer[] = [clientFrame(BINARY, Buffer.from([0]), { fin: false })];
  for (let i = 1; i < 100_000; i++) fragments.push(clientFrame(CONT, Buffer.from([i & 0xff]), { fin: i === 99_999 }));
  const [event, ...rest] = runInPieces(Buffer.concat(fragments), 65536, () => ({ maxMessageSize: 1 << 20 }));
  assert.deepEqual(rest, []);
  assert.equal(event?.type, 'binary');
  assert.equal(event.type === 'binary' ? event.hex.length : 0, 200_000);

  const before = process.memoryUsage().arrayBuffers;
  const parsers: WebSocketParser[] = [];
  for (let i = 0; i < 200; i++) {
    const parser = new WebSocketParser({ maxMessageSize: 8 << 20 });
    // A frame announcing 4 MB, of which 10 bytes arrive.
    const frame = clientFrame(BINARY, Buffer.alloc(10), { announcedLength: 4 << 20 });
    assert.deepEqual(parser.feed(frame), []);
    parsers.push(parser);
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 50 << 20, `200 parsers waiting for 4 MB frames hold ${grown} bytes`);
  assert.equal(parsers.length, 200);
});
