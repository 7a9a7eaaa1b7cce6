// UTF-8 in text messages (Autobahn 6.x): valid and invalid sequences, each
// fed at every split and one byte at a time, fragmented at every byte, and
// refused on the first byte that makes them invalid (fail fast).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { Utf8Validator } from '../../src/protocol/websocket/utf8';
import { assertSplitInvariant, clientFrame, runParser, type Observed } from '../helpers/ws-frames';

const TEXT = 0x1;
const CONT = 0x0;
const INVALID_PAYLOAD: Observed = { type: 'error', closeCode: 1007 };

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const VALID: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['ascii', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8')],
  ['kosme', hex('cebae1bdb9cf83cebcceb5')],
  ['first of each length', hex('00 c280 e0a080 f0908080')],
  ['last of each length', hex('7f dfbf efbfbf f48fbfbf')],
  ['around surrogates', hex('ed9fbf ee8080 efbfbd')],
  ['noncharacters are valid UTF-8', hex('efbfbe efbfbf f09fbfbe')],
  ['emoji', Buffer.from('😀🎉 ∑ 𝄞', 'utf8')],
];

/** [label, bytes, index of the first byte after which no continuation can make it valid]. */
const INVALID: Array<[string, Buffer, number]> = [
  ['kosme with a surrogate', hex('cebae1bdb9cf83cebcceb5eda080656469746564'), 12],
  ['lone continuation', hex('80'), 0],
  ['continuation after ascii', hex('41bf'), 1],
  ['overlong 2-byte lead C0', hex('c080'), 0],
  ['overlong 2-byte lead C1', hex('c1bf'), 0],
  ['overlong 3-byte', hex('e08080'), 1],
  ['overlong 3-byte max', hex('e09fbf'), 1],
  ['overlong 4-byte', hex('f0808080'), 1],
  ['overlong 4-byte max', hex('f08fbfbf'), 1],
  ['high surrogate', hex('eda080'), 1],
  ['low surrogate', hex('edbfbf'), 1],
  ['surrogate pair (CESU-8)', hex('eda0bdedb2a9'), 1],
  ['above U+10FFFF', hex('f4908080'), 1],
  ['lead F5', hex('f5808080'), 0],
  ['lead FE', hex('fe'), 0],
  ['lead FF', hex('ff'), 0],
  ['5-byte form', hex('f888808080'), 0],
  ['lead then ascii', hex('c241'), 1],
  ['3-byte cut by a new lead', hex('e182c2a2'), 2],
  ['4-byte cut by ascii', hex('f0908041'), 3],
];

/** Cut at the end of the message: valid prefixes that never finish. */
const TRUNCATED: Array<[string, Buffer]> = [
  ['2-byte missing 1', hex('41c2')],
  ['3-byte missing 1', hex('e182')],
  ['3-byte missing 2', hex('e1')],
  ['4-byte missing 1', hex('f09080')],
  ['4-byte missing 3', hex('f4')],
];

test('6.x valid UTF-8 text at every split and in one-byte fragments', () => {
  for (const [label, bytes] of VALID) {
    const expected: Observed[] = [{ type: 'text', data: bytes.toString('utf8') }];
    assertSplitInvariant(clientFrame(TEXT, bytes), expected, undefined, label);
    const fragments = bytes.length === 0 ? [clientFrame(TEXT, bytes)] : [...bytes].map((byte, i) =>
      clientFrame(i === 0 ? TEXT : CONT, Buffer.from([byte]), { fin: i === bytes.length - 1 }));
    assertSplitInvariant(Buffer.concat(fragments), expected, undefined, `${label} in 1-byte fragments`);
  }
});

test('6.x valid UTF-8 fragmented at every byte position (two fragments)', () => {
  const bytes = Buffer.from('κόσμε 😀 ∑ — ok', 'utf8');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const input = Buffer.concat([
      clientFrame(TEXT, bytes.subarray(0, cut), { fin: false }),
      clientFrame(CONT, bytes.subarray(cut)),
    ]);
    assert.deepEqual(runParser([input]), [{ type: 'text', data: bytes.toString('utf8') }], `cut at ${cut}`);
  }
});

test('6.x invalid UTF-8 is 1007 at every split, in one frame and in one-byte fragments', () => {
  for (const [label, bytes] of INVALID) {
    assertSplitInvariant(clientFrame(TEXT, bytes), [INVALID_PAYLOAD], undefined, label);
    const fragments = [...bytes].map((byte, i) =>
      clientFrame(i === 0 ? TEXT : CONT, Buffer.from([byte]), { fin: i === bytes.length - 1 }));
    assertSplitInvariant(Buffer.concat(fragments), [INVALID_PAYLOAD], undefined, `${label} in fragments`);
  }
  for (const [label, bytes] of TRUNCATED) {
    assertSplitInvariant(clientFrame(TEXT, bytes), [INVALID_PAYLOAD], undefined, label);
    const split = Buffer.concat([clientFrame(TEXT, bytes, { fin: false }), clientFrame(CONT, '')]);
    assertSplitInvariant(split, [INVALID_PAYLOAD], undefined, `${label}, empty last fragment`);
  }
});

test('6.x fail fast: the error comes with the first invalid byte, not at the end of the frame or message', () => {
  for (const [label, bytes, firstBad] of INVALID) {
    // The frame announces a longer payload (and is not final): only the bytes up to firstBad are sent.
    const frame = clientFrame(TEXT, Buffer.concat([bytes, Buffer.alloc(100, 0x41)]), { fin: false });
    const headerLength = frame.length - bytes.length - 100;
    const before = frame.subarray(0, headerLength + firstBad);
    const through = frame.subarray(0, headerLength + firstBad + 1);
    assert.deepEqual(runParser([before]), [], `${label}: not before byte ${firstBad}`);
    assert.deepEqual(runParser([through]), [INVALID_PAYLOAD], `${label}: at byte ${firstBad}`);
  }
});

test('the incremental validator agrees with buffer.isUtf8 on random bytes, whole and byte by byte', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  // Bytes drawn mostly from lead/continuation ranges, so that valid multi-byte sequences occur.
  const pool = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
  for (let n = 0; n < 20000; n++) {
    const bytes = Buffer.alloc(1 + (random() % 8));
    for (let i = 0; i < bytes.length; i++) bytes[i] = pool[random() % pool.length]!;
    const expected = isUtf8(bytes);
    const whole = new Utf8Validator();
    assert.equal(whole.push(bytes) && whole.complete, expected, bytes.toString('hex'));
    const stepwise = new Utf8Validator();
    let ok = true;
    for (const byte of bytes) ok = ok && stepwise.push(Buffer.from([byte]));
    assert.equal(ok && stepwise.complete, expected, `${bytes.toString('hex')} byte by byte`);
  }
});

test('every code point round-trips through the validator (surrogates excluded)', () => {
  const validator = new Utf8Validator();
  const chunk: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    chunk.push(String.fromCodePoint(cp));
    if (chunk.length === 4096) {
      // 7-byte slices split characters, so the byte-by-byte path runs too.
      const bytes = Buffer.from(chunk.join(''), 'utf8');
      for (let i = 0; i < bytes.length; i += 7) {
        assert.ok(validator.push(bytes.subarray(i, i + 7)), `near U+${cp.toString(16)}`);
      }
      chunk.length = 0;
    }
  }
  assert.ok(validator.push(Buffer.from(chunk.join(''), 'utf8')) && validator.complete);
});
