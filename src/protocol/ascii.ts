/**
 * Case-insensitive comparisons of header names and tokens without making a
 * lowercased copy: `name.toLowerCase() === 'host'` allocates a string per
 * field and request, on the hottest path there is.
 */

/** Whether `s` equals `lower` (all lowercase) when ASCII letters are compared without case (RFC 9110 §5.1). */
export function equalsLowercase(s: string, lower: string): boolean {
  return s.length === lower.length && rangeEqualsLowercase(s, 0, lower);
}

/** Whether s[from, from + lower.length) equals `lower` without ASCII case. */
function rangeEqualsLowercase(s: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(from + i);
    const l = lower.charCodeAt(i);
    if (c !== l && (c < 0x41 || c > 0x5a || c + 0x20 !== l)) return false;
  }
  return true;
}

/** Whether the comma-separated list `value` has the element `token` (lowercase), any case, OWS around it (RFC 9110 §5.6.1). */
export function hasListToken(value: string, token: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b - a === token.length && rangeEqualsLowercase(value, a, token)) return true;
    start = end + 1;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * `value` without optional whitespace at either end: space and tab only (RFC
 * 9110 §5.6.3). String.prototype.trim() would also strip U+00A0 and other
 * Unicode spaces, which a latin-1 header can carry: `chunked\xa0` must stay
 * what it is, not become `chunked`, or nuwsgi frames a body other servers
 * do not see (request smuggling).
 */
export function trimOws(value: string): string {
  let a = 0;
  let b = value.length;
  while (a < b && isOws(value.charCodeAt(a))) a++;
  while (b > a && isOws(value.charCodeAt(b - 1))) b--;
  return a === 0 && b === value.length ? value : value.slice(a, b);
}
