// The uwsgi wire protocol (what nginx's uwsgi_pass speaks), client side, so
// tests can talk to `--socket` listeners without nginx.
//
// A request is a 4-byte header (modifier1, u16le datasize, modifier2), then
// datasize bytes of (u16le key length, key, u16le value length, value) pairs,
// then the request body. The server answers with a plain HTTP response and
// closes the connection.
import { Endpoint, HttpResponse, parseResponse, rawExchange } from './http';

/** Encodes CGI variables as one uwsgi packet (header + vars block). */
export function encodeUwsgiPacket(vars: Readonly<Record<string, string>>, modifier1 = 0, modifier2 = 0): Buffer {
  const parts: Buffer[] = [];
  const u16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return b;
  };
  for (const [k, v] of Object.entries(vars)) {
    // uwsgi strings are bytes; latin1 keeps test strings byte-exact.
    const kb = Buffer.from(k, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    parts.push(u16(kb.length), kb, u16(vb.length), vb);
  }
  const block = Buffer.concat(parts);
  if (block.length > 0xffff) throw new RangeError(`uwsgi vars block too large: ${block.length} bytes`);
  const header = Buffer.alloc(4);
  header.writeUInt8(modifier1, 0);
  header.writeUInt16LE(block.length, 1);
  header.writeUInt8(modifier2, 3);
  return Buffer.concat([header, block]);
}

export interface UwsgiRequestOptions {
  method?: string;
  /** Path with optional "?query". */
  path?: string;
  /** HTTP request headers; become HTTP_* variables (Content-Type/Length become CGI ones). */
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** Extra or overriding CGI variables, sent as given. */
  vars?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}

/** The CGI variables nginx's uwsgi_params would send for this request. */
export function uwsgiVarsFor(opts: UwsgiRequestOptions, bodyLength: number): Record<string, string> {
  const uri = opts.path ?? '/';
  const q = uri.indexOf('?');
  const vars: Record<string, string> = {
    REQUEST_METHOD: opts.method ?? 'GET',
    REQUEST_URI: uri,
    PATH_INFO: q < 0 ? uri : uri.slice(0, q),
    QUERY_STRING: q < 0 ? '' : uri.slice(q + 1),
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    HTTP_HOST: 'localhost',
    CONTENT_LENGTH: bodyLength > 0 ? String(bodyLength) : '',
    CONTENT_TYPE: '',
  };
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') vars['CONTENT_TYPE'] = value;
    else if (lower === 'content-length') vars['CONTENT_LENGTH'] = value;
    else vars[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  return { ...vars, ...(opts.vars ?? {}) };
}

/** Sends one uwsgi request and parses the HTTP response the server writes back. */
export async function uwsgiRequest(endpoint: Endpoint, opts: UwsgiRequestOptions = {}): Promise<HttpResponse> {
  const body = opts.body === undefined ? Buffer.alloc(0) : typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const packet = encodeUwsgiPacket(uwsgiVarsFor(opts, body.length));
  const ex = await rawExchange(endpoint, Buffer.concat([packet, body]), { timeoutMs: opts.timeoutMs ?? 10_000 });
  // The server closes after the response, so a close-delimited body is complete.
  const parsed = parseResponse(ex.data, true, opts.method ?? 'GET');
  if (parsed === undefined) {
    throw new Error(`no response from uwsgi socket (${ex.outcome}, ${ex.data.length} bytes)`);
  }
  return parsed.response;
}
