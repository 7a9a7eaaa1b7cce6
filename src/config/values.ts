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

const INTEGER = /^[+-]?\d+$/;
const OCTAL_MODE = /^[0-7]{1,4}$/;

/** Parses a decimal integer exactly (no trailing garbage, unlike C's atoi). */
export function parseInteger(value: string): number | undefined {
  const text = value.trim();
  if (!INTEGER.test(text)) return undefined;
  const parsed = Number.parseInt(text, 10);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** Parses file-mode digits such as 660 or 0644. */
export function parseOctal(value: string): number | undefined {
  const text = value.trim();
  return OCTAL_MODE.test(text) ? Number.parseInt(text, 8) : undefined;
}

/**
 * Throws a ConfigError naming the origin and option when `value` does not fit
 * the option's type. uWSGI would silently atoi() `processes = many` to 0;
 * nuwsgi refuses to start instead.
 */
export function validateValue(spec: OptionSpec, key: string, value: string | null, origin: ConfigOrigin): void {
  if (value === null || spec.type === 'bool') return;
  const problem = typeProblem(spec, value);
  if (problem !== undefined) throw new ConfigError(`${problem}, got '${value}'${where(origin)}`, origin, key);
}

function typeProblem(spec: OptionSpec, value: string): string | undefined {
  switch (spec.type) {
    case 'int':
    case 'size':
      return integerProblem(spec, value);
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

function integerProblem(spec: OptionSpec, value: string): string | undefined {
  const parsed = parseInteger(value);
  const expected = spec.type === 'size' ? 'a non-negative integer' : 'an integer';
  if (parsed === undefined) return `expected ${expected}`;
  const min = spec.type === 'size' ? Math.max(0, spec.min ?? 0) : spec.min;
  if (min !== undefined && parsed < min) return `must be at least ${min}`;
  if (spec.max !== undefined && parsed > spec.max) return `must be at most ${spec.max}`;
  return undefined;
}

/** Command-line and environment origins have no file; say where the value came from. */
function where(origin: ConfigOrigin): string {
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
