/**
 * uWSGI's key=value lists (core/utils.c uwsgi_kvlist_parse): items split on
 * `,`, key and value on the first `=`, a backslash makes the next character
 * literal (`cmd=celery -Q a\,b`). Used by attach-daemon2 and cron2.
 */
export type KvList = Array<[string, string]>;

/** The items, or a string saying what is wrong. */
export function parseKvList(text: string): KvList | string {
  const items: string[] = [];
  let current = '';
  let escaped = false;
  // Markers survive the split: an escaped '=' must not separate key and value.
  const literal: number[][] = [[]];
  for (const ch of text) {
    if (escaped) {
      (literal[literal.length - 1] as number[]).push(current.length);
      current += ch;
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === ',') {
      items.push(current);
      current = '';
      literal.push([]);
    } else current += ch;
  }
  if (current !== '') items.push(current);
  const out: KvList = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as string;
    const escapes = literal[i] ?? [];
    let eq = -1;
    for (let j = 0; j < item.length; j++) {
      if (item[j] === '=' && !escapes.includes(j)) {
        eq = j;
        break;
      }
    }
    if (eq <= 0) return `"${item}" is not key=value`;
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

/** C's atoi: leading blanks, an optional sign, the leading digits; 0 when there are none. */
export function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m === null ? 0 : Number.parseInt(m[1] as string, 10);
}
