/**
 * Incremental, strict UTF-8 validation (RFC 3629): rejects overlong forms,
 * UTF-16 surrogates (U+D800-U+DFFF) and code points above U+10FFFF, and fails
 * on the first byte that makes the input invalid whatever comes after it, so a
 * text message is refused before the rest of a bad fragment arrives
 * (Autobahn 6.4.x).
 *
 * The validator keeps the state of a sequence split across pushes. Whole
 * pieces that start on a character boundary go through `buffer.isUtf8` (SIMD)
 * first; only pieces that are not entirely valid on their own (a split
 * character, or an error) take the byte loop.
 */
import { isUtf8 } from 'node:buffer';

export class Utf8Validator {
  /** Continuation bytes still needed for the current character. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrower right after E0, ED, F0, F4). */
  private low = 0x80;
  private high = 0xbf;

  /** Validates the next bytes; false as soon as the input so far cannot be a prefix of valid UTF-8. */
  push(bytes: Uint8Array): boolean {
    if (this.need === 0 && isUtf8(bytes)) return true;
    for (let i = 0; i < bytes.length; i++) {
      if (!this.step(bytes[i]!)) return false;
    }
    return true;
  }

  /** True when the input so far ends on a character boundary. */
  get complete(): boolean {
    return this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.low = 0x80;
    this.high = 0xbf;
  }

  private step(byte: number): boolean {
    if (this.need > 0) {
      if (byte < this.low || byte > this.high) return false;
      this.need--;
      this.low = 0x80;
      this.high = 0xbf;
      return true;
    }
    if (byte < 0x80) return true;
    return this.lead(byte);
  }

  /** A lead byte: how many continuation bytes follow and the range of the first one. */
  private lead(byte: number): boolean {
    if (byte >= 0xc2 && byte <= 0xdf) return this.expect(1, 0x80, 0xbf);
    if (byte === 0xe0) return this.expect(2, 0xa0, 0xbf); // no overlong 3-byte forms
    if (byte === 0xed) return this.expect(2, 0x80, 0x9f); // no surrogates
    if (byte >= 0xe1 && byte <= 0xef) return this.expect(2, 0x80, 0xbf);
    if (byte === 0xf0) return this.expect(3, 0x90, 0xbf); // no overlong 4-byte forms
    if (byte >= 0xf1 && byte <= 0xf3) return this.expect(3, 0x80, 0xbf);
    if (byte === 0xf4) return this.expect(3, 0x80, 0x8f); // nothing above U+10FFFF
    return false; // 0x80-0xC1 (continuation or overlong 2-byte lead), 0xF5-0xFF
  }

  private expect(need: number, low: number, high: number): boolean {
    this.need = need;
    this.low = low;
    this.high = high;
    return true;
  }
}

/** Whole-buffer strict validation. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
