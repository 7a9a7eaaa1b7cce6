// Seeds and mutations for the fuzzers (scripts/fuzz.mjs, docs/fuzzing.md).
//
// Everything is driven by one seeded PRNG, so a run is reproducible from its
// seed; inputs that fail are saved anyway, since a server run also depends on
// timing.
import { encodeUwsgiPacket } from '../../src/protocol/uwsgi';

/** mulberry32: small, fast, good enough to pick mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------
// HTTP seeds: valid requests, then the classic smuggling pairs.

export const HTTP_PATHS = ['/echo', '/stream', '/error', '/', '/resp'];

function httpGet(path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: fuzz.local\r\n${extra}\r\n`;
}

function httpPost(body: string, path = '/echo', extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: fuzz.local\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}

function chunked(body: string[], path = '/echo', trailer = ''): string {
  const chunks = body.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
  return `POST ${path} HTTP/1.1\r\nHost: fuzz.local\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n${trailer}\r\n`;
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: fuzz.local\r\n\r\n';

/** Transfer-Encoding spellings that some parser, somewhere, has read as chunked. */
export const TE_OBFUSCATIONS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: CHUNKED',
  'Transfer-encoding: chunked',
  'Transfer-Encoding: \x0bchunked',
  'Transfer-Encoding: chunked\x00',
  'Transfer-Encoding: "chunked"',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: x',
  'Transfer-Encoding: x\r\nTransfer-Encoding: chunked',
  'Transfer-Encoding: chunked, chunked',
  'Transfer-Encoding:\r\n chunked',
  'X-Padding: y\r\n\tTransfer-Encoding: chunked',
  ' Transfer-Encoding: chunked',
  'Transfer_Encoding: chunked',
  'Transfer-Encoding: chunked\n',
  'Transfer-Encoding\x00: chunked',
];

export const CL_VARIANTS = [
  'Content-Length: 5',
  'Content-Length: 5\r\nContent-Length: 6',
  'Content-Length: 5\r\nContent-Length: 5',
  'Content-Length: 5, 5',
  'Content-Length: 5, 6',
  'Content-Length: +5',
  'Content-Length: 0x5',
  'Content-Length: 5 ',
  'Content-Length:  5',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 9007199254740993',
  'Content-Length: 1e3',
  'Content-Length: ',
  'Content-Length : 5',
  'Content-Length: 05',
];

export const CHUNK_SIZE_VARIANTS = [
  'ffffffffffffffffff', '10000000000000000', '1fffffffffffff', '20000000000000', '0000000000000000005',
  '5;ext=1', '5 ;ext', '5 ', ' 5', '5\x00', '-5', '0x5', '5;\x01', '+5', '5;a="b"', '',
];

/** CL.TE, TE.CL, TE.TE and CL.CL pairs: a front request with a second request hidden in its body. */
export function smugglingSeeds(): Buffer[] {
  const seeds: string[] = [];
  const inner = `0\r\n\r\n${SMUGGLED}`;
  for (const te of TE_OBFUSCATIONS) {
    // CL.TE: a CL-framing front end forwards it all; a TE back end sees two requests.
    seeds.push(`POST /echo HTTP/1.1\r\nHost: fuzz.local\r\nContent-Length: ${inner.length}\r\n${te}\r\n\r\n${inner}`);
    // TE.CL: a short CL, a chunk that holds the second request.
    const chunk = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    seeds.push(`POST /echo HTTP/1.1\r\nHost: fuzz.local\r\nContent-Length: 4\r\n${te}\r\n\r\n${chunk}`);
    // TE only, obfuscated.
    seeds.push(`POST /echo HTTP/1.1\r\nHost: fuzz.local\r\n${te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`);
  }
  for (const cl of CL_VARIANTS) {
    seeds.push(`POST /echo HTTP/1.1\r\nHost: fuzz.local\r\n${cl}\r\n\r\nhello${SMUGGLED}`);
  }
  for (const size of CHUNK_SIZE_VARIANTS) {
    seeds.push(`POST /echo HTTP/1.1\r\nHost: fuzz.local\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n${SMUGGLED}`);
  }
  return seeds.map(b);
}

export function httpSeeds(): Buffer[] {
  const seeds = [
    httpGet('/'),
    httpGet('/echo?x=1', 'Accept: */*\r\nUser-Agent: fuzz\r\n'),
    httpGet('/stream?n=3'),
    httpGet('/error'),
    httpPost('hello world'),
    httpPost('a=1&b=2', '/echo', 'Content-Type: application/x-www-form-urlencoded\r\n'),
    httpPost('x'.repeat(300), '/echo', 'Expect: 100-continue\r\n'),
    chunked(['hello', ' ', 'world']),
    chunked(['abc'], '/echo', 'X-Trailer: 1\r\n'),
    'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    'GET / HTTP/1.0\r\n\r\n',
    httpGet('/', 'Connection: close\r\n'),
    httpGet('/') + httpPost('abc') + httpGet('/stream?n=2'),
    httpPost('abc') + httpGet('/echo', 'Connection: close\r\n') + httpGet('/'),
    'OPTIONS * HTTP/1.1\r\nHost: fuzz.local\r\n\r\n',
    'CONNECT fuzz.local:443 HTTP/1.1\r\nHost: fuzz.local:443\r\n\r\n',
    'GET http://fuzz.local/echo HTTP/1.1\r\nHost: fuzz.local\r\n\r\n',
    '\r\n\r\n' + httpGet('/'),
    httpGet('/echo', 'X-Long: ' + 'v'.repeat(2000) + '\r\n'),
  ];
  return seeds.map(b).concat(smugglingSeeds());
}

// ---------------------------------------------------------------------------
// uwsgi seeds

export function uwsgiVars(method: string, path: string, body: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  const [pathInfo, query = ''] = path.split('?');
  return [
    ['REQUEST_METHOD', method],
    ['REQUEST_URI', path],
    ['PATH_INFO', pathInfo!],
    ['QUERY_STRING', query],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'fuzz.local'],
    ['SERVER_PORT', '80'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['HTTP_HOST', 'fuzz.local'],
    ['CONTENT_LENGTH', String(body.length)],
    ...extra,
  ];
}

export function uwsgiSeeds(): Buffer[] {
  const seeds: Buffer[] = [
    encodeUwsgiPacket(uwsgiVars('GET', '/', '')),
    encodeUwsgiPacket(uwsgiVars('POST', '/echo', 'hello'), 'hello'),
    encodeUwsgiPacket(uwsgiVars('GET', '/stream?n=3', '')),
    encodeUwsgiPacket(uwsgiVars('GET', '/error', '')),
    encodeUwsgiPacket(uwsgiVars('POST', '/echo', 'x'.repeat(500), [['CONTENT_TYPE', 'text/plain']]), 'x'.repeat(500)),
    encodeUwsgiPacket([...uwsgiVars('POST', '/echo', 'abc'), ['CONTENT_LENGTH', '12abc']], 'abc'),
    encodeUwsgiPacket([...uwsgiVars('GET', '/', ''), ['HTTP_X', 'y'.repeat(1000)]]),
    encodeUwsgiPacket([['REQUEST_METHOD', 'GET']]),
  ];
  return seeds;
}

// ---------------------------------------------------------------------------
// Mutations. Each takes a buffer and returns a new one; mutateOnce picks one.

const INTERESTING_BYTES = [0x00, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x22, 0x30, 0x39];
const INTERESTING_NUMBERS = ['0', '1', '-1', '65535', '65536', '4294967296', '9007199254740991', '9007199254740993', '99999999999999999999', 'ffffffff', '00000000000000000000001', ''];
const INSERTS = ['\r\n', '\n', '\r', '\x00', ' ', '\t', ':', ',', '\r\n\r\n', '\r\n ', 'chunked', 'Content-Length: 3\r\n',
  'Transfer-Encoding: chunked\r\n', 'Host: other\r\n', 'Connection: close\r\n', 'Expect: 100-continue\r\n', SMUGGLED, '0\r\n\r\n'];

export type Mutator = (rng: Rng, input: Buffer, seeds: readonly Buffer[]) => Buffer;

function flipByte(rng: Rng, input: Buffer): Buffer {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const i = rng.int(out.length);
  out[i] = out[i]! ^ (1 << rng.int(8));
  return out;
}

function setInterestingByte(rng: Rng, input: Buffer): Buffer {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
  return out;
}

function insertText(rng: Rng, input: Buffer): Buffer {
  const at = rng.int(input.length + 1);
  return Buffer.concat([input.subarray(0, at), b(rng.pick(INSERTS)), input.subarray(at)]);
}

function insertRandomBytes(rng: Rng, input: Buffer): Buffer {
  const at = rng.int(input.length + 1);
  const bytes = Buffer.alloc(1 + rng.int(8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
  return Buffer.concat([input.subarray(0, at), bytes, input.subarray(at)]);
}

function deleteRange(rng: Rng, input: Buffer): Buffer {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const len = 1 + rng.int(Math.min(16, input.length - at));
  return Buffer.concat([input.subarray(0, at), input.subarray(at + len)]);
}

function duplicateRange(rng: Rng, input: Buffer): Buffer {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const len = 1 + rng.int(Math.min(64, input.length - at));
  return Buffer.concat([input.subarray(0, at + len), input.subarray(at, at + len), input.subarray(at + len)]);
}

/** The lines of the first head (up to the first empty line), as latin-1 strings. */
function splitHead(input: Buffer): { lines: string[]; rest: string } | null {
  const text = input.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return null;
  return { lines: text.slice(0, end).split('\r\n'), rest: text.slice(end + 4) };
}

function joinHead(lines: string[], rest: string): Buffer {
  return b(lines.join('\r\n') + '\r\n\r\n' + rest);
}

function duplicateHeader(rng: Rng, input: Buffer): Buffer {
  const head = splitHead(input);
  if (head === null || head.lines.length < 2) return input;
  const i = 1 + rng.int(head.lines.length - 1);
  head.lines.splice(i, 0, head.lines[i]!);
  return joinHead(head.lines, head.rest);
}

function swapHeaders(rng: Rng, input: Buffer): Buffer {
  const head = splitHead(input);
  if (head === null || head.lines.length < 3) return input;
  const i = 1 + rng.int(head.lines.length - 1);
  const j = 1 + rng.int(head.lines.length - 1);
  [head.lines[i], head.lines[j]] = [head.lines[j]!, head.lines[i]!];
  return joinHead(head.lines, head.rest);
}

function addFramingHeader(rng: Rng, input: Buffer): Buffer {
  const head = splitHead(input);
  if (head === null) return input;
  const header = rng.chance(0.5) ? rng.pick(TE_OBFUSCATIONS) : rng.pick(CL_VARIANTS);
  head.lines.splice(1 + rng.int(head.lines.length), 0, header);
  return joinHead(head.lines, head.rest);
}

function obsFold(rng: Rng, input: Buffer): Buffer {
  const head = splitHead(input);
  if (head === null || head.lines.length < 2) return input;
  const i = 1 + rng.int(head.lines.length - 1);
  head.lines.splice(i + 1, 0, rng.pick([' folded', '\tfolded', ' ']));
  return joinHead(head.lines, head.rest);
}

function lineEndings(rng: Rng, input: Buffer): Buffer {
  const text = input.toString('latin1');
  const crlfs: number[] = [];
  for (let i = text.indexOf('\r\n'); i !== -1; i = text.indexOf('\r\n', i + 2)) crlfs.push(i);
  if (crlfs.length === 0) return input;
  const at = rng.pick(crlfs);
  const replacement = rng.pick(['\n', '\r', '\r\r\n', '\n\r', '\r\n\r\n', '']);
  return b(text.slice(0, at) + replacement + text.slice(at + 2));
}

function hugeLine(rng: Rng, input: Buffer): Buffer {
  const at = rng.int(input.length + 1);
  const size = rng.pick([100, 4000, 4096, 8000, 8190, 8192, 9000, 70000]);
  const fill = rng.pick(['a', 'A: ', '0', ' ', '\x00', 'X-A: b\r\n']);
  return Buffer.concat([input.subarray(0, at), b(fill.repeat(Math.ceil(size / fill.length)).slice(0, size)), input.subarray(at)]);
}

function replaceNumber(rng: Rng, input: Buffer): Buffer {
  const text = input.toString('latin1');
  const numbers = [...text.matchAll(/[0-9a-fA-F]+/g)];
  if (numbers.length === 0) return input;
  const m = rng.pick(numbers);
  return b(text.slice(0, m.index) + rng.pick(INTERESTING_NUMBERS) + text.slice(m.index! + m[0].length));
}

function splice(rng: Rng, input: Buffer, seeds: readonly Buffer[]): Buffer {
  const other = rng.pick(seeds);
  return Buffer.concat([input.subarray(0, rng.int(input.length + 1)), other.subarray(rng.int(other.length + 1))]);
}

function pipeline(rng: Rng, input: Buffer, seeds: readonly Buffer[]): Buffer {
  return Buffer.concat([input, rng.pick(seeds)]);
}

export const HTTP_MUTATORS: Mutator[] = [
  flipByte, setInterestingByte, insertText, insertRandomBytes, deleteRange, duplicateRange, duplicateHeader,
  swapHeaders, addFramingHeader, obsFold, lineEndings, hugeLine, replaceNumber, splice, pipeline,
];

/** Overwrites one of the uwsgi length fields (datasize, or a key/value length) with an edge value. */
function uwsgiLengthField(rng: Rng, input: Buffer): Buffer {
  if (input.length < 4) return input;
  const out = Buffer.from(input);
  const value = rng.pick([0, 1, 2, 3, 0xffff, 0x7fff, 0x1000, 0x1001, input.length, input.length - 4, rng.int(65536)]);
  const at = rng.chance(0.5) ? 1 : rng.int(out.length - 1);
  out.writeUInt16LE(value & 0xffff, at);
  return out;
}

function uwsgiModifier(rng: Rng, input: Buffer): Buffer {
  if (input.length < 4) return input;
  const out = Buffer.from(input);
  out[rng.chance(0.5) ? 0 : 3] = rng.pick([0, 1, 5, 10, 17, 30, 100, 255, rng.int(256)]);
  return out;
}

function uwsgiStructured(rng: Rng): Buffer {
  const body = rng.pick(['', 'hello', 'x'.repeat(rng.int(3000))]);
  const vars = uwsgiVars(rng.pick(['GET', 'POST', 'PUT', 'X\x00', '']), rng.pick(HTTP_PATHS) + rng.pick(['', '?n=2', '?a=%00']), body);
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    switch (rng.int(6)) {
      case 0:
        vars.push(['CONTENT_LENGTH', rng.pick(INTERESTING_NUMBERS.concat(['12abc', ' 5', '5 ', '-5']))]);
        break;
      case 1:
        vars.push([rng.pick(['HTTP_X', 'HTTP_TRANSFER_ENCODING', 'HTTP_CONNECTION', 'wsgi.input', 'UWSGI_SCHEME']), rng.pick(['chunked', 'close', '\r\n', '\x00', 'é'.repeat(100)])]);
        break;
      case 2:
        for (let k = 0; k < 40; k++) vars.push([`HTTP_V${k}`, String(k)]);
        break;
      case 3:
        vars.splice(rng.int(vars.length), 1);
        break;
      case 4:
        vars.push(['HTTP_BIG', 'z'.repeat(rng.pick([1000, 3000, 7000]))]);
        break;
      default:
        vars.push(['PATH_INFO', rng.pick(['', '/\x00', '/../../etc/passwd', '%', '/é'])]);
    }
  }
  try {
    return encodeUwsgiPacket(vars, body, rng.chance(0.9) ? 0 : rng.int(256), 0);
  } catch {
    return encodeUwsgiPacket(uwsgiVars('GET', '/', ''));
  }
}

export const UWSGI_MUTATORS: Mutator[] = [
  flipByte, setInterestingByte, insertRandomBytes, deleteRange, duplicateRange, uwsgiLengthField, uwsgiModifier, splice,
  (rng) => uwsgiStructured(rng),
];

/** One seed with 1..4 mutations applied (sometimes none: valid input must keep working too). */
export function mutate(rng: Rng, seeds: readonly Buffer[], mutators: readonly Mutator[]): Buffer {
  let input = rng.pick(seeds);
  if (rng.chance(0.08)) return input;
  const rounds = rng.chance(0.5) ? 1 : 2 + rng.int(3);
  for (let i = 0; i < rounds; i++) input = rng.pick(mutators)(rng, input, seeds);
  return input;
}
