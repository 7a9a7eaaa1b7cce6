/**
 * Content types from mime.types files (`type ext ext...` per line, '#'
 * comments), as uWSGI's --mimefile reads them (default /etc/mime.types, from
 * Debian's media-types package).
 */
import { readFileSync } from 'node:fs';

export type MimeTable = ReadonlyMap<string, string>;

/** Parse one file's text; earlier entries win, as in uWSGI's lookup. */
export function parseMimeTypes(text: string, into = new Map<string, string>()): Map<string, string> {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [type, ...exts] = line.split(/\s+/);
    if (type === undefined || !type.includes('/')) continue;
    for (const ext of exts) if (!into.has(ext)) into.set(ext, type);
  }
  return into;
}

/** Read the files; a missing one is reported through `warn` and skipped (uWSGI carries on too). */
export function loadMimeTypes(files: readonly string[], warn: (line: string) => void): MimeTable {
  const table = new Map<string, string>();
  for (const file of files) {
    try {
      parseMimeTypes(readFileSync(file, 'utf8'), table);
    } catch (err) {
      warn(`static files: unable to read mime types file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): files are served without Content-Type\n`);
    }
  }
  return table;
}

/**
 * The type for a file name: by what follows its last '.', as uWSGI
 * (case-sensitive first, then lowercased: "PHOTO.JPG" is still an image).
 * undefined when unknown: uWSGI then sends no Content-Type, and so do we.
 */
export function mimeTypeFor(table: MimeTable, filename: string): string | undefined {
  const slash = filename.lastIndexOf('/');
  const dot = filename.lastIndexOf('.');
  if (dot < 0 || dot < slash) return undefined;
  const ext = filename.slice(dot + 1);
  return table.get(ext) ?? table.get(ext.toLowerCase());
}

/** Text types are sent as UTF-8, as nginx with `charset utf-8` (uWSGI names no charset). */
export function contentTypeHeader(type: string): string {
  return isText(type) ? `${type}; charset=utf-8` : type;
}

function isText(type: string): boolean {
  return (
    type.startsWith('text/') ||
    type === 'application/javascript' ||
    type === 'application/json' ||
    type === 'application/xml' ||
    type === 'application/ecmascript' ||
    type.endsWith('+xml') ||
    type.endsWith('+json')
  );
}
