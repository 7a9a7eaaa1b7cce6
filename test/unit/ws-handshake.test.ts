// The WebSocket opening handshake, server side (RFC 6455 §4.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptKey,
  buildHandshakeErrorResponse,
  buildHandshakeResponse,
  isWebSocketUpgrade,
  validateUpgradeRequest,
  type UpgradeRequest,
} from '../../src/protocol/websocket/handshake';
import { Http1Parser, type HttpHead } from '../../src/protocol/http1';
import { NuwsgiError } from '../../src/util/errors';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(headers: Array<[string, string]>, method = 'GET', version = '1.1'): UpgradeRequest {
  return { method, version, headers };
}

const GOOD: Array<[string, string]> = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];

function without(name: string): Array<[string, string]> {
  return GOOD.filter(([n]) => n !== name);
}

function replaced(name: string, value: string): Array<[string, string]> {
  return [...without(name), [name, value]];
}

test('acceptKey: the example of RFC 6455 §1.3', () => {
  assert.equal(acceptKey(KEY), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('a valid handshake: key, version, subprotocols in order, extensions raw and parsed', () => {
  const result = validateUpgradeRequest(request([
    ...GOOD,
    ['Sec-WebSocket-Protocol', 'chat, superchat'],
    ['sec-websocket-protocol', ' v2.proto '],
    ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
    ['Sec-WebSocket-Extensions', 'x-foo; a="b"'],
  ]));
  assert.deepEqual(result, {
    ok: true,
    key: KEY,
    version: 13,
    subprotocols: ['chat', 'superchat', 'v2.proto'],
    extensionsHeader: 'permessage-deflate; client_max_window_bits, x-foo; a="b"',
    extensions: [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'x-foo', params: [['a', 'b']] },
    ],
  });
});

test('header names and the Upgrade/Connection tokens are case-insensitive; Connection may list more tokens', () => {
  const result = validateUpgradeRequest(request([
    ['upgrade', 'WebSocket'],
    ['CONNECTION', 'keep-alive, UPGRADE'],
    ['sec-websocket-key', KEY],
    ['SEC-WEBSOCKET-VERSION', '13'],
  ]));
  assert.equal(result.ok, true);
  assert.equal(isWebSocketUpgrade([['Upgrade', 'h2c, WebSocket']]), true);
  assert.equal(isWebSocketUpgrade([['Upgrade', 'h2c']]), false);
  assert.equal(isWebSocketUpgrade([]), false);
});

test('refusals: 400 for a malformed handshake, 426 with Sec-WebSocket-Version: 13 for the version', () => {
  const cases: Array<[string, UpgradeRequest, number]> = [
    ['POST', request(GOOD, 'POST'), 400],
    ['HTTP/1.0', request(GOOD, 'GET', '1.0'), 400],
    ['no Upgrade', request(without('Upgrade')), 400],
    ['Upgrade: h2c', request(replaced('Upgrade', 'h2c')), 400],
    ['no Connection', request(without('Connection')), 400],
    ['Connection: keep-alive', request(replaced('Connection', 'keep-alive')), 400],
    ['no key', request(without('Sec-WebSocket-Key')), 400],
    ['key of 15 bytes', request(replaced('Sec-WebSocket-Key', Buffer.alloc(15, 1).toString('base64'))), 400],
    ['key of 17 bytes', request(replaced('Sec-WebSocket-Key', Buffer.alloc(17, 1).toString('base64'))), 400],
    ['key not base64', request(replaced('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ!=')), 400],
    ['two keys', request([...GOOD, ['Sec-WebSocket-Key', KEY]]), 400],
    ['no version', request(without('Sec-WebSocket-Version')), 426],
    ['version 8', request(replaced('Sec-WebSocket-Version', '8')), 426],
    ['version 13, 8', request(replaced('Sec-WebSocket-Version', '13, 8')), 426],
    ['two versions', request([...GOOD, ['Sec-WebSocket-Version', '13']]), 426],
    ['bad subprotocol', request([...GOOD, ['Sec-WebSocket-Protocol', 'chat, a b']]), 400],
    ['duplicate subprotocol', request([...GOOD, ['Sec-WebSocket-Protocol', 'chat, chat']]), 400],
    ['malformed extensions', request([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; =1']]), 400],
    ['unterminated quote', request([...GOOD, ['Sec-WebSocket-Extensions', 'x; a="b']]), 400],
  ];
  for (const [label, req, status] of cases) {
    const result = validateUpgradeRequest(req);
    assert.equal(result.ok, false, label);
    if (result.ok) continue;
    assert.equal(result.status, status, label);
    assert.ok(result.reason.length > 0, label);
    assert.deepEqual(result.headers, status === 426 ? [['Sec-WebSocket-Version', '13']] : [], label);
  }
});

test('a bare header list is accepted (method and version are then the caller\'s)', () => {
  assert.equal(validateUpgradeRequest(GOOD).ok, true);
  assert.equal(validateUpgradeRequest(without('Sec-WebSocket-Key')).ok, false);
});

test('an HttpHead from the HTTP parser validates directly', () => {
  const raw = [
    'GET /chat HTTP/1.1',
    'Host: server.example.com',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${KEY}`,
    'Origin: http://example.com',
    'Sec-WebSocket-Protocol: chat, superchat',
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
  let head: HttpHead | undefined;
  const parser = new Http1Parser(
    { onHead: (h) => (head = h), onBody: () => {}, onEnd: () => {}, onError: (e) => assert.fail(e.message) },
    { maxHeadBytes: 8192, maxBodyBytes: 0 },
  );
  parser.push(Buffer.from(raw, 'latin1'));
  assert.ok(head);
  const result = validateUpgradeRequest(head);
  assert.ok(result.ok);
  assert.deepEqual(result.subprotocols, ['chat', 'superchat']);
});

test('the 101 response of RFC 6455 §1.3, with subprotocol, extensions and app headers', () => {
  assert.equal(
    buildHandshakeResponse({ key: KEY }).toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
  );
  assert.equal(
    buildHandshakeResponse({
      key: KEY,
      subprotocol: 'chat',
      extensionsHeader: 'permessage-deflate; server_no_context_takeover',
      extraHeaders: [['Set-Cookie', 'a=b; Path=/'], ['x-app', 'café']],
    }).toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n' +
      'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' +
      'Set-Cookie: a=b; Path=/\r\nx-app: café\r\n\r\n',
  );
});

test('app headers that would split the response or redo the handshake are refused (E_WEBSOCKET)', () => {
  const bad: Array<Array<[string, string]>> = [
    [['X-A', 'one\r\nX-Injected: yes']],
    [['X-A', 'nul\0']],
    [['Bad Name', 'v']],
    [['', 'v']],
    [['sec-websocket-protocol', 'chat']],
    [['Sec-WebSocket-Accept', 'x']],
    [['Connection', 'close']],
    [['Content-Length', '0']],
  ];
  for (const extraHeaders of bad) {
    assert.throws(
      () => buildHandshakeResponse({ key: KEY, extraHeaders }),
      (err: unknown) => err instanceof NuwsgiError && err.code === 'E_WEBSOCKET',
      JSON.stringify(extraHeaders),
    );
  }
  assert.throws(() => buildHandshakeResponse({ key: KEY, subprotocol: 'a b' }), NuwsgiError);
});

test('the error response for a refused handshake', () => {
  const result = validateUpgradeRequest(request(replaced('Sec-WebSocket-Version', '8')));
  assert.ok(!result.ok);
  const text = buildHandshakeErrorResponse(result).toString('latin1');
  const body = `${result.reason}\n`;
  assert.equal(
    text,
    'HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n${body}`,
  );
  assert.match(buildHandshakeErrorResponse({ status: 403, reason: 'denied' }).toString(), /^HTTP\/1\.1 403 Forbidden\r\n/);
});
