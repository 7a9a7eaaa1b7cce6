import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseFraming, chunkFrame, errorResponse, serializeHead, type FramingInput } from '../../src/worker/framing';

const base: FramingInput = {
  protocol: 'HTTP/1.1',
  clientKeepAlive: true,
  clientHttp11: true,
  raw: false,
  isHead: false,
  status: 200,
  declaredLength: -1,
  completeLength: 5,
  appWantsClose: false,
};

test('a complete body without Content-Length gets ours and keeps the connection', () => {
  assert.deepEqual(chooseFraming(base), { body: 'length', keepAlive: true, extraHeaders: 'Content-Length: 5\r\n' });
});

test("the app's Content-Length is kept, nothing added", () => {
  assert.deepEqual(chooseFraming({ ...base, declaredLength: 5 }), { body: 'length', keepAlive: true, extraHeaders: '' });
});

test('a stream to an HTTP/1.1 client is chunked', () => {
  const f = chooseFraming({ ...base, completeLength: -1 });
  assert.equal(f.body, 'chunked');
  assert.equal(f.extraHeaders, 'Transfer-Encoding: chunked\r\n');
  assert.equal(f.keepAlive, true);
});

test('a stream to an HTTP/1.0 client ends with the connection', () => {
  const f = chooseFraming({ ...base, completeLength: -1, clientHttp11: false, clientKeepAlive: true });
  assert.deepEqual(f, { body: 'close', keepAlive: false, extraHeaders: '' });
});

test('HTTP/1.0 keep-alive is confirmed with a Connection header', () => {
  const f = chooseFraming({ ...base, clientHttp11: false });
  assert.equal(f.extraHeaders, 'Content-Length: 5\r\nConnection: keep-alive\r\n');
});

test('closing an HTTP/1.1 connection says so', () => {
  assert.equal(chooseFraming({ ...base, clientKeepAlive: false }).extraHeaders, 'Content-Length: 5\r\nConnection: close\r\n');
  assert.equal(chooseFraming({ ...base, appWantsClose: true }).keepAlive, false);
});

test('HEAD, 204 and 304 carry no body; HEAD still tells the length', () => {
  assert.deepEqual(chooseFraming({ ...base, isHead: true }), { body: 'none', keepAlive: true, extraHeaders: 'Content-Length: 5\r\n' });
  assert.equal(chooseFraming({ ...base, status: 204, completeLength: 0 }).body, 'none');
  assert.equal(chooseFraming({ ...base, status: 304, completeLength: -1 }).extraHeaders, '');
  // A HEAD answered 204 or 304: no length of a body that a GET would not have had either (RFC 9110 §8.6).
  assert.equal(chooseFraming({ ...base, isHead: true, status: 204, completeLength: 0 }).extraHeaders, '');
  assert.equal(chooseFraming({ ...base, isHead: true, status: 304, completeLength: 0 }).extraHeaders, '');
});

test('uwsgi sockets get no framing headers and always close, as uWSGI', () => {
  assert.deepEqual(chooseFraming({ ...base, raw: true }), { body: 'close', keepAlive: false, extraHeaders: '' });
  assert.deepEqual(chooseFraming({ ...base, raw: true, declaredLength: 5 }), { body: 'length', keepAlive: false, extraHeaders: '' });
});

test('serializeHead puts the protocol, the app head and our headers together', () => {
  const head = serializeHead('HTTP/1.1', Buffer.from('200 OK\r\nA: b\r\n'), 'Content-Length: 1\r\n');
  assert.equal(head.toString('latin1'), 'HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 1\r\n\r\n');
});

test('chunkFrame writes hex sizes', () => {
  assert.equal(Buffer.concat(chunkFrame(Buffer.alloc(255, 97))).toString('latin1'), 'ff\r\n' + 'a'.repeat(255) + '\r\n');
});

test('errorResponse is a complete closing response', () => {
  assert.equal(
    errorResponse('HTTP/1.1', 400, 'Bad Request').toString(),
    'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n',
  );
});
