import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  UWSGI_DEFAULT_LIMITS,
  UwsgiParser,
  encodeUwsgiPacket,
  parseUwsgiVars,
  uwsgiContentLength,
  uwsgiVarSlots,
  type UwsgiHead,
  type UwsgiLimits,
} from '../../src/protocol/uwsgi';
import { ProtocolError } from '../../src/protocol/errors';
import type { ErrorCode } from '../../src/util/errors';

// ---------------------------------------------------------------------------
// Harness.

type Event =
  | { type: 'head'; head: UwsgiHead }
  | { type: 'body'; data: string }
  | { type: 'end' }
  | { type: 'error'; code: ErrorCode; status: number | null; message: string; logLine: string | undefined }
  | { type: 'protocol-violation'; what: string };

interface Outcome {
  events: Event[];
  finished: boolean;
}

const LIMITS: UwsgiLimits = { ...UWSGI_DEFAULT_LIMITS };

/** Pushes each piece from a scratch copy that is wiped afterwards (see http1.test.ts). */
function run(pieces: Buffer[], limits: UwsgiLimits): Outcome {
  const events: Event[] = [];
  let done = false;
  const after = (what: string): void => {
    if (done) events.push({ type: 'protocol-violation', what: `${what} after the end` });
  };
  const parser = new UwsgiParser(
    {
      onHead(head) {
        after('onHead');
        events.push({ type: 'head', head });
      },
      onBody(chunk) {
        after('onBody');
        if (chunk.length === 0) events.push({ type: 'protocol-violation', what: 'empty onBody' });
        const last = events[events.length - 1];
        if (last?.type === 'body') last.data += chunk.toString('latin1');
        else events.push({ type: 'body', data: chunk.toString('latin1') });
      },
      onEnd() {
        after('onEnd');
        done = true;
        events.push({ type: 'end' });
      },
      onError(err) {
        after('onError');
        done = true;
        events.push({ type: 'error', code: err.code, status: err.status, message: err.message, logLine: err.logLine });
      },
    },
    limits,
  );
  for (const piece of pieces) {
    const scratch = Buffer.from(piece);
    parser.push(scratch);
    scratch.fill(0x55);
  }
  return { events, finished: parser.finished };
}

function assertSplitInvariant(input: Buffer, limits: UwsgiLimits, reference: Outcome, label: string): void {
  for (let i = 0; i <= input.length; i++) {
    assert.deepEqual(run([input.subarray(0, i), input.subarray(i)], limits), reference, `${label}: split at ${i}`);
  }
  const single: Buffer[] = [];
  for (let i = 0; i < input.length; i++) single.push(input.subarray(i, i + 1));
  assert.deepEqual(run(single, limits), reference, `${label}: one byte at a time`);
}

// ---------------------------------------------------------------------------
// Hand-built packets, independent of the encoder.

function u16(n: number): number[] {
  return [n & 0xff, n >> 8];
}

/** Concatenates raw byte arrays and latin-1 strings. */
function raw(...parts: Array<number[] | string>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

function packetWithBlock(block: Buffer, modifier1 = 0, modifier2 = 0): Buffer {
  return Buffer.concat([raw([modifier1, ...u16(block.length), modifier2]), block]);
}

function kv(key: string, value: string): Buffer {
  return raw(u16(key.length), key, u16(value.length), value);
}

// ---------------------------------------------------------------------------
// The table.

/** The vars of /work/shared/reference §1.3: nginx's uwsgi_params (Debian) plus the forwarded headers. */
const NGINX_VARS: Array<[string, string]> = [
  ['QUERY_STRING', 'a=1&b=2'],
  ['REQUEST_METHOD', 'POST'],
  ['CONTENT_TYPE', 'application/x-www-form-urlencoded'],
  ['CONTENT_LENGTH', '5'],
  ['REQUEST_URI', '/app/path?a=1&b=2'],
  ['PATH_INFO', '/app/path'],
  ['DOCUMENT_ROOT', '/usr/share/nginx/html'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REQUEST_SCHEME', 'http'],
  ['REMOTE_ADDR', '127.0.0.1'],
  ['REMOTE_PORT', '51734'],
  ['SERVER_PORT', '8088'],
  ['SERVER_NAME', 'localhost'],
  ['HTTP_HOST', '127.0.0.1'],
  ['HTTP_USER_AGENT', 'curl/7.88.1'],
  ['HTTP_ACCEPT', '*/*'],
  ['HTTP_X_FORWARDED_FOR', '1.2.3.4'],
  ['HTTP_COOKIE', 'c=1'],
  ['HTTP_CONTENT_LENGTH', '5'],
  ['HTTP_CONTENT_TYPE', 'application/x-www-form-urlencoded'],
];
const NGINX_DATASIZE = NGINX_VARS.reduce((n, [k, v]) => n + 4 + k.length + v.length, 0);

type Expected = { head: Partial<UwsgiHead> } | { body: string } | 'end' | { error: ErrorCode; status?: number; logLine: string };

interface Case {
  name: string;
  input: Buffer;
  limits?: Partial<UwsgiLimits>;
  expect: Expected[];
  finished?: boolean; // default true
}

const cases: Case[] = [
  {
    name: 'nginx uwsgi_pass POST with body',
    input: encodeUwsgiPacket(NGINX_VARS, 'hello'),
    expect: [
      { head: { modifier1: 0, modifier2: 0, datasize: NGINX_DATASIZE, vars: NGINX_VARS, contentLength: 5 } },
      { body: 'hello' },
      'end',
    ],
  },
  {
    name: 'bytes after the body are ignored',
    input: encodeUwsgiPacket(NGINX_VARS, 'helloEXTRA BYTES THAT ARE NOT A REQUEST'),
    expect: [{ head: { contentLength: 5 } }, { body: 'hello' }, 'end'],
  },
  {
    name: 'hand-built GET without CONTENT_LENGTH has no body',
    input: packetWithBlock(Buffer.concat([kv('REQUEST_METHOD', 'GET'), kv('PATH_INFO', '/')])),
    expect: [{ head: { datasize: 35, vars: [['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/']], contentLength: 0 } }, 'end'],
  },
  {
    name: 'modifiers are passed through',
    input: encodeUwsgiPacket([['PATH_INFO', '/']], undefined, 30, 7),
    expect: [{ head: { modifier1: 30, modifier2: 7 } }, 'end'],
  },
  {
    name: 'CONTENT_LENGTH is read as leading digits ("12abc" is 12)',
    input: encodeUwsgiPacket([['CONTENT_LENGTH', '12abc']], 'twelve bytes'),
    expect: [{ head: { contentLength: 12 } }, { body: 'twelve bytes' }, 'end'],
  },
  ...['abc', '', ' 5', '-5'].map(
    (value): Case => ({
      name: `CONTENT_LENGTH ${JSON.stringify(value)} is 0`,
      input: encodeUwsgiPacket([['CONTENT_LENGTH', value]], 'ignored'),
      expect: [{ head: { contentLength: 0 } }, 'end'],
    }),
  ),
  {
    name: 'duplicate vars are kept in order and the last CONTENT_LENGTH wins',
    input: encodeUwsgiPacket(
      [
        ['CONTENT_LENGTH', '3'],
        ['X', '1'],
        ['X', '2'],
        ['CONTENT_LENGTH', '2'],
      ],
      'ab',
    ),
    expect: [
      {
        head: {
          vars: [
            ['CONTENT_LENGTH', '3'],
            ['X', '1'],
            ['X', '2'],
            ['CONTENT_LENGTH', '2'],
          ],
          contentLength: 2,
        },
      },
      { body: 'ab' },
      'end',
    ],
  },
  {
    name: 'an empty value, even as the last var',
    input: encodeUwsgiPacket([['QUERY_STRING', ''], ['PATH_INFO', '/'], ['HTTPS', '']]),
    expect: [{ head: { vars: [['QUERY_STRING', ''], ['PATH_INFO', '/'], ['HTTPS', '']] } }, 'end'],
  },
  {
    name: 'non-ASCII bytes come out as latin-1',
    input: packetWithBlock(raw(u16(9), 'PATH_INFO', u16(6), [0x2f, 0x63, 0x61, 0x66, 0xc3, 0xa9])),
    expect: [{ head: { vars: [['PATH_INFO', '/caf\u00c3\u00a9']] } }, 'end'],
  },
  {
    name: 'datasize exactly at bufferSize',
    input: encodeUwsgiPacket([['K', 'v'.repeat(59)]]),
    limits: { bufferSize: 64 },
    expect: [{ head: { datasize: 64 } }, 'end'],
  },
  {
    name: 'CONTENT_LENGTH exactly at maxBodyBytes',
    input: encodeUwsgiPacket([['CONTENT_LENGTH', '5']], 'hello'),
    limits: { maxBodyBytes: 5 },
    expect: [{ head: {} }, { body: 'hello' }, 'end'],
  },
  {
    name: 'exactly maxVars slots',
    input: encodeUwsgiPacket([['A', '1'], ['B', '2']]),
    limits: { maxVars: 4 },
    expect: [{ head: {} }, 'end'],
  },
  { name: 'header only: nothing yet', input: raw([0, ...u16(10), 0]), expect: [], finished: false },
  {
    name: 'body not complete yet',
    input: encodeUwsgiPacket([['CONTENT_LENGTH', '10']], 'hello'),
    expect: [{ head: {} }, { body: 'hello' }],
    finished: false,
  },
  // Errors.
  {
    name: 'datasize above bufferSize',
    input: raw([0, ...u16(5083), 0], 'whatever'),
    expect: [{ error: 'E_UWSGI_BLOCK_TOO_LARGE', logLine: 'invalid request block size: 5083 (max 4096)...skip' }],
  },
  {
    name: 'datasize one above a custom bufferSize',
    input: encodeUwsgiPacket([['K', 'v'.repeat(60)]]),
    limits: { bufferSize: 64 },
    expect: [{ error: 'E_UWSGI_BLOCK_TOO_LARGE', logLine: 'invalid request block size: 65 (max 64)...skip' }],
  },
  {
    name: 'datasize 0',
    input: raw([0, 0, 0, 0]),
    expect: [{ error: 'E_UWSGI_EMPTY', logLine: 'Empty python request. skip.' }],
  },
  {
    name: 'zero-length key',
    input: packetWithBlock(raw(u16(0), u16(1), 'x')),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'uwsgi key cannot be null. skip this var.' }],
  },
  {
    name: 'zero-length key after a good var drops the whole request',
    input: packetWithBlock(Buffer.concat([kv('A', 'b'), raw(u16(0), u16(1), 'x')])),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'uwsgi key cannot be null. skip this var.' }],
  },
  {
    name: 'key running past the block',
    input: packetWithBlock(raw(u16(10), 'ABC')),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'invalid uwsgi request (current strsize: 10). skip.' }],
  },
  {
    name: 'key ending exactly at the block end',
    input: packetWithBlock(raw(u16(3), 'ABC')),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'invalid uwsgi request (current strsize: 3). skip.' }],
  },
  {
    name: 'value length cut in half',
    input: packetWithBlock(raw(u16(3), 'ABC', [1])),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'invalid uwsgi request (current strsize: 3). skip.' }],
  },
  {
    name: 'value running past the block',
    input: packetWithBlock(raw(u16(3), 'ABC', u16(7), 'xy')),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'invalid uwsgi request (current strsize: 7). skip.' }],
  },
  {
    name: 'two stray bytes after the last var',
    input: packetWithBlock(Buffer.concat([kv('A', 'bcd'), raw([1, 0])])),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'invalid uwsgi request (current strsize: 3). skip.' }],
  },
  {
    name: 'more vars than maxVars slots',
    input: encodeUwsgiPacket([['A', '1'], ['B', '2'], ['C', '3']]),
    limits: { maxVars: 5 },
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'max vec size reached. skip this var.' }],
  },
  {
    name: 'CONTENT_LENGTH above maxBodyBytes',
    input: encodeUwsgiPacket([['CONTENT_LENGTH', '6']], 'hello!'),
    limits: { maxBodyBytes: 5 },
    expect: [{ error: 'E_UWSGI_BODY_TOO_LARGE', status: 413, logLine: 'Invalid (too big) CONTENT_LENGTH. skip.' }],
  },
  {
    name: 'CONTENT_LENGTH beyond 2^53 without a body limit',
    input: encodeUwsgiPacket([['CONTENT_LENGTH', '99999999999999999999']], 'x'),
    expect: [{ error: 'E_UWSGI_PACKET', logLine: 'Invalid (too big) CONTENT_LENGTH. skip.' }],
  },
];

function assertMatches(actual: Event[], expected: Expected[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: ${JSON.stringify(actual)}`);
  expected.forEach((want, i) => {
    const got = actual[i]!;
    const where = `${label}: event ${i}`;
    if (want === 'end') assert.equal(got.type, 'end', where);
    else if ('head' in want) {
      assert.equal(got.type, 'head', where);
      if (got.type !== 'head') return;
      for (const [key, value] of Object.entries(want.head)) {
        assert.deepEqual(got.head[key as keyof UwsgiHead], value, `${where}: head.${key}`);
      }
    } else if ('body' in want) assert.deepEqual(got, { type: 'body', data: want.body }, where);
    else {
      assert.equal(got.type, 'error', where);
      if (got.type !== 'error') return;
      assert.equal(got.code, want.error, where);
      assert.equal(got.status, want.status ?? null, where);
      assert.equal(got.logLine, want.logLine, where);
    }
  });
}

for (const c of cases) {
  test(`uwsgi: ${c.name}`, () => {
    const limits = { ...LIMITS, ...c.limits };
    const reference = run([c.input], limits);
    assertMatches(reference.events, c.expect, c.name);
    assert.equal(reference.finished, c.finished ?? true, `${c.name}: finished`);
    assertSplitInvariant(c.input, limits, reference, c.name);
  });
}

// ---------------------------------------------------------------------------
// Encoder and helpers.

test('uwsgi: encoder lays the packet out as nginx does (reference §1.1 capture)', () => {
  const packet = encodeUwsgiPacket(NGINX_VARS, 'hello');
  assert.equal(packet.length, 4 + NGINX_DATASIZE + 5);
  assert.deepEqual([...packet.subarray(0, 4)], [0, NGINX_DATASIZE & 0xff, NGINX_DATASIZE >> 8, 0]);
  assert.deepEqual(packet.subarray(4, 4 + 23), raw([0x0c, 0x00], 'QUERY_STRING', [0x07, 0x00], 'a=1&b=2'));
  assert.equal(packet.subarray(packet.length - 5).toString(), 'hello');
});

test('uwsgi: encoder accepts a record and a Buffer body, and writes the modifiers', () => {
  const packet = encodeUwsgiPacket({ A: 'b' }, Buffer.from([1, 2]), 5, 9);
  assert.deepEqual([...packet], [5, 6, 0, 9, 1, 0, 0x41, 1, 0, 0x62, 1, 2]);
});

test('uwsgi: encoder refuses what the wire format cannot carry', () => {
  assert.throws(() => encodeUwsgiPacket([['K', 'v'.repeat(65536)]]), RangeError);
  assert.throws(() => encodeUwsgiPacket([['K', 'v'.repeat(40000)], ['L', 'v'.repeat(40000)]]), RangeError);
  assert.throws(() => encodeUwsgiPacket([], undefined, 256), RangeError);
  assert.throws(() => encodeUwsgiPacket([], undefined, 0, -1), RangeError);
  assert.equal(encodeUwsgiPacket([['K', 'v'.repeat(65530)]]).readUInt16LE(1), 65535);
});

test('uwsgi: parseUwsgiVars on a block and its errors', () => {
  assert.deepEqual(parseUwsgiVars(Buffer.concat([kv('A', 'b'), kv('C', '')]), 4), [
    ['A', 'b'],
    ['C', ''],
  ]);
  const err = parseUwsgiVars(raw(u16(0), u16(0), 'x'), 4);
  assert.ok(err instanceof ProtocolError);
  assert.equal(err.status, null);
});

test('uwsgi: CONTENT_LENGTH digits and var slots follow uWSGI', () => {
  assert.equal(uwsgiContentLength('0042'), 42);
  assert.equal(uwsgiContentLength('7 8'), 7);
  assert.equal(uwsgiVarSlots(64), 256);
  assert.deepEqual(UWSGI_DEFAULT_LIMITS, { bufferSize: 4096, maxVars: 256, maxBodyBytes: 0 });
});

test('uwsgi: a vars block that arrives whole is parsed in place; body views share the input', () => {
  const input = encodeUwsgiPacket([['CONTENT_LENGTH', '3']], 'abc');
  let body: Buffer | undefined;
  const parser = new UwsgiParser(
    { onHead() {}, onBody: (chunk) => (body = chunk), onEnd() {}, onError: (e) => assert.fail(e.message) },
    LIMITS,
  );
  parser.push(input);
  assert.equal(body?.buffer, input.buffer);
  assert.equal(parser.finished, true);
});
