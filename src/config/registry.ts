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
];

/** Section titles in display order. */
export const SECTIONS: readonly string[] = [...new Set(REGISTRY.map((o) => o.section))];

const byName = new Map<string, OptionSpec>();
const byShort = new Map<string, OptionSpec>();
for (const spec of REGISTRY) {
  for (const name of [spec.name, ...(spec.aliases ?? [])]) {
    if (byName.has(name)) throw new Error(`registry: duplicate option name '${name}'`);
    byName.set(name, spec);
  }
  if (spec.short !== undefined) {
    if (byShort.has(spec.short)) throw new Error(`registry: duplicate short option '-${spec.short}'`);
    byShort.set(spec.short, spec);
  }
}

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

/** How the command line passes this option's value (getopt's has_arg). */
export function argumentStyle(spec: OptionSpec): ArgumentStyle {
  if (spec.argument !== undefined) return spec.argument;
  return spec.kind === 'flag' ? 'none' : 'required';
}

/** Every name that refers to the option: canonical first, then aliases. */
export function namesOf(spec: OptionSpec): string[] {
  return [spec.name, ...(spec.aliases ?? [])];
}
