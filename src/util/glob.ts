import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Shell-style glob (`*`, `?`, `[...]` within one path segment), sorted. Node 20 has no fs.glob. */
export function expandGlob(pattern: string): string[] {
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s) => s !== '');
  let bases = [absolute ? '/' : '.'];
  for (const segment of segments) {
    if (!/[*?[]/.test(segment)) {
      bases = bases.map((b) => path.join(b, segment));
      continue;
    }
    const re = segmentRegExp(segment);
    bases = bases.flatMap((b) => listDir(b).filter((name) => re.test(name) && (segment.startsWith('.') || !name.startsWith('.'))).map((name) => path.join(b, name)));
  }
  return bases.filter((p) => exists(p)).sort();
}

function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
