/**
 * A tiny writer of Python's `marshal` format (version 4+, CPython 3.4 on),
 * enough for one request: `(environ: dict[str, str], body: bytes | str | None)`.
 *
 * Python decodes it with `marshal.loads`, in C, in one call: the cheapest way
 * we measured to hand a request's variables to the interpreter. Strings are
 * WSGI "native strings": bytes decoded as latin-1. ASCII strings use the
 * compact ASCII types; others are written as UTF-8 of their latin-1 decoding.
 */

const TYPE_NONE = 0x4e; // 'N'
const TYPE_BYTES = 0x73; // 's'
const TYPE_UNICODE = 0x75; // 'u'
const TYPE_SHORT_ASCII = 0x7a; // 'z'
const TYPE_SHORT_ASCII_INTERNED = 0x5a; // 'Z'
const TYPE_ASCII = 0x61; // 'a'
const TYPE_SMALL_TUPLE = 0x29; // ')'
const TYPE_DICT = 0x7b; // '{'
const TYPE_NULL = 0x30; // '0' ends a dict

export class MarshalOverflow extends Error {}

export class MarshalWriter {
  private readonly buf: Buffer;
  private pos: number;

  constructor(buf: Buffer, start: number) {
    this.buf = buf;
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  tuple(count: number): void {
    this.need(2);
    this.buf[this.pos++] = TYPE_SMALL_TUPLE;
    this.buf[this.pos++] = count;
  }

  beginDict(): void {
    this.need(1);
    this.buf[this.pos++] = TYPE_DICT;
  }

  endDict(): void {
    this.need(1);
    this.buf[this.pos++] = TYPE_NULL;
  }

  none(): void {
    this.need(1);
    this.buf[this.pos++] = TYPE_NONE;
  }

  /** Dict keys are interned, as Python interns identifiers: faster lookups in the app. */
  key(s: string): void {
    this.str(s, TYPE_SHORT_ASCII_INTERNED);
  }

  str(s: string, shortAsciiType = TYPE_SHORT_ASCII): void {
    if (isAscii(s)) {
      this.need(5 + s.length);
      if (s.length < 256) {
        this.buf[this.pos] = shortAsciiType;
        this.buf[this.pos + 1] = s.length;
        this.pos += 2;
      } else {
        this.buf[this.pos] = TYPE_ASCII;
        this.buf.writeUInt32LE(s.length, this.pos + 1);
        this.pos += 5;
      }
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    const length = Buffer.byteLength(s, 'utf8');
    this.need(5 + length);
    this.buf[this.pos] = TYPE_UNICODE;
    this.buf.writeUInt32LE(length, this.pos + 1);
    this.pos += 5;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(data: Buffer): void {
    this.need(5 + data.length);
    this.buf[this.pos] = TYPE_BYTES;
    this.buf.writeUInt32LE(data.length, this.pos + 1);
    this.pos += 5;
    this.pos += data.copy(this.buf, this.pos);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MarshalOverflow('request does not fit the shared region');
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}
