/**
 * Value semantics shared by every source: uWSGI truthiness and the typed
 * validation done once, at load time.
 */
import { ConfigError, type ConfigOrigin } from '../util/errors';
import type { OptionSpec } from './types';

const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

/**
 * uWSGI's boolean rule: anything except false/off/no/0 (case-insensitive) is
 * true, and an empty value is true (`master =` or a bare `master` line).
 * `null` is a command-line flag given without a value.
 */
export function isTrue(value: string | null): boolean {
  if (value === null) return true;
  return !FALSE_WORDS.has(value.trim().toLowerCase());
}

const OCTAL_MODE = /^[0-7]{1,4}$/;
const ATOI_PREFIX = /^\s*([+-]?\d+)/;
const WHOLE_INTEGER = /^\s*[+-]?\d+\s*$/;

/**
 * C's atoi(), as uWSGI parses every number: optional leading whitespace and
 * sign, then digits; whatever follows is ignored and no digits at all give 0
 * (`cheaper = true` is 0). `exact` says whether the value was just a number.
 */
export function atoi(value: string): { value: number; exact: boolean } {
  const match = ATOI_PREFIX.exec(value);
  const parsed = match === null ? 0 : Number.parseInt(match[1] as string, 10);
  const safe = Number.isSafeInteger(parsed) ? parsed : Math.sign(parsed) * Number.MAX_SAFE_INTEGER;
  return { value: safe === 0 ? 0 : safe, exact: WHOLE_INTEGER.test(value) && Number.isSafeInteger(parsed) };
}

/** Parses a decimal integer exactly (no trailing garbage, unlike C's atoi). */
export function parseInteger(value: string): number | undefined {
  if (!WHOLE_INTEGER.test(value)) return undefined;
  const parsed = Number.parseInt(value.trim(), 10);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** Parses file-mode digits such as 660 or 0644. */
export function parseOctal(value: string): number | undefined {
  const text = value.trim();
  return OCTAL_MODE.test(text) ? Number.parseInt(text, 8) : undefined;
}

/** An int/size option's value as nuwsgi uses it, and what to say about it. */
export interface IntegerReading {
  readonly value: number;
  /** Why the value is not what was written (not a number, out of nuwsgi's bounds); undefined when it is. */
  readonly warning?: string;
  /** Why the value cannot be used at all (a negative number). */
  readonly error?: string;
}

/**
 * Reads an int/size value the way uWSGI does (atoi), then keeps it inside
 * nuwsgi's bounds. Only a negative number is an error: uWSGI refuses those
 * too ("must be > 0"), or wraps them into huge unsigned values, which nobody
 * means. A value that was not a number, or is out of the bounds, is used as
 * read (or clamped) with a warning: uWSGI would have started with it.
 */
export function readInteger(spec: OptionSpec, value: string): IntegerReading {
  const read = atoi(value);
  if (read.value < 0) return { value: 0, error: `must not be negative, got '${value}'` };
  const notes: string[] = [];
  if (!read.exact) notes.push(`expects a number, got '${value}': read as ${read.value}, as uWSGI's atoi() does`);
  const min = spec.min ?? 0;
  let result = read.value;
  if (result < min) {
    notes.push(`${result} is below nuwsgi's minimum: using ${min}`);
    result = min;
  } else if (spec.max !== undefined && result > spec.max) {
    notes.push(`${result} is above the maximum: using ${spec.max}`);
    result = spec.max;
  }
  return notes.length === 0 ? { value: result } : { value: result, warning: notes.join('; ') };
}

/**
 * Checks a value against the option's type. Throws a ConfigError naming the
 * origin and option for what cannot be used (a negative number, a bad octal
 * mode, an empty address); returns a warning for what uWSGI would take and
 * nuwsgi reads the same way (`processes = 4 workers` is 4, `cheaper = true` 0).
 */
export function validateValue(spec: OptionSpec, key: string, value: string | null, origin: ConfigOrigin): string | undefined {
  if (value === null || spec.type === 'bool') return undefined;
  if ((spec.type === 'int' || spec.type === 'size') && value !== '') {
    const reading = readInteger(spec, value);
    if (reading.error !== undefined) throw new ConfigError(`${reading.error}${where(origin)}`, origin, key);
    return reading.warning === undefined ? undefined : `${describeOrigin(origin)}: option '${key}' ${reading.warning}`;
  }
  const problem = typeProblem(spec, value);
  if (problem !== undefined) throw new ConfigError(`${problem}, got '${value}'${where(origin)}`, origin, key);
  return undefined;
}

function typeProblem(spec: OptionSpec, value: string): string | undefined {
  switch (spec.type) {
    case 'octal':
      return value === '' || parseOctal(value) !== undefined ? undefined : 'expected octal mode digits such as 660';
    case 'addr':
      return value.trim() === '' ? 'expected a socket address (/path, host:port, :port or @abstract)' : undefined;
    case 'kv':
      return value.includes('=') ? undefined : 'expected KEY=VALUE';
    default:
      return undefined;
  }
}

/** Command-line and environment origins have no file; say where the value came from. */
export function where(origin: ConfigOrigin): string {
  if (origin.file !== undefined) return '';
  if (origin.source === 'argv') return ' (command line)';
  if (origin.source === 'env') return ' (environment)';
  return '';
}

/** `file:line: ` / `command line: ` / `environment: ` prefix for warnings. */
export function describeOrigin(origin: ConfigOrigin): string {
  if (origin.file !== undefined) return origin.line !== undefined ? `${origin.file}:${origin.line}` : origin.file;
  if (origin.source === 'argv') return 'command line';
  if (origin.source === 'env') return 'environment';
  return 'default';
}
