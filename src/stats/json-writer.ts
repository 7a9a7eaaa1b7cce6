/**
 * A byte-for-byte copy of uWSGI's stats JSON writer (core/stats.c): the same
 * tabs, newlines and odd spots (a key followed by an object gets the tabs
 * twice, list items written with `str` get none), so that `diff` against a
 * real uWSGI's output shows only the numbers. Minified mode drops every tab
 * and newline, as `--stats-minified` does.
 */
export class UwsgiJsonWriter {
  private out: string;
  private tabs = 1;
  private readonly minified: boolean;

  constructor(minified: boolean) {
    this.minified = minified;
    this.out = minified ? '{' : '{\n';
  }

  text(): string {
    return this.out;
  }

  comma(): void {
    this.symbolNl(',');
  }

  objectOpen(): void {
    this.applyTabs();
    if (!this.minified) this.tabs++;
    this.symbolNl('{');
  }

  objectClose(): void {
    this.closeIndent();
    this.out += '}';
  }

  listOpen(): void {
    // uWSGI counts list depth even when minified (harmless: tabs are never written then).
    this.tabs++;
    this.symbolNl('[');
  }

  listClose(): void {
    this.closeIndent();
    this.out += ']';
  }

  /** "key":"value" */
  keyval(key: string, value: string): void {
    this.applyTabs();
    this.out += `"${escapeJson(key)}":"${escapeJson(value)}"`;
  }

  /** "key":123 */
  keylong(key: string, value: number): void {
    this.applyTabs();
    this.out += `"${escapeJson(key)}":${formatCount(value)}`;
  }

  /** "key": (a list or object follows) */
  key(key: string): void {
    this.applyTabs();
    this.out += `"${escapeJson(key)}":`;
  }

  /** A bare string list item: uWSGI writes these without indentation. */
  str(value: string): void {
    this.out += `"${escapeJson(value)}"`;
  }

  private symbolNl(symbol: string): void {
    this.out += this.minified ? symbol : symbol + '\n';
  }

  private applyTabs(): void {
    if (!this.minified) this.out += '\t'.repeat(this.tabs);
  }

  private closeIndent(): void {
    if (this.minified) return;
    this.out += '\n';
    this.tabs--;
    this.applyTabs();
  }
}

/**
 * uWSGI's escape_json handles \t \n \r " and \\; other control characters
 * are escaped too here, so the output is always valid JSON (uWSGI writes
 * them raw, and does not escape names or paths at all).
 */
export function escapeJson(s: string): string {
  // Fast path: almost every value (numbers-as-strings, paths, names) needs nothing.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(ESCAPABLE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const ESCAPABLE = /["\\\u0000-\u001f\u2028\u2029]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f' };

/** uWSGI prints unsigned long longs: never a fraction, never negative, never NaN. */
function formatCount(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0';
  return Math.floor(n).toFixed(0);
}
