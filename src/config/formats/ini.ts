/**
 * INI exactly as uWSGI's core/ini.c reads it:
 * - `[name]` starts a section; sections with the same name are merged;
 * - whole-line comments only (`;` or `#` first); no inline comments, no quote
 *   stripping: `master = true # x` keeps `true # x`;
 * - a line splits at its first `=`; key and value are trimmed of spaces, tabs
 *   and CR; a bare `key` has an empty value.
 */
import type { FileLine, ReadResult } from './types';

export function parseIni(text: string, section: string): ReadResult {
  const lines: FileLine[] = [];
  let current = '';
  let found = false;
  text.split('\n').forEach((raw, index) => {
    const line = trimIni(raw);
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      // uWSGI drops the last character whatever it is, so `[uwsgi` names "uwsg".
      current = line.slice(1, -1);
      return;
    }
    if (current !== section) return;
    found = true;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : trimIni(line.slice(0, eq));
    const value = eq === -1 ? '' : trimIni(line.slice(eq + 1));
    lines.push({ key, value, line: index + 1 });
  });
  return { lines, found };
}

/** uWSGI strips only spaces, tabs and CR (not other whitespace). */
function trimIni(text: string): string {
  return text.replace(/^[ \t\r]+/, '').replace(/[ \t\r]+$/, '');
}
