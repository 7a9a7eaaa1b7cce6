/**
 * The three expansion passes uWSGI runs once the whole tree is assembled, in
 * its order: `$(ENV)`, then `@(file)`, then `%(placeholder)`. Immediate
 * options and inherit templates are never expanded (uWSGI marks them as
 * already configured). Because the passes run last, `%(x)` sees keys defined
 * later in the file.
 */
import { ConfigError } from '../util/errors';
import type { RawEntry } from './entry';
import { resolvePlaceholder } from './placeholder';
import { readSource, SourceError, type SourceText } from './sources';
import { describeOrigin } from './values';

type Hook = (key: string) => string | undefined;

/** Guards the rescanning loop: `a = x%(a)` would otherwise grow forever (uWSGI hangs). */
const MAX_SUBSTITUTIONS = 10_000;

/** `warnings` gets one line per `@(exec://...)` whose command failed (its output is used anyway). */
export function expandEntries(entries: RawEntry[], env: NodeJS.ProcessEnv, cwd: string, warnings: string[] = []): void {
  runPass(entries, '$', () => (name) => env[name]);
  runPass(entries, '@', (entry) => (reference) => readReference(reference, cwd, entry, warnings));
  const firstValue = (key: string): string | null | undefined => entries.find((e) => e.key === key)?.value;
  runPass(entries, '%', () => (key) => resolvePlaceholder(key, firstValue));
}

function runPass(entries: RawEntry[], symbol: string, hookFor: (entry: RawEntry) => Hook): void {
  for (const entry of entries) {
    if (entry.value === null || entry.immediate || entry.template) continue;
    entry.value = expandValue(entry.value, symbol, hookFor(entry), entry);
  }
}

/**
 * uWSGI's scanner (uwsgi_apply_config_pass), quirks included: nested
 * parentheses are balanced, the innermost `X(...)` is replaced first, and after
 * each replacement the scan restarts at index 1 (not 0), so a value that
 * becomes `%(other)` from its first character is not expanded again.
 */
export function expandValue(input: string, symbol: string, hook: Hook, entry?: RawEntry): string {
  let value = input;
  let state = 0; // 0 idle, 1 saw symbol, >= 2 inside: key length + 2
  let depth = 0;
  let keyStart = -1;
  let substitutions = 0;
  for (let j = 0; j < value.length; j++) {
    const char = value.charAt(j);
    if (char === symbol) state = 1;
    else if (char === '(' && state === 1) {
      state = 2;
      depth = 0;
      keyStart = j + 1;
    } else if (state > 1) {
      if (char === '(') {
        state++;
        depth++;
      } else if (char === ')') {
        if (depth > 0) {
          state++;
          depth--;
          continue;
        }
        if (state <= 2) {
          state = 0;
          continue;
        }
        const replacement = hook(value.slice(keyStart, keyStart + state - 2));
        if (replacement !== undefined) {
          value = value.slice(0, keyStart - 2) + replacement + value.slice(keyStart + state - 1);
          if (++substitutions > MAX_SUBSTITUTIONS) throw runaway(symbol, input, entry);
          j = 0;
        }
        state = 0;
      } else state++;
    } else state = 0;
  }
  return value;
}

/**
 * `@(path)`, `@(exec://command)`, `@(fd://N)`, `@(-)`: the content, minus one
 * trailing newline or carriage return (uWSGI's uwsgi_at_file_read).
 */
function readReference(reference: string, cwd: string, entry: RawEntry, warnings: string[]): string {
  let source: SourceText;
  try {
    source = readSource(reference, cwd);
  } catch (error: unknown) {
    if (!(error instanceof SourceError)) throw error;
    const why = error.code !== undefined ? `cannot read file (${error.code})` : error.message;
    throw new ConfigError(`@(${reference}): ${why}`, entry.origin, entry.key, 'E_CONFIG_EXPANSION');
  }
  if (source.failedStatus !== undefined) {
    warnings.push(`${describeOrigin(entry.origin)}: option '${entry.key}': @(${reference}) exited with status ${source.failedStatus}: its output is used all the same, as uWSGI does`);
  }
  const content = source.text;
  return content.endsWith('\n') || content.endsWith('\r') ? content.slice(0, -1) : content;
}

function runaway(symbol: string, input: string, entry: RawEntry | undefined): ConfigError {
  const message = `${symbol}() expansion of '${input}' does not terminate (a placeholder refers to itself?)`;
  return new ConfigError(message, entry?.origin, entry?.key, 'E_CONFIG_EXPANSION');
}
