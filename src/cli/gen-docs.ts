/**
 * docs/options.md, generated from the option registry.
 * Regenerate with: npx tsc -p tsconfig.json && node dist/src/cli/gen-docs.js
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTRY, SECTIONS, argumentStyle } from '../config/registry';
import { PLUGIN_OPTIONS } from '../config/table/plugins';
import type { OptionSpec } from '../config/types';
import { helpText } from './help';

export const REGENERATE_COMMAND = 'npx tsc -p tsconfig.json && node dist/src/cli/gen-docs.js';

const HEADER = `# nuwsgi options

<!-- Generated from src/config/table/*.ts by src/cli/gen-docs.ts: do not edit.
     Regenerate with: ${REGENERATE_COMMAND} -->

nuwsgi takes uWSGI's option names, aliases and short letters, on the command
line (\`--processes 4\`, \`-p 4\`), in the environment (\`UWSGI_PROCESSES=4\`,
\`NUWSGI_PROCESSES=4\`) and in config files (\`processes = 4\`). How files are
read is described in [config.md](config.md).

**Status** of each option:

- **implemented**: nuwsgi does it.
- **planned**: a uWSGI option nuwsgi knows but does not implement yet. It is
  accepted, never silently: a warning names it at startup.
- **refused**: a uWSGI feature nuwsgi will never provide (it would let a
  request choose what code runs, or only makes sense for uWSGI's plugins). It
  is accepted with a warning saying why.

Unknown keys are kept as placeholders (usable as \`%(key)\`), with a warning
and a "did you mean"; \`--strict\` makes them errors.

**Deliberate default differences from uWSGI 2.0:**

| option | uWSGI 2.0 | nuwsgi | why |
| --- | --- | --- | --- |
| \`need-app\` | off: a failed import serves 500s ("full dynamic mode") | on: exit code 22 | a broken deploy must fail loudly |
| \`die-on-term\` | off: SIGTERM is a brutal reload | on: SIGTERM shuts down | Docker, systemd and Kubernetes stop with SIGTERM |
| \`max-vars\` | 64 | 512 | modern browsers send more headers than 64 slots hold |
| \`enable-threads\` | off (2.0.21) | always on | threads started by the app (Sentry, APM agents) must run |
| \`http\` | a separate HTTP router process | an alias of \`http-socket\`: the workers speak HTTP | no extra process hop |
`;

export function renderOptionsMarkdown(): string {
  const parts = [HEADER];
  for (const section of SECTIONS) {
    parts.push(`\n## ${section}\n`);
    parts.push('| option | kind / type | default | status | description |');
    parts.push('| --- | --- | --- | --- | --- |');
    for (const spec of REGISTRY.filter((o) => o.section === section)) parts.push(markdownRow(spec));
  }
  parts.push(PLUGINS_HEADER);
  for (const [plugin, names] of Object.entries(PLUGIN_OPTIONS)) parts.push(`| ${plugin} | ${names.map(pluginOptionCell).join(', ')} |`);
  return `${parts.join('\n')}\n`;
}

const PLUGINS_HEADER = `
## Options of uWSGI plugins

uWSGI knows these once the plugin is loaded (\`plugins = http\`, or built in,
as in pip's uWSGI). nuwsgi accepts them anywhere, the command line included
(spelled in full there), with one warning naming the plugin, and ignores
them; \`strict\` does not refuse them. Options of the \`http\` plugin that
nuwsgi's HTTP socket does take (\`--http\`, \`--http-timeout\`,
\`--http-keepalive\`...) are in the sections above. \`(no value)\` marks an
option that takes none on the command line, \`(optional value)\` one that
takes it only as \`--name=value\`.

| plugin | options |
| --- | --- |`;

function pluginOptionCell(entry: string): string {
  const marker = entry.slice(-1);
  if (marker === '!') return `\`--${entry.slice(0, -1)}\` (no value)`;
  if (marker === '?') return `\`--${entry.slice(0, -1)}\` (optional value)`;
  return `\`--${entry}\``;
}

function markdownRow(spec: OptionSpec): string {
  const names = [spec.name, ...(spec.aliases ?? [])].map((n) => `\`--${n}\``);
  if (spec.short !== undefined) names.unshift(`\`-${spec.short}\``);
  const style = argumentStyle(spec);
  const kind = `${spec.kind} / ${spec.type}${style === 'optional' ? ' (optional value)' : ''}`;
  const fallback = spec.default === undefined ? '' : `\`${String(spec.default)}\``;
  const extra = [spec.why, spec.note].filter((t): t is string => t !== undefined);
  const implies = spec.implies === undefined ? [] : [`implies ${spec.implies.map((n) => `\`${n}\``).join(', ')}`];
  const description = [helpText(spec), ...implies, ...extra].join('. ');
  return `| ${names.join(', ')} | ${kind} | ${fallback} | ${spec.status} | ${escapeCell(description)} |`;
}

/** Pipes inside a table cell must be escaped. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

if (require.main === module) {
  const target = join(__dirname, '..', '..', '..', 'docs', 'options.md');
  writeFileSync(target, renderOptionsMarkdown());
  process.stdout.write(`wrote ${target}\n`);
}
