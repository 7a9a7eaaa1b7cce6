import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGENERATE_COMMAND, renderOptionsMarkdown } from '../../src/cli/gen-docs';
import { helpLine, renderHelp } from '../../src/cli/help';
import { REGISTRY, findOption } from '../../src/config/registry';
import { PLUGIN_OPTIONS } from '../../src/config/table/plugins';

const ROOT = join(__dirname, '..', '..', '..');

test('docs/options.md is generated from the registry', () => {
  const committed = readFileSync(join(ROOT, 'docs', 'options.md'), 'utf8');
  assert.ok(committed === renderOptionsMarkdown(), `docs/options.md is stale: regenerate it with \`${REGENERATE_COMMAND}\``);
});

test('docs/options.md covers every option and states the default differences', () => {
  const markdown = renderOptionsMarkdown();
  for (const spec of REGISTRY) assert.ok(markdown.includes(`\`--${spec.name}\``), spec.name);
  for (const topic of ['need-app', 'die-on-term', 'max-vars', 'enable-threads', 'http-socket']) assert.ok(markdown.includes(topic));
  for (const name of Object.values(PLUGIN_OPTIONS).flat()) assert.ok(markdown.includes(`\`--${name.replace(/[!?]$/, '')}\``), name);
});

test('--help lines are uWSGI style: short|long|aliases <metavar>  help (default)', () => {
  const line = helpLine(findOption('processes')!);
  assert.match(line, /^ {4}-p\|--processes\|--workers <n> +spawn the specified number of workers \(default: 1\)$/);
  assert.match(helpLine(findOption('master')!), /^ {4}-M\|--master +enable the master process$/);
  assert.match(helpLine(findOption('cheaper-rss-limit-soft')!), /\[planned\]$/);
});

test('--help lists every implemented option, grouped by section', () => {
  const help = renderHelp();
  for (const spec of REGISTRY.filter((o) => o.status === 'implemented')) assert.ok(help.includes(`--${spec.name}`), spec.name);
  assert.ok(help.indexOf('Sockets:') < help.indexOf('Processes:'));
});
