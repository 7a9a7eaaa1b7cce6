/**
 * The three expansion passes uWSGI runs once the whole tree is assembled, in
 * its order: `$(ENV)`, then `@(file)`, then `%(placeholder)`. Immediate
 * options and inherit templates are never expanded (uWSGI marks them as
 * already configured). Because the passes run last, `%(x)` sees keys defined
 * later in the file.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../util/errors';
import type { RawEntry } from './entry';
import { resolvePlaceholder } from './placeholder';

type Hook = (key: string) => string | undefined;

/** Guards the rescanning loop: `a = x%(a)` would otherwise grow forever (uWSGI hangs). */
const MAX_SUBSTITUTIONS = 10_000;

export function expandEntries(entries: RawEntry[], env: NodeJS.ProcessEnv, cwd: string): void {
  runPass(entries, '$', () => (name) => env[name]);
  runPass(entries, '@', (entry) => (reference) => readReference(reference, cwd, entry));
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

/** `@(path)` and `@(exec://command)`: the content, minus one trailing newline. */
function readReference(reference: string, cwd: string, entry: RawEntry): string {
  const fail = (why: string): ConfigError => new ConfigError(`@(${reference}): ${why}`, entry.origin, entry.key, 'E_CONFIG_EXPANSION');
  let content: string;
  if (reference.startsWith('exec://')) {
    try {
      content = execSync(reference.slice('exec://'.length), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    } catch (error: unknown) {
      throw fail(`command failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
  } else if (/^[a-z0-9]+:\/\//.test(reference)) {
    throw fail('only files and exec:// are supported by nuwsgi');
  } else {
    try {
      content = readFileSync(isAbsolute(reference) ? reference : join(cwd, reference), 'utf8');
    } catch (error: unknown) {
      throw fail(`cannot read file (${error instanceof Error && 'code' in error ? String(error.code) : 'error'})`);
    }
  }
  return content.endsWith('\n') ? content.slice(0, -1) : content;
}

function runaway(symbol: string, input: string, entry: RawEntry | undefined): ConfigError {
  const message = `${symbol}() expansion of '${input}' does not terminate (a placeholder refers to itself?)`;
  return new ConfigError(message, entry?.origin, entry?.key, 'E_CONFIG_EXPANSION');
}
