/**
 * A small glob(3) for for-glob: `*`, `?` and `[...]` within path segments,
 * sorted results, directories marked with a trailing '/' (GLOB_MARK), and the
 * pattern itself when nothing matches (GLOB_NOCHECK), as uWSGI calls it.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export function globSync(pattern: string, cwd: string): string[] {
  const absolute = isAbsolute(pattern);
  const segments = pattern.split('/').filter((segment, index) => segment !== '' || index === 0);
  let matches = [absolute ? '/' : ''];
  for (const segment of segments.slice(absolute ? 1 : 0)) {
    matches = matches.flatMap((base) => expandSegment(base, segment, cwd));
  }
  const found = matches.filter((m) => m !== '' && m !== '/').sort();
  return found.length === 0 ? [pattern] : found.map((m) => (isDirectory(m, cwd) ? `${m}/` : m));
}

function expandSegment(base: string, segment: string, cwd: string): string[] {
  if (!/[*?[]/.test(segment)) return [joinPath(base, segment)].filter((p) => exists(p, cwd));
  const regex = segmentRegex(segment);
  return listDir(base === '' ? cwd : resolve(base, cwd))
    .filter((name) => regex.test(name) && (segment.startsWith('.') || !name.startsWith('.')))
    .map((name) => joinPath(base, name));
}

function segmentRegex(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment.charAt(i);
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) source += '\\[';
      else {
        source += `[${segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function joinPath(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
}

function resolve(path: string, cwd: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function exists(path: string, cwd: string): boolean {
  try {
    statSync(resolve(path, cwd));
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string, cwd: string): boolean {
  try {
    return statSync(resolve(path, cwd)).isDirectory();
  } catch {
    return false;
  }
}
