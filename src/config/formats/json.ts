/**
 * JSON as uWSGI reads it: `{"uwsgi": {...}}` (or `file.json:object`); strings
 * as they are, true → 1, false/null → 0, numbers as written, arrays become
 * repeated keys. Nested objects are ignored. JSON has no line numbers per key
 * here: each key reports the line where it appears in the text.
 */
import type { ConfigError } from '../../util/errors';
import type { FileLine, ReadResult } from './types';

type Fail = (message: string, line?: number) => ConfigError;

export function parseJson(text: string, object: string, fail: Fail): ReadResult {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error: unknown) {
    throw fail(`error parsing JSON data: ${error instanceof Error ? error.message : String(error)}`);
  }
  const config = isRecord(root) ? root[object] : undefined;
  if (!isRecord(config)) throw fail(`you must define a object named ${object} in your JSON data`);
  const lines: FileLine[] = [];
  for (const [key, value] of Object.entries(config)) {
    const line = lineOfKey(text, key);
    for (const item of Array.isArray(value) ? value : [value]) {
      const text = scalarText(item);
      if (text !== undefined) lines.push({ key, value: text, line });
    }
  }
  return { lines, found: true };
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === true) return '1';
  if (value === false || value === null) return '0';
  if (typeof value === 'number') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Best effort: the first line where `"key"` appears. */
function lineOfKey(text: string, key: string): number {
  const at = text.indexOf(JSON.stringify(key));
  return at === -1 ? 1 : text.slice(0, at).split('\n').length;
}
