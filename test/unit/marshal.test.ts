import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MarshalOverflow, MarshalWriter } from '../../src/worker/python/marshal';

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
