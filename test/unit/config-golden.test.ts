/**
 * Golden --show-config outputs for the fixture configs in
 * test/fixtures/config (cases.json). The same goldens are checked against the
 * real uWSGI by test/integration/config-oracle.test.ts.
 * Regenerate after an intended change: NUWSGI_UPDATE_GOLDENS=1 node --test dist/test/unit/config-golden.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, renderShowConfig } from '../../src/config';
import { NUWSGI_VERSION } from '../../src/config/magic';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config');

interface GoldenCase {
  name: string;
  dir: string;
  args: string[];
  env: Record<string, string>;
}

const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: GoldenCase[] }).cases;

/** Machine-specific text replaced by markers: the fixtures' location and the version string. */
function normalize(text: string): string {
  // %0 is the first component of the fixtures' path: it depends on where the checkout lives.
  const root0 = realpathSync(FIXTURES).split('/')[1] ?? '';
  return text
    .split(realpathSync(FIXTURES)).join('@FIXTURES@').split(FIXTURES).join('@FIXTURES@').split(NUWSGI_VERSION).join('@VERSION@')
    .split(` 0=${root0} `).join(' 0=@ROOT0@ ');
}

for (const golden of cases) {
  test(`golden --show-config: ${golden.name}`, () => {
    const loaded = loadConfig(['--show-config', ...golden.args], { ...golden.env }, join(FIXTURES, golden.dir));
    assert.equal(loaded.action, 'show-config');
    const actual = normalize(renderShowConfig(loaded.entries));
    const path = join(FIXTURES, `${golden.name}.show-config`);
    if (process.env['NUWSGI_UPDATE_GOLDENS'] === '1') writeFileSync(path, actual);
    assert.equal(actual, readFileSync(path, 'utf8'));
  });
}
