import { test } from 'node:test';
import assert from 'node:assert/strict';
import { removeDotSegments, httpHeadToCgiVars, percentDecodeLatin1, type ConnectionInfo } from '../../src/protocol/cgi';
import { Http1Parser, type HttpHead } from '../../src/protocol/http1';

/** Parses one request with the real parser, so the tests see real heads. */
function headOf(request: string): HttpHead {
  let head: HttpHead | undefined;
  const parser = new Http1Parser(
    { onHead: (h) => (head = h), onBody() {}, onEnd() {}, onError: (err) => assert.fail(err.message) },
    { maxHeadBytes: 8192, maxBodyBytes: 0 },
  );
  parser.push(Buffer.from(request, 'latin1'));
  assert.ok(head !== undefined, 'no head parsed');
  return head;
}

const CONN: ConnectionInfo = {
  remoteAddr: '10.0.0.9',
  remotePort: 50123,
  localAddr: '10.0.0.1',
  localPort: 8000,
  scheme: 'http',
};

function cgi(request: string, conn: Partial<ConnectionInfo> = {}): Array<[string, string]> {
  return httpHeadToCgiVars(headOf(request), { ...CONN, ...conn });
}

function cgiMap(request: string, conn: Partial<ConnectionInfo> = {}): Map<string, string> {
  return new Map(cgi(request, conn));
}

test('cgi: a GET gives the full, ordered set of variables', () => {
  const request = 'GET /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n';
  assert.deepEqual(cgi(request), [
    ['REQUEST_METHOD', 'GET'],
    ['REQUEST_URI', '/a%20b/c?x=1&y=%20'],
    ['PATH_INFO', '/a b/c'],
    ['QUERY_STRING', 'x=1&y=%20'],
    ['SCRIPT_NAME', ''],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'example.com'],
    ['SERVER_PORT', '8000'],
    ['REMOTE_ADDR', '10.0.0.9'],
    ['REMOTE_PORT', '50123'],
    ['HTTP_HOST', 'example.com:8080'],
    ['HTTP_USER_AGENT', 't'],
    ['HTTP_ACCEPT', '*/*'],
  ]);
});

test('cgi: a POST over https: HTTPS, CONTENT_TYPE and CONTENT_LENGTH without HTTP_ prefix', () => {
  const request =
    'POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Req: 1\r\nContent-Length: 3\r\n\r\na=1';
  assert.deepEqual(cgi(request, { scheme: 'https', localPort: 8443 }), [
    ['REQUEST_METHOD', 'POST'],
    ['REQUEST_URI', '/form'],
    ['PATH_INFO', '/form'],
    ['QUERY_STRING', ''],
    ['SCRIPT_NAME', ''],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'h'],
    ['SERVER_PORT', '8443'],
    ['REMOTE_ADDR', '10.0.0.9'],
    ['REMOTE_PORT', '50123'],
    ['HTTPS', 'on'],
    ['CONTENT_TYPE', 'application/x-www-form-urlencoded'],
    ['CONTENT_LENGTH', '3'],
    ['HTTP_HOST', 'h'],
    ['HTTP_X_REQ', '1'],
  ]);
});

test('cgi: no HTTPS, CONTENT_TYPE or CONTENT_LENGTH when not applicable', () => {
  const vars = cgiMap('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
  for (const name of ['HTTPS', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) {
    assert.equal(vars.has(name), false, name);
  }
});

test('cgi: CONTENT_LENGTH is the normalised value; a chunked request has none', () => {
  assert.equal(cgiMap('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc').get('CONTENT_LENGTH'), '3');
  assert.equal(cgiMap('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n').get('CONTENT_LENGTH'), '0');
  const chunked = cgiMap('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(chunked.has('CONTENT_LENGTH'), false);
  assert.equal(chunked.get('HTTP_TRANSFER_ENCODING'), 'chunked');
});

test('cgi: SERVER_PROTOCOL follows the request version', () => {
  assert.equal(cgiMap('GET / HTTP/1.0\r\n\r\n').get('SERVER_PROTOCOL'), 'HTTP/1.0');
});

const pathCases: Array<[method: string, target: string, pathInfo: string, query: string]> = [
  ['GET', '/caf%C3%A9', '/caf\u00c3\u00a9', ''],
  ['GET', '/caf%c3%a9', '/caf\u00c3\u00a9', ''],
  ['GET', '/caf\xc3\xa9', '/caf\u00c3\u00a9', ''], // raw UTF-8 bytes arrive the same way
  ['GET', '/a%2Fb', '/a/b', ''],
  ['GET', '/%00x', '/\u0000x', ''],
  ['GET', '/100%', '/100%', ''],
  ['GET', '/%zz%4', '/%zz%4', ''],
  ['GET', '/%%41', '/%A', ''],
  ['GET', '/%2541', '/%41', ''], // decoded once only
  ['GET', '/a+b', '/a+b', ''], // '+' is not a space in a path
  ['GET', '/p?q=%41+b', '/p', 'q=%41+b'], // the query string is not decoded
  ['GET', '/p?a?b', '/p', 'a?b'],
  ['GET', '/p?', '/p', ''],
  // Clients never send fragments; one that arrives is cut off (to the end: RFC 3986 §3.5), as gunicorn, uvicorn and nginx do.
  ['GET', '/p#frag', '/p', ''],
  ['GET', '/a#frag?x', '/a', ''],
  ['GET', '/a?x#frag', '/a', 'x'],
  ['GET', '/a%23b', '/a#b', ''], // an escaped '#' is the path's own
  ['GET', '//double//slash', '//double//slash', ''],
  ['GET', 'http://example.com/x%41?q', '/xA', 'q'],
  ['GET', 'http://example.com', '/', ''],
  ['GET', 'http://example.com?q=1', '/', 'q=1'],
  ['GET', 'http://h.example#f/x', '/', ''], // the authority ends at '#' (RFC 3986 §3.2), as at '/': found by npm run fuzz
  ['GET', 'HTTPS://user@Example.com:443/p/', '/p/', ''],
  ['OPTIONS', '*', '*', ''],
  ['CONNECT', 'example.com:443', '', ''],
];
for (const [method, target, pathInfo, query] of pathCases) {
  test(`cgi: ${method} ${JSON.stringify(target)} → PATH_INFO ${JSON.stringify(pathInfo)}, QUERY_STRING ${JSON.stringify(query)}`, () => {
    const vars = cgiMap(`${method} ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(vars.get('REQUEST_URI'), target);
    assert.equal(vars.get('PATH_INFO'), pathInfo);
    assert.equal(vars.get('QUERY_STRING'), query);
  });
}

const serverCases: Array<[label: string, request: string, conn: Partial<ConnectionInfo>, name: string, port: string]> = [
  ['Host with port, TCP socket', 'GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n', {}, 'example.com', '8000'],
  ['Host without port', 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', {}, 'example.com', '8000'],
  ['IPv6 Host with port', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', {}, '[::1]', '8000'],
  ['IPv6 Host without port', 'GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n', {}, '[::1]', '8000'],
  ['no Host: configured server name', 'GET / HTTP/1.0\r\n\r\n', { serverName: 'srv' }, 'srv', '8000'],
  ['a configured server name (the hostname, as uWSGI) wins over Host', 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', { serverName: 'srv' }, 'srv', '8000'],
  ['no Host, no server name: local address', 'GET / HTTP/1.0\r\n\r\n', {}, '10.0.0.1', '8000'],
  ['empty Host: configured server name', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', { serverName: 'srv' }, 'srv', '8000'],
  ['unix socket: port from Host', 'GET / HTTP/1.1\r\nHost: h:9000\r\n\r\n', { localPort: 0, localAddr: '/run/app.sock' }, 'h', '9000'],
  ['unix socket over https: default 443', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { localPort: 0, scheme: 'https' }, 'h', '443'],
  ['unix socket, no Host: default 80', 'GET / HTTP/1.0\r\n\r\n', { localPort: 0, localAddr: '', serverName: 'srv' }, 'srv', '80'],
];
for (const [label, request, conn, name, port] of serverCases) {
  test(`cgi: SERVER_NAME/SERVER_PORT: ${label}`, () => {
    const vars = cgiMap(request, conn);
    assert.equal(vars.get('SERVER_NAME'), name);
    assert.equal(vars.get('SERVER_PORT'), port);
  });
}

test('cgi: header names become HTTP_ + uppercase with underscores', () => {
  const vars = cgiMap('GET / HTTP/1.1\r\nHost: h\r\nx-custom-THING: v\r\nDNT: 1\r\n\r\n');
  assert.equal(vars.get('HTTP_X_CUSTOM_THING'), 'v');
  assert.equal(vars.get('HTTP_DNT'), '1');
});

// (A second Content-Type never gets here: the parser refuses it.)
test('cgi: repeated headers are joined with ", " in order of first appearance; Cookie with "; "', () => {
  const vars = cgi('GET / HTTP/1.1\r\nAccept: a\r\nHost: h\r\nCookie: a=1\r\naccept: b\r\nCOOKIE: b=2\r\nContent-Type: x\r\n\r\n');
  const headerVars = vars.filter(([name]) => name.startsWith('HTTP_') || name === 'CONTENT_TYPE');
  assert.deepEqual(headerVars, [
    ['CONTENT_TYPE', 'x'],
    ['HTTP_ACCEPT', 'a, b'],
    ['HTTP_HOST', 'h'],
    ['HTTP_COOKIE', 'a=1; b=2'],
  ]);
});

test('cgi: headers with an underscore in the name are dropped (no X_Forwarded_For spoofing)', () => {
  const vars = cgi('GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\nX-Forwarded-For: 1.2.3.4\r\nContent_Type: evil\r\n\r\n');
  const map = new Map(vars);
  assert.equal(map.get('HTTP_X_FORWARDED_FOR'), '1.2.3.4');
  assert.equal(map.has('CONTENT_TYPE'), false);
  assert.equal(vars.filter(([, value]) => value === '6.6.6.6' || value === 'evil').length, 0);
});

test('cgi: values stay latin-1 byte strings', () => {
  assert.equal(cgiMap('GET / HTTP/1.1\r\nHost: h\r\nX-Name: Jos\xe9\r\n\r\n').get('HTTP_X_NAME'), 'Jos\u00e9');
});

test('cgi: percentDecodeLatin1 edge cases', () => {
  assert.equal(percentDecodeLatin1(''), '');
  assert.equal(percentDecodeLatin1('plain'), 'plain');
  assert.equal(percentDecodeLatin1('%'), '%');
  assert.equal(percentDecodeLatin1('%4'), '%4');
  assert.equal(percentDecodeLatin1('%41%42%43'), 'ABC');
  assert.equal(percentDecodeLatin1('%FF%fe'), '\u00ff\u00fe');
  assert.equal(percentDecodeLatin1('a%g1%41'), 'a%g1A');
});

test('cgi: dot segments are removed before decoding, as uWSGI does', () => {
  const cases: Array<[string, string]> = [
    ['/env//double//slash/./x/../y', '/env//double//slash/y'],
    ['/env/a/%2e%2e/b/./c/..', '/env/a/%2e%2e/b/'],
    ['/a/b/../../..', '/'],
    ['/..', '/'],
    ['/a/.', '/a/'],
    ['/plain/path', '/plain/path'],
    ['/file.txt', '/file.txt'],
    ['/a/..b/c', '/a/..b/c'],
  ];
  for (const [input, expected] of cases) assert.equal(removeDotSegments(input), expected, input);
});
