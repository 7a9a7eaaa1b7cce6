import type { ConfigError } from '../../util/errors';
import type { ReadResult } from './types';
export function parseXml(_text: string, _id: string | undefined, fail: (message: string) => ConfigError): ReadResult {
  throw fail('XML configuration is not supported yet');
}
