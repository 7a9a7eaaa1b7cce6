import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSchemeResolver } from '../../src/worker/scheme';

const xfp: Array<[string, string]> = [['HTTP_X_FORWARDED_PROTO', 'https']];

test('X-Forwarded-Proto is ignored by default, as it can come from anyone', () => {
  assert.equal(makeSchemeResolver([])('http', xfp, '127.0.0.1'), 'http');
});

test('it counts from an allowed peer only', () => {
  const resolve = makeSchemeResolver(['127.0.0.1,10.0.0.1']);
  assert.equal(resolve('http', xfp, '127.0.0.1'), 'https');
  assert.equal(resolve('http', xfp, '::ffff:10.0.0.1'), 'https');
  assert.equal(resolve('http', xfp, '192.0.2.1'), 'http');
  assert.equal(resolve('http', [['HTTP_X_FORWARDED_SSL', 'on']], '127.0.0.1'), 'https');
  assert.equal(resolve('http', [['HTTP_X_FORWARDED_PROTO', 'http']], '127.0.0.1'), 'http');
});

test('"*" trusts every peer; a TLS socket stays https whatever the header says', () => {
  const resolve = makeSchemeResolver(['*']);
  assert.equal(resolve('http', xfp, '192.0.2.1'), 'https');
  assert.equal(resolve('https', [['HTTP_X_FORWARDED_PROTO', 'http']], '192.0.2.1'), 'https');
});
