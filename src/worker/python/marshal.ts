/**
 * A tiny writer of Python's `marshal` format (version 4+, CPython 3.4 on),
 * enough for one request: `(environ: dict[str, str], body: bytes | str | None, app: int)`.
 *
 * Python decodes it with `marshal.loads`, in C, in one call: the cheapest way
 * we measured to hand a request's variables to the interpreter. Strings are
 * WSGI "native strings": bytes decoded as latin-1 (see `str`).
 */

const TYPE_NONE = 0x4e; // 'N'
const TYPE_BYTES = 0x73; // 's'
const TYPE_UNICODE = 0x75; // 'u'
const TYPE_SHORT_ASCII = 0x7a; // 'z'
const TYPE_ASCII = 0x61; // 'a'
const TYPE_SMALL_TUPLE = 0x29; // ')'
const TYPE_LIST = 0x5b; // '['
const TYPE_INT = 0x69; // 'i' (32-bit signed)
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

  list(count: number): void {
    this.need(5);
    this.buf[this.pos] = TYPE_LIST;
    this.buf.writeUInt32LE(count, this.pos + 1);
    this.pos += 5;
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

  /**
   * A dict key: a plain native string, as uWSGI makes them. Interned keys
   * ('Z') made marshal.loads look each one up in the interpreter's intern
   * table: 0.23 µs per request with nginx's variables, more than the app's
   * own lookups gained (measured with Flask and a hello app).
   */
  key(s: string): void {
    this.str(s);
  }

  /**
   * A native string. marshal's "ASCII" types are read with
   * PyUnicode_FromKindAndData(1BYTE_KIND): each byte becomes one character,
   * i.e. latin-1, which is exactly WSGI's decoding (checked on 3.8 to 3.13).
   * Strings from the wire are latin-1 already; only characters above U+00FF
   * (a hostname, a path from the config) take the UTF-8 type.
   */
  str(s: string, shortType = TYPE_SHORT_ASCII): void {
    const n = s.length;
    if (n < 256) {
      this.need(2 + n);
      const buf = this.buf;
      let p = this.pos + 2;
      // Short strings: a plain loop beats a call into Buffer.write.
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) {
          this.unicode(s);
          return;
        }
        buf[p++] = c;
      }
      buf[this.pos] = shortType;
      buf[this.pos + 1] = n;
      this.pos = p;
      return;
    }
    if (BEYOND_LATIN1.test(s)) {
      this.unicode(s);
      return;
    }
    this.need(5 + n);
    this.buf[this.pos] = TYPE_ASCII;
    this.buf.writeUInt32LE(n, this.pos + 1);
    this.pos += 5;
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /**
   * buf[start, end) as a native string: each byte one character (latin-1),
   * what `str` writes for the same bytes decoded, without making the string.
   */
  latin1Span(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    const out = this.buf;
    if (n < 256) {
      this.need(2 + n);
      let p = this.pos;
      out[p++] = TYPE_SHORT_ASCII;
      out[p++] = n;
      // Short spans: a plain loop beats a call into Buffer.copy.
      if (n <= 32) for (let i = start; i < end; i++) out[p++] = buf[i] as number;
      else p += buf.copy(out, p, start, end);
      this.pos = p;
      return;
    }
    this.need(5 + n);
    out[this.pos] = TYPE_ASCII;
    out.writeUInt32LE(n, this.pos + 1);
    this.pos += 5;
    this.pos += buf.copy(out, this.pos, start, end);
  }

  /**
   * A uwsgi vars block whose keys and values are all under 256 bytes, as
   * their native strings in order. Such a block is laid out as marshal's
   * short strings but for the 2 bytes before each string (a u16 LE length
   * instead of a type and a one-byte length): copy it whole, then rewrite those.
   */
  shortLatin1Block(block: Buffer): void {
    const n = block.length;
    this.need(n);
    const out = this.buf;
    const base = this.pos;
    block.copy(out, base);
    for (let p = 0; p < n; ) {
      const length = block[p] as number; // the high byte is 0
      out[base + p] = TYPE_SHORT_ASCII;
      out[base + p + 1] = length;
      p += 2 + length;
    }
    this.pos = base + n;
  }

  private unicode(s: string): void {
    const length = Buffer.byteLength(s, 'utf8');
    this.need(5 + length);
    this.buf[this.pos] = TYPE_UNICODE;
    this.buf.writeUInt32LE(length, this.pos + 1);
    this.pos += 5;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A latin-1 string (one char per byte, as the parsers make them) as the bytes it stands for. */
  latin1Bytes(s: string): void {
    this.bytesOfLatin1(s, false);
  }

  /** A header name as ASGI wants it: its bytes, A-Z lowered (names are tokens: ASCII only). */
  lowerLatin1Bytes(s: string): void {
    this.bytesOfLatin1(s, true);
  }

  private bytesOfLatin1(s: string, lower: boolean): void {
    const n = s.length;
    this.need(5 + n);
    const buf = this.buf;
    buf[this.pos] = TYPE_BYTES;
    buf.writeUInt32LE(n, this.pos + 1);
    let p = this.pos + 5;
    if (n > 64 && !lower) {
      buf.write(s, p, 'latin1'); // the wire's strings never hold chars above U+00FF
      this.pos = p + n;
      return;
    }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i) & 0xff;
      buf[p++] = lower && c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    this.pos = p;
  }

  /** Bytes known to be valid UTF-8, read by Python as a str. */
  utf8(data: Buffer): void {
    this.need(5 + data.length);
    this.buf[this.pos] = TYPE_UNICODE;
    this.buf.writeUInt32LE(data.length, this.pos + 1);
    this.pos += 5;
    this.pos += data.copy(this.buf, this.pos);
  }

  int(value: number): void {
    this.need(5);
    this.buf[this.pos] = TYPE_INT;
    this.buf.writeInt32LE(value, this.pos + 1);
    this.pos += 5;
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

const BEYOND_LATIN1 = /[^\x00-\xff]/;
