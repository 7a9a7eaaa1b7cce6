/**
 * Warnings (and, under `strict`, errors) about keys: unknown keys are kept as
 * placeholders like uWSGI does, but said out loud; options nuwsgi knows but
 * does not implement, and options of uWSGI plugins, are accepted with a
 * warning naming them.
 */
import { ConfigError } from '../util/errors';
import type { RawEntry } from './entry';
import { allLongNames, findOption, findPluginOption } from './registry';
import { didYouMean } from './suggest';
import { describeOrigin } from './values';

/**
 * `app`: the line uWSGI's XML reader adds after each `<app>` element's
 * `mount` (uWSGI 1.x's app option, gone in 2.0). `--show-config` lists it, as
 * uWSGI does, but nobody wrote it, so it is not worth a warning.
 */
const SILENT_PLACEHOLDERS: ReadonlySet<string> = new Set(['app']);

export interface KeyReport {
  readonly warnings: string[];
}

/**
 * Throws under strict for the first unknown key; otherwise returns one warning
 * per unknown key that no `%(...)`/if-opt refers to, and one per planned or
 * refused option (at its first occurrence).
 */
export function reportKeys(
  entries: readonly RawEntry[],
  customOptions: ReadonlyMap<string, string>,
  strict: boolean,
  referenced: ReadonlySet<string>,
): KeyReport {
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const spec = findOption(entry.key);
    // One warning per option (an alias and its canonical name count as one), except that a
    // python-only plugins line does not use up the warning for a later one.
    const id = spec?.name ?? entry.key;
    if (seen.has(id) || (spec !== undefined && builtInPlugins(spec.name, entry.value))) continue;
    seen.add(id);
    const where = whereOf(entry);
    if (spec === undefined) {
      // A `set-ph` placeholder (the only immediate entry with no option behind it) is never an option: strict accepts it.
      if (customOptions.has(entry.key) || SILENT_PLACEHOLDERS.has(entry.key) || entry.immediate) continue;
      // uWSGI knows a plugin's options once the plugin is loaded: strict or not, it would run with them.
      const plugin = findPluginOption(entry.key);
      if (plugin !== undefined) {
        warnings.push(`${where}: option '${entry.key}' belongs to uWSGI's ${plugin.plugin} plugin, which is not part of nuwsgi: accepted and ignored`);
        continue;
      }
      const hint = didYouMean(entry.key, allLongNames());
      if (strict) throw new ConfigError(`[strict-mode] unknown config directive: ${entry.key}${hint}`, entry.origin, undefined, 'E_CONFIG_UNKNOWN_OPTION');
      // The environment carries UWSGI_VASSAL_*, test runners' and tools' own variables: uWSGI keeps unknown
      // names from it as placeholders without a word, and so do we (files and the command line still warn).
      if (!referenced.has(entry.key) && entry.origin.source !== 'env') warnings.push(`${where}: unknown option '${entry.key}'${hint}: kept as a placeholder`);
    } else if (spec.status === 'planned') {
      warnings.push(`${where}: option '${entry.key}' is not implemented by nuwsgi yet: accepted and ignored`);
    } else if (spec.status === 'refused') {
      warnings.push(`${where}: option '${entry.key}' is refused by nuwsgi (${spec.why ?? 'unsafe'}): accepted and ignored`);
    }
  }
  return { warnings };
}

/**
 * `plugins = python3` is in almost every Debian app file and `autoload` in
 * Debian's emperor.ini: nuwsgi embeds Python and has no plugins, so these ask
 * for nothing missing and are not worth a warning.
 */
function builtInPlugins(option: string, value: string | null): boolean {
  if (option === 'autoload') return true;
  if (option !== 'plugins' || value === null) return false;
  return value.split(',').every((plugin) => /^\s*(\d+:)?python[0-9]*\s*$/.test(plugin));
}

function whereOf(entry: RawEntry): string {
  return entry.envName !== undefined ? `environment ${entry.envName}` : describeOrigin(entry.origin);
}

/** Keys used as `%(key)` (including math items) or tested by if-opt/if-not-opt: call before expansion. */
export function referencedKeys(entries: readonly RawEntry[]): Set<string> {
  const keys = new Set<string>();
  for (const entry of entries) {
    const value = entry.value ?? '';
    for (const match of value.matchAll(/%\(([^()]*)\)/g)) {
      for (const token of (match[1] ?? '').split(' ')) if (token !== '') keys.add(token);
    }
    if (entry.key === 'if-opt' || entry.key === 'if-not-opt') keys.add(value.split('=')[0] ?? '');
  }
  return keys;
}
