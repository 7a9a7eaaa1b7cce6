import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server';
import { MarshalWriter } from '../../src/worker/python/marshal';
import { SCOPE_FLAG, scopeFlags, writeScope } from '../../src/worker/asgi/scope';
import type { Exchange } from '../../src/worker/exchange';

/** The scope tuple as python3's marshal reads it, bytes as latin-1 text, printed as JSON. */
function pythonLoads(blob: Buffer): unknown {
  const code =
    'import sys, marshal, json\n' +
    'def show(x):\n' +
    '    if isinstance(x, bytes): return {"b": x.decode("latin-1")}\n' +
    '    if isinstance(x, (tuple, list)): return {type(x).__name__: [show(i) for i in x]}\n' +
    '    return x\n' +
    'print(json.dumps(show(marshal.loads(sys.stdin.buffer.read()))))';
  return JSON.parse(execFileSync('python3', ['-c', code], { input: blob }).toString());
}

function scopeBlob(ex: Partial<Exchange>, scheme: 'http' | 'https' = 'http'): { decoded: unknown; flags: number } {
  const buf = Buffer.alloc(1 << 16);
  const w = new MarshalWriter(buf, 0);
  const flags = writeScope(w, ex as Exchange, scheme);
  return { decoded: pythonLoads(buf.subarray(0, w.offset)), flags };
}

const b = (s: string): { b: string } => ({ b: s });
const pair = (n: string, v: string): unknown => ({ tuple: [b(n), b(v)] });

function httpExchange(pathInfo: string, headers: Array<[string, string]>, uri = '/x?q=1'): Partial<Exchange> {
  return {
    method: 'GET',
    uri,
    remoteAddr: '127.0.0.1',
    raw: false,
    clientHttp11: true,
    vars: [['REQUEST_URI', uri], ['PATH_INFO', pathInfo], ['QUERY_STRING', 'q=1'], ['SCRIPT_NAME', ''], ['SERVER_NAME', 'box'], ['SERVER_PORT', '80']],
    http: { version: '1.1', headers, remotePort: 5555, local: () => ({ address: '10.0.0.1', port: 8000 }) },
  };
}

test('HTTP socket: the parsed headers, one pair each in order, names lowercased, values as bytes', () => {
  const long = 'v'.repeat(100) + '\xe9';
  const { decoded, flags } = scopeBlob(httpExchange('/x', [['Host', 'h'], ['X-A', '1'], ['Cookie', 'a=1'], ['x-a', '2'], ['X-L', 'caf\xe9'], ['X-Long', long]]));
  assert.equal(flags, 0);
  assert.deepEqual(decoded, {
    tuple: [
      '1.1', 'GET', 'http', '/x', b('/x'), b('q=1'), '',
      { list: [pair('host', 'h'), pair('x-a', '1'), pair('cookie', 'a=1'), pair('x-a', '2'), pair('x-l', 'caf\xe9'), pair('x-long', long)] },
      { tuple: ['127.0.0.1', 5555] },
      { tuple: ['10.0.0.1', 8000] },
    ],
  });
});

test('the path: ASCII and valid UTF-8 as str, anything else as bytes with PATH_BYTES; raw_path of an absolute-form target', () => {
  const utf8 = scopeBlob(httpExchange('/caf\xc3\xa9', [], 'http://example.com/caf%C3%A9?q=1'));
  assert.deepEqual((utf8.decoded as { tuple: unknown[] }).tuple.slice(3, 5), ['/café', b('/caf%C3%A9')]);
  assert.equal(utf8.flags, 0);
  const bad = scopeBlob(httpExchange('/bad\xff', []));
  assert.deepEqual((bad.decoded as { tuple: unknown[] }).tuple[3], b('/bad\xff'));
  assert.equal(bad.flags, SCOPE_FLAG.PATH_BYTES);
});

test('raw_path stops at a fragment, as at the query (uvicorn: path and raw_path without "#...")', () => {
  const { decoded } = scopeBlob(httpExchange('/a', [], '/a?q=1#frag'));
  assert.deepEqual((decoded as { tuple: unknown[] }).tuple.slice(3, 5), ['/a', b('/a')]);
});

test('uwsgi protocol: headers from the CGI variables, duplicates kept, an empty CONTENT_TYPE is none', () => {
  const vars: Array<[string, string]> = [
    ['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/app/x?q=1'], ['PATH_INFO', '/x'], ['SCRIPT_NAME', '/app'], ['QUERY_STRING', 'q=1'],
    ['SERVER_PROTOCOL', 'HTTP/1.0'], ['REMOTE_ADDR', '10.1.1.1'], ['REMOTE_PORT', '4444'], ['SERVER_NAME', 'site'], ['SERVER_PORT', '443'],
    ['CONTENT_TYPE', ''], ['CONTENT_LENGTH', '3'], ['HTTP_X_A', '1'], ['HTTP_X_A', '2'], ['HTTP_ACCEPT_LANGUAGE', 'fr'], ['UWSGI_SCHEME', 'https'],
  ];
  const { decoded } = scopeBlob({ method: 'POST', uri: '/app/x?q=1', remoteAddr: '10.1.1.1', raw: true, vars }, 'https');
  assert.deepEqual(decoded, {
    tuple: [
      '1.0', 'POST', 'https', '/x', b('/app/x'), b('q=1'), '/app',
      { list: [pair('content-length', '3'), pair('x-a', '1'), pair('x-a', '2'), pair('accept-language', 'fr')] },
      { tuple: ['10.1.1.1', 4444] },
      { tuple: ['site', 443] },
    ],
  });
});

test('flags: a streamed body; trailers (TE: trailers) and early hints only for an HTTP/1.1 client on the HTTP socket', () => {
  const te: Partial<Exchange> = { raw: false, clientHttp11: true, vars: [['HTTP_TE', 'gzip, trailers']] };
  assert.equal(scopeFlags(te as Exchange), SCOPE_FLAG.TRAILERS | SCOPE_FLAG.EARLY_HINTS);
  assert.equal(scopeFlags({ ...te, vars: [] } as Exchange), SCOPE_FLAG.EARLY_HINTS);
  assert.equal(scopeFlags({ ...te, clientHttp11: false } as Exchange), 0);
  assert.equal(scopeFlags({ ...te, raw: true } as Exchange), 0);
  assert.equal(scopeFlags({ raw: true, vars: [], stream: {} } as unknown as Exchange), SCOPE_FLAG.BODY_STREAM);
});

test('the flag bits are the ones python/_nuwsgi_asgi.py tests', () => {
  const py = readFileSync(join(repoRoot(), 'python', '_nuwsgi_asgi.py'), 'utf8');
  const names: Record<string, number> = { BODY_STREAM: SCOPE_FLAG.BODY_STREAM, TRAILERS: SCOPE_FLAG.TRAILERS, PATH_BYTES: SCOPE_FLAG.PATH_BYTES, EARLY_HINTS: SCOPE_FLAG.EARLY_HINTS };
  for (const [name, bit] of Object.entries(names)) assert.match(py, new RegExp(`^FLAG_${name} = ${bit}$`, 'm'), name);
});

test('HTTP socket, variables never built (no routing, no log): the scope comes from the head alone, the same as from the variables', () => {
  const headers: Array<[string, string]> = [['Host', 'h'], ['TE', 'gzip'], ['te', 'trailers']];
  const uri = '/a/./b/%7Ex?q=1';
  const built = httpExchange('/a/b/~x', headers, uri);
  built.vars = [...(built.vars as Array<[string, string]>), ['HTTP_TE', 'gzip, trailers']];
  const lazy: Partial<Exchange> = {
    ...built,
    varsBuilt: false,
    head: { method: 'GET', target: uri, version: '1.1', headers, contentLength: -1, chunked: false, keepAlive: true, expectContinue: false, headBytes: 0 },
  };
  Object.defineProperty(lazy, 'vars', { get: () => assert.fail('the variables were built') });
  assert.deepEqual(scopeBlob(lazy), scopeBlob(built));
  assert.equal(scopeFlags(lazy as Exchange), scopeFlags(built as Exchange));
  assert.equal(scopeFlags(lazy as Exchange) & SCOPE_FLAG.TRAILERS, SCOPE_FLAG.TRAILERS);
  // A unix socket has no local address: SERVER_NAME and SERVER_PORT are asked of the variables then.
  let asked = 0;
  const unix: Partial<Exchange> = { ...built, varsBuilt: false, head: lazy.head, http: { ...(built.http as NonNullable<Exchange['http']>), local: () => ({ address: '', port: 0 }) } };
  Object.defineProperty(unix, 'vars', { get: () => (asked++, built.vars) });
  const decoded = scopeBlob(unix).decoded as { tuple: unknown[] };
  assert.deepEqual(decoded.tuple[9], { tuple: ['box', 80] });
  assert.equal(asked, 1);
});
