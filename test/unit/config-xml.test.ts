import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../src/config/formats/xml';
import { ConfigError } from '../../src/util/errors';

const fail = (message: string, line?: number): ConfigError => new ConfigError(message, { source: 'file', file: 't.xml', ...(line === undefined ? {} : { line }) });

function errorOf(text: string): ConfigError {
  try {
    parseXml(text, undefined, fail);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('no error');
}

test('XML: a second root element is named at its own line, as libxml2 does (t.xml:6: Extra content at the end of the document)', () => {
  const err = errorOf('<?xml version="1.0"?>\n<uwsgi>\n  <master/>\n</uwsgi>\n\n<uwsgi><socket>x</socket></uwsgi>\n');
  assert.equal(err.origin?.line, 6);
  assert.match(err.message, /^t\.xml:6: could not parse XML: extra content at the end of the document/);
});

test('XML: a document with no element at all is refused at its end', () => {
  const err = errorOf('<?xml version="1.0"?>\n<!-- nothing -->\n');
  assert.match(err.message, /no root element/);
  assert.equal(err.origin?.line, 3);
});
