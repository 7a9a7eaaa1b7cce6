// WebSocket frame encoding (server frames: unmasked), read back by the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocFrame,
  encodeBinary,
  encodeClose,
  encodeFrame,
  encodeFrameHeader,
  encodePing,
  encodePong,
  encodeText,
  truncateUtf8,
} from '../../src/protocol/websocket/frame';
import { NuwsgiError } from '../../src/util/errors';
import { runParser } from '../helpers/ws-frames';

const clientSide = (): { maxMessageSize: number; requireMask: boolean } => ({ maxMessageSize: Infinity, requireMask: false });

test('frame headers use the shortest length encoding; server frames are unmasked', () => {
  assert.deepEqual(encodeFrameHeader(0x1, 0), Buffer.from([0x81, 0x00]));
  assert.deepEqual(encodeFrameHeader(0x2, 125), Buffer.from([0x82, 125]));
  assert.deepEqual(encodeFrameHeader(0x2, 126), Buffer.from([0x82, 126, 0x00, 126]));
  assert.deepEqual(encodeFrameHeader(0x2, 65535), Buffer.from([0x82, 126, 0xff, 0xff]));
  assert.deepEqual(encodeFrameHeader(0x2, 65536), Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]));
  assert.deepEqual(encodeFrameHeader(0x2, 2 ** 40 + 5), Buffer.from([0x82, 127, 0, 0, 1, 0, 0, 0, 0, 5]));
  assert.deepEqual(encodeFrameHeader(0x0, 3, { fin: false, rsv1: true }), Buffer.from([0x40, 3]));
  assert.deepEqual(encodeFrameHeader(0x9, 1, { maskKey: Buffer.from([1, 2, 3, 4]) }), Buffer.from([0x89, 0x81, 1, 2, 3, 4]));
});

test('allocFrame: the header of encodeFrame, the payload left for the caller at the end', () => {
  for (const size of [0, 5, 125, 126, 65535, 65536]) {
    const payload = Buffer.alloc(size, 0x61);
    const frame = allocFrame(0x2, size);
    assert.equal(frame.length, encodeFrame(0x2, payload).length);
    payload.copy(frame, frame.length - size);
    assert.deepEqual(frame, encodeFrame(0x2, payload), `${size} bytes`);
  }
});

test('encoded messages and control frames read back through the parser', () => {
  const big = Buffer.alloc(70000, 0x5a);
  const input = Buffer.concat([
    encodeText('héllo'),
    encodeBinary(big),
    encodePing(Buffer.from('p')),
    encodePong(),
    encodeFrame(0x1, Buffer.from('a'), { fin: false }),
    encodeFrame(0x0, Buffer.from('b')),
    encodeClose(1001, 'going'),
  ]);
  assert.deepEqual(runParser([input], clientSide), [
    { type: 'text', data: 'héllo' },
    { type: 'binary', hex: big.toString('hex') },
    { type: 'ping', hex: '70' },
    { type: 'pong', hex: '' },
    { type: 'text', data: 'ab' },
    { type: 'close', code: 1001, reason: 'going' },
  ]);
  assert.deepEqual(runParser([encodeClose()], clientSide), [{ type: 'close', reason: '' }]);
});

test('encodeClose cuts a long reason at a character boundary to fit 125 bytes', () => {
  const reason = '€'.repeat(60); // 180 bytes
  const frame = encodeClose(1000, reason);
  assert.equal(frame.length, 2 + 2 + 123 - (123 % 3));
  assert.deepEqual(runParser([frame], clientSide), [{ type: 'close', code: 1000, reason: '€'.repeat(41) }]);
  assert.equal(truncateUtf8('a😀', 4).toString(), 'a');
  assert.equal(truncateUtf8('a😀', 5).toString(), 'a😀');
});

test('close codes that may not be sent, and control payloads over 125 bytes, are refused (E_WEBSOCKET)', () => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5]) {
    assert.throws(() => encodeClose(code), (err: unknown) => err instanceof NuwsgiError && err.code === 'E_WEBSOCKET', `${code}`);
  }
  assert.deepEqual(runParser([encodeClose(1012)], clientSide), [{ type: 'close', code: 1012, reason: '' }], 'service restart');
  assert.throws(() => encodePing(Buffer.alloc(126)), NuwsgiError);
  assert.throws(() => encodePong(Buffer.alloc(126)), NuwsgiError);
  assert.equal(encodePing(Buffer.alloc(125)).length, 127);
});
