import type { ConfigError } from '../../util/errors';
import type { ReadResult } from './types';
export function parseYaml(_text: string, _section: string, fail: (message: string) => ConfigError): ReadResult {
  throw fail('YAML configuration is not supported yet');
}
