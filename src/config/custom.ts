/**
 * Custom options from `declare-option = name=opt1=$1;opt2=$2`: using
 * `name = a b` applies `opt1 = a` and `opt2 = b`. As in uWSGI these derived
 * options take effect but are not listed by --show-config (only the
 * `name = a b` line is). Debian's `declare-option = deb-confname=$1` has no
 * `=` in its body: it only makes `deb-confname` a known key.
 */
import { ConfigError } from '../util/errors';
import type { RawEntry } from './entry';
import type { ResolvedEntry } from './options-impl';
import { findOption } from './registry';

const MAX_DEPTH = 8;

/** The options every use of a custom option expands to, in order. */
export function expandCustomOptions(entries: readonly RawEntry[], templates: ReadonlyMap<string, string>): ResolvedEntry[] {
  const derived: ResolvedEntry[] = [];
  for (const entry of entries) {
    if (findOption(entry.key) !== undefined || !templates.has(entry.key)) continue;
    derived.push(...applyCustom(entry.key, entry.value ?? '', entry, templates, 0));
  }
  return derived;
}

function applyCustom(name: string, value: string, from: RawEntry, templates: ReadonlyMap<string, string>, depth: number): ResolvedEntry[] {
  if (depth > MAX_DEPTH) throw new ConfigError(`custom option '${name}' expands into itself`, from.origin, from.key);
  const template = templates.get(name) ?? '';
  const args = value === '' ? [''] : value.split(' ').filter((a) => a !== '');
  const out: ResolvedEntry[] = [];
  for (const piece of template.split(';').filter((p) => p !== '')) {
    const eq = piece.indexOf('=');
    if (eq === -1) break; // uWSGI stops at the first piece without '='
    const key = substituteArgs(piece.slice(0, eq), args);
    const optionValue = substituteArgs(piece.slice(eq + 1), args);
    if (findOption(key) === undefined && templates.has(key)) out.push(...applyCustom(key, optionValue, from, templates, depth + 1));
    else out.push({ key, value: optionValue, origin: from.origin });
  }
  return out;
}

/** `$1`..`$n` replaced in order, as uWSGI does (so `$1` also hits the start of `$10`). */
function substituteArgs(text: string, args: readonly string[]): string {
  let result = text;
  args.forEach((arg, index) => {
    result = result.split(`$${index + 1}`).join(arg);
  });
  return result;
}
