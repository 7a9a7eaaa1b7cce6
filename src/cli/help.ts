/** `nuwsgi --help`, generated from the option registry (never written by hand). */
import { REGISTRY, SECTIONS, argumentStyle } from '../config/registry';
import type { OptionSpec } from '../config/types';

const COLUMN = 40;

export function renderHelp(): string {
  const out = ['Usage: nuwsgi [options...] [config.ini|.yaml|.yml|.json|.js|.xml ...]', ''];
  out.push('Options marked [planned] are accepted (with a warning) but not implemented yet;');
  out.push('[refused] ones are uWSGI features nuwsgi will never provide. See docs/options.md.');
  out.push('Options of uWSGI plugins nuwsgi does not have (--fastrouter, --ugreen, ...: the list is in');
  out.push('docs/options.md, "Options of uWSGI plugins") are accepted with a warning naming the plugin, and ignored.');
  for (const section of SECTIONS) {
    out.push('', `${section}:`);
    for (const spec of REGISTRY.filter((o) => o.section === section)) out.push(helpLine(spec));
  }
  return `${out.join('\n')}\n`;
}

/** `    -p|--processes|--workers <n>      spawn the specified number of workers (default: 1)` */
export function helpLine(spec: OptionSpec): string {
  const left = `    ${optionForms(spec)}`;
  const pad = left.length < COLUMN ? ' '.repeat(COLUMN - left.length) : '  ';
  return `${left}${pad}${describe(spec)}`;
}

/** `-p|--processes|--workers <n>`, with `[=<v>]` for optional arguments. */
export function optionForms(spec: OptionSpec): string {
  const names = [spec.name, ...(spec.aliases ?? [])].map((n) => `--${n}`);
  if (spec.short !== undefined) names.unshift(`-${spec.short}`);
  const metavar = `<${spec.metavar ?? spec.type}>`;
  const style = argumentStyle(spec);
  const argument = style === 'none' ? '' : style === 'optional' ? `[=${metavar}]` : ` ${metavar}`;
  return `${names.join('|')}${argument}`;
}

/**
 * The row's help text as shown. uWSGI's own texts often carry their default
 * ("(default is 60)", "(per-worker, default 0)"); when the row has a default,
 * nuwsgi prints its own, so uWSGI's is dropped rather than shown twice (and
 * possibly different: nuwsgi's defaults differ on purpose in places).
 */
export function helpText(spec: OptionSpec): string {
  if (spec.default === undefined) return spec.help;
  return spec.help
    .replace(/\s*\(default\b[^)]*\)/gi, '')
    .replace(/,\s*default\b[^),]*(?=\))/gi, '')
    .trim();
}

function describe(spec: OptionSpec): string {
  const parts = [helpText(spec)];
  if (spec.default !== undefined && spec.kind !== 'flag') parts.push(`(default: ${String(spec.default)})`);
  if (spec.kind === 'flag' && spec.default === true) parts.push('(default: on)');
  if (spec.status === 'planned') parts.push('[planned]');
  if (spec.status === 'refused') parts.push('[refused]');
  return parts.join(' ');
}
