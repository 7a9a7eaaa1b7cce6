/** Output of --show-config (uWSGI's format, for diffing) and --print-config-json. */
import type { RawEntry } from './entry';
import { findOption } from './registry';
import type { ResolvedOptions, TypedValue } from './options-impl';

/**
 * The flattened configuration exactly as `uwsgi --show-config` prints it:
 * one `key = value` per entry in reading order (a valueless command-line
 * flag prints as `true`), between uWSGI's comment markers.
 */
export function renderShowConfig(entries: ReadonlyArray<Pick<RawEntry, 'key' | 'value'>>): string {
  const lines = entries.map((e) => `${e.key} = ${e.value ?? 'true'}`);
  return [';uWSGI instance configuration', '[uwsgi]', ...lines, ';end of configuration', ''].join('\n');
}

/** The resolved typed options plus every placeholder (unknown key) with its first value. */
export function renderConfigJson(options: ResolvedOptions, entries: ReadonlyArray<Pick<RawEntry, 'key' | 'value'>>): string {
  const placeholders: Record<string, TypedValue> = {};
  for (const entry of entries) {
    if (findOption(entry.key) === undefined && !(entry.key in placeholders)) placeholders[entry.key] = entry.value ?? 'true';
  }
  return `${JSON.stringify({ options: options.toJSON(), placeholders }, null, 2)}\n`;
}
