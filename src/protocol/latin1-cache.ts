/**
 * Short latin-1 strings decoded from request bytes, reused from one request to
 * the next. The same few dozen names and values arrive again and again (the
 * uwsgi vars' keys, "GET", "HTTP/1.1", the Host header, header names): making
 * a fresh string for each is a call into Node's C++ per string and garbage
 * for the next scavenge; checking the bytes against the string made last time
 * is a short loop in JS.
 *
 * Direct-mapped: a hash of the bytes picks one slot, a miss replaces it. The
 * memory is bounded (SLOTS strings of at most MAX_LENGTH chars), and values
 * that always differ (a client's port) only ever cost their own slot.
 * Pure: the string returned always equals the bytes' latin-1 decoding.
 */

/** Longer strings are rarely repeated exactly, and comparing them costs more. */
const MAX_LENGTH = 40;
const SLOTS = 512; // a power of two
const slots: string[] = new Array<string>(SLOTS).fill('');

interface Latin1SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}
/** Node's Buffer#latin1Slice skips toString()'s encoding dispatch; it is undocumented, so fall back if it goes. */
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as Partial<Latin1SliceBuffer>).latin1Slice === 'function';

/** A fresh string of buf[start, end) as latin-1 (one char per byte). */
export function latin1Slice(buf: Buffer, start: number, end: number): string {
  return HAS_LATIN1_SLICE ? (buf as Latin1SliceBuffer).latin1Slice(start, end) : buf.toString('latin1', start, end);
}

/** buf[start, end) as latin-1, the same string object as last time when these bytes were seen before. */
export function latin1Cached(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > MAX_LENGTH) return latin1Slice(buf, start, end);
  if (length <= 0) return '';
  let hash = length;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + (buf[i] as number)) | 0;
  const slot = (hash ^ (hash >>> 9)) & (SLOTS - 1);
  const known = slots[slot] as string;
  if (known.length === length && sameBytes(known, buf, start)) return known;
  const fresh = latin1Slice(buf, start, end);
  slots[slot] = fresh;
  return fresh;
}

function sameBytes(s: string, buf: Buffer, start: number): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== buf[start + i]) return false;
  }
  return true;
}
