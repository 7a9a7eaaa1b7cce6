// Static files: the pure parts (mapping, hostile paths, conditional requests, ranges, expires, encodings, mime).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapping, type StaticMount } from '../../src/worker/static/config';
import { staticRequestFromHead, staticRequestFromVars } from '../../src/worker/static/http';
import { httpHeadToCgiVars } from '../../src/protocol/cgi';
import { Http1Parser, type HttpHead } from '../../src/protocol/http1';
import { hostilePath, isInside, nodeFs, pathUnderMount, StaticResolver, type StaticFs } from '../../src/worker/static/resolve';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/tmp';
import { etagFor, httpDate, parseRange, planStaticResponse, type FileFacts, type StaticRequest } from '../../src/worker/static/http';
import { acceptedEncodings, cacheHeaders, compileExpires, makeGzipCheck } from '../../src/worker/static/policy';
import { contentTypeHeader, mimeTypeFor, parseMimeTypes } from '../../src/worker/static/mime';
import { staticExtraHeaders } from '../../src/worker/static/server';

const abs = (p: string): string => (p.startsWith('/') ? p : `/base/${p}`);
const strip = (v: string): StaticMount => mapping(v, 'static-map', abs);
const append = (v: string): StaticMount => mapping(v, 'static-map2', abs);

test('static-map strips the mountpoint, static-map2 appends the whole path, at segment boundaries only', () => {
  assert.deepEqual(strip('/static=dir'), { mount: '/static', root: '/base/dir', mode: 'strip', option: 'static-map' });
  assert.equal(pathUnderMount('/static/css/a.css', strip('/static=/d')), '/css/a.css');
  assert.equal(pathUnderMount('/static', strip('/static=/d')), '');
  assert.equal(pathUnderMount('/staticfoo/a.css', strip('/static=/d')), null); // uWSGI would serve /d/foo/a.css
  assert.equal(pathUnderMount('/other/a.css', strip('/static=/d')), null);
  assert.equal(pathUnderMount('/static/a.css', strip('/static/=/d')), '/a.css');
  assert.equal(pathUnderMount('/a.css', strip('/=/d')), '/a.css');
  assert.equal(pathUnderMount('/static/a.css', append('/static=/d')), '/static/a.css');
  assert.equal(pathUnderMount('/anything', { mount: '', root: '/d', mode: 'append', option: 'check-static' }), '/anything');
  assert.throws(() => strip('/static'), /invalid document root in static map/);
});

test('hostile paths are never looked up (PATH_INFO is already percent-decoded)', () => {
  const hostile = ['/../etc/passwd', '/a/../../etc/passwd', '/..', '/a/./b', '/a\\..\\b', '/a\0.css', '/..%2f', '/static/../x'];
  for (const p of hostile.filter((h) => h !== '/..%2f')) assert.equal(hostilePath(p), true, p);
  // "%2e%2e" and "%2f" arrive decoded as ".." and "/", so they are the cases above; a literal "..%2f" segment is just a name
  for (const p of ['/a.css', '/.hidden', '/a..b', '/...', '/dir/', '']) assert.equal(hostilePath(p), false, p);
});

test('inside a directory means at a segment boundary', () => {
  assert.equal(isInside('/srv/static/a', '/srv/static'), true);
  assert.equal(isInside('/srv/static', '/srv/static'), true);
  assert.equal(isInside('/srv/static2/a', '/srv/static'), false);
  assert.equal(isInside('/etc/passwd', '/'), true);
});

const MTIME = 1_700_000_000;
const facts = (over: Partial<FileFacts> = {}): FileFacts => ({ size: 1000, mtimeSeconds: MTIME, contentType: 'text/css; charset=utf-8', vary: false, cacheHeaders: '', extraHeaders: '', ...over });
const get = (over: Partial<StaticRequest> = {}): StaticRequest => ({ method: 'GET', pathInfo: '/a.css', uri: '/a.css', ...over });
const ETAG = etagFor(MTIME, 1000);
const LM = httpDate(MTIME);

test('validators: Last-Modified and a strong ETag, as nginx', () => {
  assert.equal(LM, 'Tue, 14 Nov 2023 22:13:20 GMT');
  assert.equal(ETAG, '"6553f100-3e8"');
  const p = planStaticResponse(get(), facts());
  assert.equal(p.status, 200);
  assert.match(p.headers, /^Content-Type: text\/css; charset=utf-8\r\nContent-Length: 1000\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nETag: "6553f100-3e8"\r\nAccept-Ranges: bytes\r\n$/);
  assert.deepEqual([p.start, p.length, p.sendBody], [0, 1000, true]);
  assert.equal(planStaticResponse(get({ method: 'HEAD' }), facts()).sendBody, false);
});

test('conditional requests: If-None-Match decides before If-Modified-Since; 412 for failed preconditions', () => {
  const status = (r: Partial<StaticRequest>): number => planStaticResponse(get(r), facts()).status;
  assert.equal(status({ ifModifiedSince: LM }), 304);
  assert.equal(status({ ifModifiedSince: httpDate(MTIME + 10) }), 304);
  assert.equal(status({ ifModifiedSince: httpDate(MTIME - 1) }), 200);
  assert.equal(status({ ifModifiedSince: 'garbage' }), 200);
  assert.equal(status({ ifNoneMatch: ETAG }), 304);
  assert.equal(status({ ifNoneMatch: `"x", W/${ETAG}` }), 304);
  assert.equal(status({ ifNoneMatch: '*' }), 304);
  assert.equal(status({ ifNoneMatch: '"other"', ifModifiedSince: LM }), 200);
  assert.equal(status({ ifMatch: '"other"' }), 412);
  assert.equal(status({ ifMatch: ETAG }), 200);
  assert.equal(status({ ifUnmodifiedSince: httpDate(MTIME - 1) }), 412);
  const p304 = planStaticResponse(get({ ifNoneMatch: ETAG }), facts({ cacheHeaders: 'Expires: x\r\n' }));
  assert.equal(p304.headers, `Last-Modified: ${LM}\r\nETag: ${ETAG}\r\nExpires: x\r\n`);
  assert.equal(p304.sendBody, false);
});

test('ranges: one range is 206, several multipart (as nginx), unsatisfiable 416, If-Range must match', () => {
  assert.deepEqual(parseRange('bytes=0-9', 1000), { kind: 'single', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=990-', 1000), { kind: 'single', start: 990, end: 999 });
  assert.deepEqual(parseRange('bytes=-10', 1000), { kind: 'single', start: 990, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'single', start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=900-5000', 1000), { kind: 'single', start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-1,5-6', 1000), { kind: 'multi', ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }] });
  assert.deepEqual(parseRange('bytes=5-6, ,0-1', 1000), { kind: 'multi', ranges: [{ start: 5, end: 6 }, { start: 0, end: 1 }] });
  assert.deepEqual(parseRange('bytes=0-1,2000-3000', 1000), { kind: 'single', start: 0, end: 1 });
  assert.deepEqual(parseRange('bytes=2000-,3000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-599,400-999', 1000), { kind: 'none' }); // 1200 bytes asked of 1000: the whole file
  assert.deepEqual(parseRange('bytes=0-1,x-2', 1000), { kind: 'none' });
  assert.deepEqual(parseRange('bytes=9-1', 1000), { kind: 'none' });
  assert.deepEqual(parseRange('items=0-1', 1000), { kind: 'none' });
  assert.deepEqual(parseRange('bytes=x-1', 1000), { kind: 'none' });
  const p = planStaticResponse(get({ range: 'bytes=10-19' }), facts());
  assert.equal(p.status, 206);
  assert.match(p.headers, /Content-Length: 10\r\nContent-Range: bytes 10-19\/1000\r\n/);
  assert.deepEqual([p.start, p.length], [10, 10]);
  const u = planStaticResponse(get({ range: 'bytes=2000-' }), facts());
  assert.equal(u.status, 416);
  assert.match(u.headers, /Content-Range: bytes \*\/1000\r\n/);
  assert.equal(planStaticResponse(get({ range: 'bytes=0-1', ifRange: ETAG }), facts()).status, 206);
  assert.equal(planStaticResponse(get({ range: 'bytes=0-1', ifRange: LM }), facts()).status, 206);
  assert.equal(planStaticResponse(get({ range: 'bytes=0-1', ifRange: '"old"' }), facts()).status, 200);
  assert.equal(planStaticResponse(get({ range: 'bytes=0-1', ifRange: httpDate(MTIME - 5) }), facts()).status, 200);
});

test('expires rules: uWSGI order (file, path-info, uri, type), -mtime from the file time, plus Cache-Control', () => {
  const rules = compileExpires([
    { subject: 'file', pattern: '\\.png$', seconds: 60, fromMtime: false },
    { subject: 'uri', pattern: '^/v/', seconds: 100, fromMtime: true },
    { subject: 'type', pattern: 'text/css', seconds: 3600, fromMtime: false },
  ]);
  const now = MTIME + 1000;
  const s = (file: string, uri: string, type: string) => cacheHeaders(rules, { file, 'path-info': uri, uri, type }, MTIME, now);
  assert.equal(s('/d/a.png', '/a.png', 'image/png'), `Expires: ${httpDate(now + 60)}\r\nCache-Control: max-age=60\r\n`);
  assert.equal(s('/d/a.js', '/v/a.js', 'text/javascript'), `Expires: ${httpDate(MTIME + 100)}\r\nCache-Control: max-age=0\r\n`);
  assert.equal(s('/d/a.css', '/a.css', 'text/css'), `Expires: ${httpDate(now + 3600)}\r\nCache-Control: max-age=3600\r\n`);
  assert.equal(s('/d/a.txt', '/a.txt', 'text/plain'), '');
});

test('encodings: q=0 refuses, * accepts; gzip checks as uWSGI (all, dir prefix, suffix, regexp)', () => {
  assert.deepEqual(acceptedEncodings('gzip, deflate, br'), { gzip: true, br: true });
  assert.deepEqual(acceptedEncodings('gzip;q=0, br;q=0.5'), { gzip: false, br: true });
  assert.deepEqual(acceptedEncodings(undefined), { gzip: false, br: false });
  assert.equal(makeGzipCheck({ all: false, dirs: [], exts: [], regexps: [] }), null);
  const check = makeGzipCheck({ all: false, dirs: ['/srv/assets'], exts: ['.js'], regexps: ['\\.svg$'] });
  assert.ok(check);
  assert.deepEqual(['/srv/assets/a.png', '/x/a.js', '/x/a.svg', '/x/a.png'].map(check), [true, true, true, false]);
});

test('mime types: mime.types syntax, first entry wins, case fallback, charset for text types only', () => {
  const table = parseMimeTypes('# comment\ntext/css\t\t\t\tcss\napplication/javascript js mjs\nimage/png png\ntext/x-other css\n');
  assert.equal(mimeTypeFor(table, '/a/b.css'), 'text/css');
  assert.equal(mimeTypeFor(table, '/a/B.PNG'), 'image/png');
  assert.equal(mimeTypeFor(table, '/a.d/noext'), undefined);
  assert.equal(mimeTypeFor(table, '/a/x.unknown'), undefined);
  assert.equal(contentTypeHeader('text/css'), 'text/css; charset=utf-8');
  assert.equal(contentTypeHeader('application/javascript'), 'application/javascript; charset=utf-8');
  assert.equal(contentTypeHeader('image/svg+xml'), 'image/svg+xml; charset=utf-8');
  assert.equal(contentTypeHeader('image/png'), 'image/png');
});

test('add-header lines for static responses', () => {
  assert.equal(staticExtraHeaders(['X-A: 1', 'X-B:two words', 'broken', 'X-C: a\r\nInjected: 1']), 'X-A: 1\r\nX-B: two words\r\n');
});

test('static-cache-paths: real paths are remembered for N seconds, then looked up again', () => {
  const dir = makeTempDir('nuwsgi-static-cache-');
  writeFileSync(join(dir, 'a.css'), 'x');
  let realpaths = 0;
  const counting: StaticFs = { realpath: (p) => (realpaths++, nodeFs.realpath(p)), stat: (p) => nodeFs.stat(p) };
  let now = 1_000_000;
  const resolver = new StaticResolver({ mounts: [strip(`/s=${dir}`)], index: [], safe: [], cacheSeconds: 10, log: () => undefined, fs: counting, now: () => now });
  assert.equal(resolver.resolve('/s/a.css')?.file, join(realpathSync(dir), 'a.css'));
  const afterFirst = realpaths;
  resolver.resolve('/s/a.css');
  assert.equal(realpaths, afterFirst, 'the second lookup is cached');
  now += 11_000;
  resolver.resolve('/s/a.css');
  assert.equal(realpaths, afterFirst + 1, 'expired: looked up again');
  assert.equal(resolver.resolve('/s/missing.css'), null);
});

test('the static request read from an HTTP head is the one read from the CGI variables that head makes', () => {
  const heads: HttpHead[] = [];
  const parser = new Http1Parser({ onHead: (h) => heads.push(h), onBody: () => undefined, onEnd: () => undefined, onError: (e) => assert.fail(e.message) }, { maxHeadBytes: 65536, maxBodyBytes: 0 });
  const requests = [
    'GET /s/a%20b.css?x=1 HTTP/1.1\r\nHost: h\r\nIf-None-Match: "a"\r\nif-none-match: "b"\r\nRange: bytes=0-1\r\nIf-Range: "a"\r\nAccept-Encoding: gzip, br\r\n\r\n',
    'HEAD /s/./x/../a.css HTTP/1.0\r\nIf-Modified-Since: Tue, 01 Dec 2026 21:24:35 GMT\r\nIf-Unmodified-Since: x\r\nIf-Match: *\r\nIf_Match: spoof\r\nConstructor: x\r\nRange:\r\n\r\n',
    'GET http://h/s/a.css HTTP/1.1\r\nHost: h\r\n\r\n',
    'POST /s/a.css HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
  ];
  for (const text of requests) parser.push(Buffer.from(text, 'latin1'));
  assert.equal(heads.length, requests.length);
  for (const head of heads) {
    const vars = httpHeadToCgiVars(head, { remoteAddr: '127.0.0.1', remotePort: 1, localAddr: '127.0.0.1', localPort: 80, scheme: 'http' });
    assert.deepEqual(staticRequestFromHead(head), staticRequestFromVars(vars), head.target);
  }
});
