/**
 * The `Options` implementation: typed getters over the final (expanded)
 * entries, keyed by canonical registry name.
 */
import { NuwsgiError, type ConfigOrigin } from '../util/errors';
import type { Options } from './options';
import { REGISTRY, argumentStyle, findOption } from './registry';
import type { OptionSpec } from './types';
import { isTrue, parseOctal, readInteger, validateValue } from './values';

/** One `key = value` after expansion; `value` null = a command-line flag without value. */
export interface ResolvedEntry {
  readonly key: string;
  readonly value: string | null;
  readonly origin: ConfigOrigin;
}

interface Occurrence {
  readonly value: string | null;
  readonly origin: ConfigOrigin;
  /** Position among all entries, for listInOrder. */
  readonly seq: number;
}

export type TypedValue = boolean | number | string | string[] | null;

export class ResolvedOptions implements Options {
  private readonly occurrences = new Map<string, Occurrence[]>();
  /** Values used differently from how they were written (atoi, bounds): one line each, with file and line. */
  readonly warnings: string[] = [];

  /** Validates every value of a known option; unknown keys (placeholders) are not options. */
  constructor(entries: readonly ResolvedEntry[]) {
    for (const [seq, entry] of entries.entries()) {
      const spec = findOption(entry.key);
      if (spec === undefined) continue;
      const value = valueOf(spec, entry.value);
      const warning = validateValue(spec, entry.key, value, entry.origin);
      if (warning !== undefined) this.warnings.push(warning);
      const list = this.occurrences.get(spec.name) ?? [];
      list.push({ value, origin: entry.origin, seq });
      this.occurrences.set(spec.name, list);
    }
  }

  bool(name: string): boolean {
    const spec = this.spec(name);
    const last = this.last(spec.name);
    if (last !== undefined) return isTrue(last.value);
    if (this.impliedByAnother(spec.name)) return true;
    return spec.default === true;
  }

  int(name: string): number {
    const spec = this.spec(name);
    if (spec.type === 'bool') return this.bool(name) ? 1 : 0;
    const last = this.last(spec.name);
    if (last === undefined || last.value === null || last.value === '') return defaultNumber(spec);
    if (spec.type !== 'octal') return readInteger(spec, last.value).value;
    const parsed = parseOctal(last.value);
    if (parsed === undefined) throw internal(`option '${name}' is not numeric`);
    return parsed;
  }

  str(name: string): string | undefined {
    const spec = this.spec(name);
    const last = this.last(spec.name);
    if (last === undefined) return spec.default === undefined ? undefined : String(spec.default);
    if (last.value === null) return spec.kind === 'flag' ? 'true' : '';
    return last.value;
  }

  list(name: string): string[] {
    const spec = this.spec(name);
    return (this.occurrences.get(spec.name) ?? []).map((o) => o.value ?? '');
  }

  listInOrder(names: readonly string[]): Array<{ name: string; value: string }> {
    const all = names.flatMap((name) => {
      const canonical = this.spec(name).name;
      return (this.occurrences.get(canonical) ?? []).map((o) => ({ name: canonical, value: o.value ?? '', seq: o.seq }));
    });
    return all.sort((a, b) => a.seq - b.seq).map(({ name, value }) => ({ name, value }));
  }

  has(name: string): boolean {
    return this.occurrences.has(this.spec(name).name);
  }

  /** Where the effective value came from (last occurrence), for error messages downstream. */
  originOf(name: string): ConfigOrigin | undefined {
    return this.last(this.spec(name).name)?.origin;
  }

  /** Every option that was set or has a default, as typed values (for --print-config-json). */
  toJSON(): Record<string, TypedValue> {
    const out: Record<string, TypedValue> = {};
    for (const spec of REGISTRY) {
      if (!this.has(spec.name) && spec.default === undefined && !this.impliedByAnother(spec.name)) continue;
      out[spec.name] = this.typed(spec);
    }
    return out;
  }

  private typed(spec: OptionSpec): TypedValue {
    if (spec.kind === 'list') return this.list(spec.name);
    if (spec.type === 'bool') return this.bool(spec.name);
    if (spec.type === 'int' || spec.type === 'size' || spec.type === 'octal') return this.int(spec.name);
    return this.str(spec.name) ?? null;
  }

  private impliedByAnother(name: string): boolean {
    return REGISTRY.some((other) => other.implies?.includes(name) === true && this.isSetOn(other));
  }

  /** An implying option counts when set, and (for booleans) set to a true value. */
  private isSetOn(spec: OptionSpec): boolean {
    const last = this.last(spec.name);
    if (last === undefined) return false;
    return spec.type === 'bool' ? isTrue(last.value) : true;
  }

  private last(canonical: string): Occurrence | undefined {
    const list = this.occurrences.get(canonical);
    return list === undefined ? undefined : list[list.length - 1];
  }

  private spec(name: string): OptionSpec {
    const spec = findOption(name);
    if (spec === undefined) throw internal(`unknown option name '${name}' asked of Options`);
    return spec;
  }
}

/**
 * uWSGI turns `true` given to an optional-argument option (`chmod-socket = true`)
 * into "no value", the same as `--chmod-socket` alone.
 */
function valueOf(spec: OptionSpec, value: string | null): string | null {
  if (value !== null && argumentStyle(spec) === 'optional' && value.trim().toLowerCase() === 'true') return null;
  return value;
}

function defaultNumber(spec: OptionSpec): number {
  return typeof spec.default === 'number' ? spec.default : 0;
}

function internal(message: string): NuwsgiError {
  return new NuwsgiError('E_INTERNAL', message);
}
