/**
 * /etc/default/nuwsgi: Debian's /etc/default/uwsgi is a shell fragment the
 * init script sources. nuwsgi-service is not a shell, so it reads the subset
 * those files use: `NAME=value` lines, optionally `export`ed, values bare or
 * in single or double quotes, `#` comments. Anything else is reported, never
 * silently dropped (no expansion: `$X` stays literal).
 */
import { readFileSync } from 'node:fs';

export interface DefaultsFile {
  values: Map<string, string>;
  /** "FILE:LINE: ..." for each line that is not an assignment we understand. */
  warnings: string[];
}

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** A missing file is no settings at all (the init script's `[ -r FILE ] && . FILE`). */
export function readDefaultsFile(file: string): DefaultsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { values: new Map(), warnings: [] };
  }
  return parseDefaults(text, file);
}

export function parseDefaults(text: string, file: string): DefaultsFile {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = ASSIGNMENT.exec(line);
    const value = m === null ? undefined : unquote((m[2] ?? '').trim());
    if (m === null || value === undefined) {
      warnings.push(`${file}:${index + 1}: not understood (only NAME=value lines are read): ${line}`);
      return;
    }
    values.set(m[1] as string, value);
  });
  return { values, warnings };
}

/** 'x' and "x" lose their quotes; a bare value ends at a comment; undefined for an unterminated quote. */
function unquote(value: string): string | undefined {
  const q = value[0];
  if (q === '"' || q === "'") {
    const end = value.indexOf(q, 1);
    if (end < 0) return undefined;
    const rest = value.slice(end + 1).trim();
    return rest === '' || rest.startsWith('#') ? value.slice(1, end) : undefined;
  }
  const hash = value.search(/\s#/);
  return (hash < 0 ? value : value.slice(0, hash)).trim();
}
