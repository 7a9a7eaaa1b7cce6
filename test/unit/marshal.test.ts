import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MarshalOverflow, MarshalWriter } from '../../src/worker/python/marshal';
import { encodeUwsgiPacket, indexUwsgiVars, u16, UwsgiVars } from '../../src/protocol/uwsgi';

/** Decode with the real thing: python3's marshal, and print the result as JSON. */
function pythonLoads(blob: Buffer): unknown {
  const code =
    'import sys, marshal, json\n' +
    'env, body = marshal.loads(sys.stdin.buffer.read())\n' +
    'print(json.dumps({"env": env, "body": body if body is None or isinstance(body, str) else list(body)}))';
  return JSON.parse(execFileSync('python3', ['-c', code], { input: blob }).toString());
}

function encode(vars: Array<[string, string]>, body: Buffer | string | null): Buffer {
  const buf = Buffer.alloc(1 << 16);
  const w = new MarshalWriter(buf, 0);
  w.tuple(2);
  w.beginDict();
  for (const [k, v] of vars) {
    w.key(k);
    w.str(v);
  }
  w.endDict();
  if (body === null) w.none();
  else if (typeof body === 'string') w.str(body);
  else w.bytes(body);
  return buf.subarray(0, w.offset);
}

test('python decodes our marshal: ascii, latin-1 and long strings, bytes, None', () => {
  const long = 'x'.repeat(300);
  const vars: Array<[string, string]> = [
    ['PATH_INFO', '/caf\u00c3\u00a9'],
    ['QUERY_STRING', ''],
    ['HTTP_X_LONG', long],
  ];
  assert.deepEqual(pythonLoads(encode(vars, Buffer.from([0, 1, 255]))), {
    env: { PATH_INFO: '/caf\u00c3\u00a9', QUERY_STRING: '', HTTP_X_LONG: long },
    body: [0, 1, 255],
  });
  assert.deepEqual(pythonLoads(encode([], null)), { env: {}, body: null });
  assert.deepEqual(pythonLoads(encode([], '/tmp/spool')), { env: {}, body: '/tmp/spool' });
});

test('a request larger than the region is refused, never written past the end', () => {
  const w = new MarshalWriter(Buffer.alloc(8), 0);
  assert.throws(() => w.str('0123456789'), MarshalOverflow);
});

test('a uwsgi packet marshalled from its bytes is the same as from its strings', () => {
  const vars: Array<[string, string]> = [
    ['REQUEST_METHOD', 'GET'],
    ['PATH_INFO', '/caf\u00c3\u00a9\u00ff'],
    ['QUERY_STRING', ''],
    ['HTTP_X_MID', 'm'.repeat(33)],
    ['HTTP_X_LONG', 'y'.repeat(255)],
    ['HTTP_X_LONGER', 'z'.repeat(300)],
    ['QUERY_STRING', 'dup=1'],
  ];
  const packet = encodeUwsgiPacket(vars);
  const first = indexUwsgiVars(packet.subarray(4), 64);
  assert.ok(first instanceof UwsgiVars);
  let indexed: UwsgiVars = first;
  const fromBytes = (short: boolean): Buffer => {
    const buf = Buffer.alloc(1 << 16);
    const w = new MarshalWriter(buf, 0);
    w.tuple(2);
    w.beginDict();
    if (short) w.shortLatin1Block(indexed.block);
    else {
      for (let pos = 0; pos < indexed.block.length; ) {
        const keyEnd = pos + 2 + u16(indexed.block, pos);
        const valueEnd = keyEnd + 2 + u16(indexed.block, keyEnd);
        w.latin1Span(indexed.block, pos + 2, keyEnd);
        w.latin1Span(indexed.block, keyEnd + 2, valueEnd);
        pos = valueEnd;
      }
    }
    w.endDict();
    w.none();
    return buf.subarray(0, w.offset);
  };
  assert.equal(indexed.allShort, false);
  assert.deepEqual(fromBytes(false), encode(vars, null));
  assert.deepEqual(indexed.pairs(), vars);
  assert.equal((pythonLoads(fromBytes(false)) as { env: Record<string, string> }).env['QUERY_STRING'], 'dup=1');
  // Without the 300-byte value every string is short: the block is copied whole and its lengths rewritten.
  const short = vars.filter(([k]) => k !== 'HTTP_X_LONGER');
  const shortIndexed = indexUwsgiVars(encodeUwsgiPacket(short).subarray(4), 64);
  assert.ok(shortIndexed instanceof UwsgiVars && shortIndexed.allShort);
  indexed = shortIndexed;
  assert.deepEqual(fromBytes(true), encode(short, null));
  assert.deepEqual(fromBytes(false), encode(short, null));
});
