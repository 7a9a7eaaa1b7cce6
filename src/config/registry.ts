/**
 * The option registry: one declarative table (split by section under ./table
 * only to keep files small) and the lookups everything else derives from it.
 */
import type { ArgumentStyle, OptionSpec } from './types';
import { SOCKETS_OPTIONS } from './table/sockets';
import { PROCESSES_OPTIONS } from './table/processes';
import { PYTHON_OPTIONS } from './table/python';
import { LIMITS_OPTIONS } from './table/limits';
import { RELOAD_OPTIONS } from './table/reload';
import { LOGGING_OPTIONS } from './table/logging';
import { MONITORING_OPTIONS } from './table/monitoring';
import { CONFIG_OPTIONS } from './table/config';
import { EMPEROR_OPTIONS } from './table/emperor';
import { UWSGI_MORE_OPTIONS } from './table/uwsgi-more';
import { PLUGIN_OPTIONS } from './table/plugins';

export type { OptionSpec } from './types';

/** Every option nuwsgi knows, in --help / docs order. */
export const REGISTRY: readonly OptionSpec[] = [
  ...SOCKETS_OPTIONS,
  ...PROCESSES_OPTIONS,
  ...PYTHON_OPTIONS,
  ...LIMITS_OPTIONS,
  ...RELOAD_OPTIONS,
  ...LOGGING_OPTIONS,
  ...MONITORING_OPTIONS,
  ...CONFIG_OPTIONS,
  ...EMPEROR_OPTIONS,
  ...UWSGI_MORE_OPTIONS,
];

/** Section titles in display order. */
export const SECTIONS: readonly string[] = [...new Set(REGISTRY.map((o) => o.section))];

export interface RegistryIndex {
  readonly byName: ReadonlyMap<string, OptionSpec>;
  readonly byShort: ReadonlyMap<string, OptionSpec>;
}

/**
 * Indexes rows by every long name and short letter. Two rows claiming the same
 * name, alias or letter would make one of them unreachable without a word, so
 * that throws at load time (and a unit test feeds it duplicates).
 */
export function indexRegistry(rows: readonly OptionSpec[]): RegistryIndex {
  const names = new Map<string, OptionSpec>();
  const shorts = new Map<string, OptionSpec>();
  for (const spec of rows) {
    for (const name of [spec.name, ...(spec.aliases ?? [])]) {
      const other = names.get(name);
      if (other !== undefined) throw new Error(`registry: duplicate option name '${name}' (rows '${other.name}' and '${spec.name}')`);
      names.set(name, spec);
    }
    if (spec.short !== undefined) {
      const other = shorts.get(spec.short);
      if (other !== undefined) throw new Error(`registry: duplicate short option '-${spec.short}' (rows '${other.name}' and '${spec.name}')`);
      shorts.set(spec.short, spec);
    }
  }
  return { byName: names, byShort: shorts };
}

const { byName, byShort } = indexRegistry(REGISTRY);

/** The row for a canonical name or an alias, or undefined for a placeholder/unknown key. */
export function findOption(nameOrAlias: string): OptionSpec | undefined {
  return byName.get(nameOrAlias);
}

/** The row for a single-letter option (without the dash). */
export function findShort(letter: string): OptionSpec | undefined {
  return byShort.get(letter);
}

/** Every long name getopt would accept: canonical names and aliases. */
export function allLongNames(): string[] {
  return [...byName.keys()];
}

/** An option of a uWSGI plugin nuwsgi does not have (table/plugins.ts): accepted, warned about, ignored. */
export interface PluginOption {
  readonly name: string;
  readonly plugin: string;
  readonly argument: ArgumentStyle;
}

/**
 * Indexes the plugin table. A name that is also a registry row would be two
 * different things under one name, so that throws at load time.
 */
export function indexPluginOptions(table: Readonly<Record<string, readonly string[]>>, registry: ReadonlyMap<string, OptionSpec>): ReadonlyMap<string, PluginOption> {
  const index = new Map<string, PluginOption>();
  for (const [plugin, names] of Object.entries(table)) {
    for (const entry of names) {
      const marker = entry.slice(-1);
      const name = marker === '!' || marker === '?' ? entry.slice(0, -1) : entry;
      const argument: ArgumentStyle = marker === '!' ? 'none' : marker === '?' ? 'optional' : 'required';
      if (registry.has(name)) throw new Error(`registry: plugin option '${name}' (${plugin}) is also a registry row`);
      if (!index.has(name)) index.set(name, { name, plugin, argument });
    }
  }
  return index;
}

const pluginOptions = indexPluginOptions(PLUGIN_OPTIONS, byName);

/** The plugin a uWSGI option belongs to, when nuwsgi only accepts it (exact names only). */
export function findPluginOption(name: string): PluginOption | undefined {
  return pluginOptions.get(name);
}

/** How the command line passes this option's value (getopt's has_arg). */
export function argumentStyle(spec: OptionSpec): ArgumentStyle {
  if (spec.argument !== undefined) return spec.argument;
  return spec.kind === 'flag' ? 'none' : 'required';
}

/** Every name that refers to the option: canonical first, then aliases. */
export function namesOf(spec: OptionSpec): string[] {
  return [spec.name, ...(spec.aliases ?? [])];
}
