/**
 * Reading one config file: open it (relative paths are relative to the
 * process's working directory, as in uWSGI, not to the including file; `-`,
 * `fd://N` and `exec://cmd` as uWSGI reads them: ./sources.ts),
 * substitute the magic variables in its raw text, then parse the asked
 * section with the format's reader.
 */
import { ConfigError, type ConfigOrigin } from '../util/errors';
import { parseIni } from './formats/ini';
import type { ReadResult } from './formats/types';
import { substituteMagic, type MagicTable } from './magic';
import { readSource, SourceError } from './sources';

export type ConfigFormat = 'ini' | 'yaml' | 'json' | 'xml';

/** `file.ini:section` → path and section (undefined = the format's default). */
export function splitSection(reference: string): { path: string; section: string | undefined } {
  const schemeEnd = reference.indexOf('://');
  const searchFrom = schemeEnd === -1 ? 0 : reference.lastIndexOf('/') + 1;
  const colon = reference.lastIndexOf(':');
  if (colon < searchFrom) return { path: reference, section: undefined };
  const section = reference.slice(colon + 1);
  return { path: reference.slice(0, colon), section: section === '' ? undefined : section };
}

export function readConfigSource(
  format: ConfigFormat,
  path: string,
  section: string | undefined,
  magic: MagicTable,
  cwd: string,
  origin: ConfigOrigin,
): ReadResult {
  const text = substituteMagic(readText(path, cwd, origin), magic);
  const fail = (message: string, line?: number): ConfigError =>
    new ConfigError(message, { source: 'file', file: path, ...(line === undefined ? {} : { line }) }, undefined, 'E_CONFIG_SYNTAX');
  switch (format) {
    case 'ini':
      return parseIni(text, section ?? 'uwsgi');
    // The other formats' parsers load when a file of theirs is read: a master keeps only what it used.
    case 'yaml':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('./formats/yaml') as typeof import('./formats/yaml')).parseYaml(text, section ?? 'uwsgi', fail);
    case 'json':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('./formats/json') as typeof import('./formats/json')).parseJson(text, section ?? 'uwsgi', fail);
    case 'xml':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('./formats/xml') as typeof import('./formats/xml')).parseXml(text, section, fail);
  }
}

function readText(path: string, cwd: string, origin: ConfigOrigin): string {
  try {
    return readSource(path, cwd).text;
  } catch (error: unknown) {
    if (!(error instanceof SourceError)) throw error;
    const why = error.code !== undefined ? `'${path}' (${error.code})` : `'${path}': ${error.message}`;
    throw new ConfigError(`cannot read config file ${why}`, origin, undefined, 'E_CONFIG_INCLUDE');
  }
}
