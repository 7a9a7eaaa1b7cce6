// A strict reader of what a server wrote on one connection: a sequence of
// HTTP/1.x responses. Used by the server fuzzer to prove that no input and no
// app can make the server emit a split or malformed response.

export interface ParsedResponse {
  status: number;
  headers: Array<[string, string]>;
  /** X-Path from the fuzz app: which request this answers; null on server-made responses. */
  xPath: string | null;
  connectionClose: boolean;
  /** The body ran to EOF (no Content-Length, not chunked). */
  closeDelimited: boolean;
}

export interface ResponseStream {
  /** Final (non-1xx) responses, complete. */
  responses: ParsedResponse[];
  /** 1xx responses seen. */
  interim: number;
  /** A response head or body was cut by the close (or is still arriving). */
  truncated: boolean;
  /** Why the bytes are not a valid response stream; null if they are. */
  malformed: string | null;
}

// RFC 9110 §15: status codes are 100..599.
// HTTP/x.y: on a uwsgi socket the version is the peer's SERVER_PROTOCOL.
const STATUS_LINE = /^HTTP\/[0-9]\.[0-9] ([1-5][0-9]{2}) [\t\x20-\x7e\x80-\xff]*$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;

/**
 * `noBody(i)` says whether the i-th final response answers a HEAD request.
 * `closed`: the server closed the connection (a close-delimited body is complete).
 */
export function readResponses(data: Buffer, closed: boolean, noBody: (i: number) => boolean = () => false): ResponseStream {
  const out: ResponseStream = { responses: [], interim: 0, truncated: false, malformed: null };
  let pos = 0;
  while (pos < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd === -1) {
      out.truncated = true;
      if (data.length - pos > 1 << 20) out.malformed = 'response head larger than 1 MB';
      else if (!'HTTP/'.startsWith(data.subarray(pos, pos + 5).toString('latin1'))) {
        out.malformed = `garbage where a response should start: ${JSON.stringify(data.subarray(pos, pos + 80).toString('latin1'))}`;
      }
      return out;
    }
    const lines = data.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const statusMatch = STATUS_LINE.exec(lines[0]!);
    if (statusMatch === null) {
      out.malformed = `bad status line ${JSON.stringify(lines[0]!.slice(0, 200))}`;
      return out;
    }
    const status = Number(statusMatch[1]);
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const m = HEADER_LINE.exec(line);
      if (m === null) {
        out.malformed = `bad header line ${JSON.stringify(line.slice(0, 200))} in a ${status} response`;
        return out;
      }
      headers.push([m[1]!, m[2]!]);
    }
    pos = headEnd + 4;
    const framing = bodyFraming(status, headers, noBody(out.responses.length));
    if (typeof framing === 'string') {
      out.malformed = framing;
      return out;
    }
    if (status < 200) {
      out.interim++;
      continue;
    }
    const get = (name: string): string | null => headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? null;
    const response: ParsedResponse = {
      status,
      headers,
      xPath: get('x-path'),
      connectionClose: /(^|,)\s*close\s*(,|$)/i.test(get('connection') ?? ''),
      closeDelimited: framing.kind === 'eof',
    };
    if (framing.kind === 'length') {
      if (data.length - pos < framing.length) {
        out.truncated = true;
        return out;
      }
      pos += framing.length;
    } else if (framing.kind === 'chunked') {
      const end = skipChunked(data, pos);
      if (typeof end === 'string') {
        out.malformed = end;
        return out;
      }
      if (end === -1) {
        out.truncated = true;
        return out;
      }
      pos = end;
    } else {
      if (!closed) out.truncated = true;
      out.responses.push(response);
      return out;
    }
    out.responses.push(response);
  }
  return out;
}

type Framing = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'eof' };

function bodyFraming(status: number, headers: Array<[string, string]>, head: boolean): Framing | string {
  const cls = headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
  const tes = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v.toLowerCase());
  if (cls.length > 0 && tes.length > 0) return `both Content-Length and Transfer-Encoding in a ${status} response`;
  if (new Set(cls).size > 1) return `conflicting Content-Length values ${JSON.stringify(cls)} in a response`;
  if (cls.length > 0 && !/^[0-9]+$/.test(cls[0]!)) return `invalid Content-Length ${JSON.stringify(cls[0])} in a response`;
  if (tes.length > 0 && tes.join(',') !== 'chunked') return `Transfer-Encoding ${JSON.stringify(tes)} in a response`;
  if (headers.some(([n]) => n.toLowerCase() === 'x-injected')) return 'a header injected through a CR/LF in an app header';
  if (status < 200 || status === 204 || status === 304 || head) return { kind: 'length', length: 0 };
  if (cls.length > 0) return { kind: 'length', length: Number(cls[0]) };
  if (tes.length > 0) return { kind: 'chunked' };
  return { kind: 'eof' };
}

/** The position after a complete chunked body, -1 if incomplete, or why it is malformed. */
function skipChunked(data: Buffer, start: number): number | string {
  let pos = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', pos, 'latin1');
    if (lineEnd === -1) return data.length - pos > 64 ? 'chunk size line too long in a response' : -1;
    const sizeText = data.subarray(pos, lineEnd).toString('latin1');
    if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) return `bad chunk size ${JSON.stringify(sizeText.slice(0, 40))} in a response`;
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 2;
    if (size === 0) {
      // No trailers from us: the next two bytes end the body.
      if (data.length - pos < 2) return -1;
      if (data[pos] !== 0x0d || data[pos + 1] !== 0x0a) return 'trailer fields or garbage after the last chunk of a response';
      return pos + 2;
    }
    if (data.length - pos < size + 2) return -1;
    if (data[pos + size] !== 0x0d || data[pos + size + 1] !== 0x0a) return 'chunk data not followed by CRLF in a response';
    pos += size + 2;
  }
}
