// The small helpers behind the per-connection CPU work (issue 15):
// case-insensitive header comparisons without copies, the latin-1 string
// cache of the parsers, and IPv6 formatting for handle-less connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { equalsLowercase, hasListToken } from '../../src/protocol/ascii';
import { latin1Cached } from '../../src/protocol/latin1-cache';
import { formatIpv6 } from '../../src/worker/sockaddr';

test('equalsLowercase compares ASCII letters without case, and nothing else', () => {
  assert.equal(equalsLowercase('Host', 'host'), true);
  assert.equal(equalsLowercase('HOST', 'host'), true);
  assert.equal(equalsLowercase('host', 'host'), true);
  assert.equal(equalsLowercase('Hosts', 'host'), false);
  assert.equal(equalsLowercase('Hos', 'host'), false);
  assert.equal(equalsLowercase('CONTENT-LENGTH', 'content-length'), true);
  // '\r' | 0x20 is '-': only A-Z fold.
  assert.equal(equalsLowercase('content\rlength', 'content-length'), false);
  assert.equal(equalsLowercase('[ost', '{ost'), false);
  assert.equal(equalsLowercase('\u00c9', '\u00e9'), false); // latin-1 letters are not ASCII
});

test('hasListToken finds a list element with any case and OWS, as split/trim/lowercase did', () => {
  assert.equal(hasListToken('close', 'close'), true);
  assert.equal(hasListToken('Close', 'close'), true);
  assert.equal(hasListToken(' keep-alive , Upgrade ', 'upgrade'), true);
  assert.equal(hasListToken('keep-alive,\tUPGRADE', 'upgrade'), true);
  assert.equal(hasListToken('keep-alive', 'close'), false);
  assert.equal(hasListToken('closed', 'close'), false);
  assert.equal(hasListToken('', 'close'), false);
  assert.equal(hasListToken(',,close,', 'close'), true);
  assert.equal(hasListToken('clo se', 'close'), false);
});

test('latin1Cached returns the bytes as latin-1, the same string for the same bytes, any collision', () => {
  const seen = new Map<string, string>();
  for (let i = 0; i < 5000; i++) {
    const text = `X-Header-${i % 700}-\u00e9\u00ff`;
    const buf = Buffer.concat([Buffer.from('..'), Buffer.from(text, 'latin1'), Buffer.from('..')]);
    const s = latin1Cached(buf, 2, buf.length - 2);
    assert.equal(s, text);
    seen.set(text, s);
  }
  const buf = Buffer.from('GET', 'latin1');
  assert.equal(latin1Cached(buf, 0, 3), latin1Cached(Buffer.from('xGET'), 1, 4));
  assert.equal(latin1Cached(buf, 1, 1), '');
  const long = Buffer.alloc(300, 0x61);
  assert.equal(latin1Cached(long, 0, 300), 'a'.repeat(300));
  // Same length, same hash slot or not: never the other string.
  assert.equal(latin1Cached(Buffer.from('ab'), 0, 2), 'ab');
  assert.equal(latin1Cached(Buffer.from('ba'), 0, 2), 'ba');
  assert.equal(latin1Cached(Buffer.from('ab'), 0, 2), 'ab');
});

test('formatIpv6 prints what Node prints for the same address', () => {
  const cases = ['::1', '::', '::ffff:127.0.0.1', 'fe80::1', '2001:db8::1:0:0:1', '1::', '::2', '::2:3', '::1.2.3.4', '2001:db8::',
    '1:2:3:4:5:6:7:8', '1:0:2::3:0:0', '::ffff:0:0', '::1:0:1', 'abcd:ef01::', '0:1::'];
  for (const address of cases) {
    const bytes = Buffer.alloc(20);
    const words = new net.SocketAddress({ address, family: 'ipv6' }).address;
    // Expand with the platform's parser: inet_pton through a socket address round trip.
    const expanded = expandIpv6(address);
    for (let i = 0; i < 8; i++) bytes.writeUInt16BE(expanded[i] as number, 2 + 2 * i);
    assert.equal(formatIpv6(bytes, 2), words, address);
  }
});

/** '1::2' → its eight words (a test helper; dotted tails included). */
function expandIpv6(text: string): number[] {
  let t = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    t = t.slice(0, dotted.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head === '' || head === undefined ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - tl.length).fill('0');
  return [...h, ...zeros, ...tl].map((w) => parseInt(w, 16));
}
