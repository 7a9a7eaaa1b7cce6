/**
 * The configuration layer's entry point. Sources are read in uWSGI's order:
 * UWSGI_... and NUWSGI_... environment variables, the command line (config files
 * inlined where referenced), bare config-file arguments, inherit templates;
 * then the $(), @() and %() passes; then typed validation.
 */
import type { ConfigOrigin } from '../util/errors';
import { ARGV_ORIGIN, parseArgv, type ParsedArgv } from './argv';
import { expandCustomOptions } from './custom';
import { referencedKeys, reportKeys } from './diagnostics';
import { envEntries } from './env';
import { expandEntries } from './expand';
import type { Options } from './options';
import { ResolvedOptions, type ResolvedEntry } from './options-impl';
import { findOption } from './registry';
import { checkGunicornHabits, portWithoutColonWarnings } from './habits';
import { alwaysOnWarnings } from './safe-defaults';
import { defaultSocketProtocol } from './socket-protocol';
import { ConfigTree } from './tree';

export type { Options } from './options';
export { ResolvedOptions } from './options-impl';
export { renderConfigJson, renderShowConfig } from './render';
import { renderConfigJson, renderShowConfig } from './render';

/**
 * - 'help' / 'version': print and exit (checked on the command line first, so
 *   a broken config file cannot hide --help).
 * - 'print-config-json': print `renderConfigJson(...)` and exit.
 * - 'show-config': given on the command line: print `renderShowConfig(entries)`
 *   and exit. When `show-config` is set in a file or the environment the action
 *   stays 'run' and `options.bool('show-config')` is true: print it at startup
 *   and keep running, as uWSGI does.
 */
export type ConfigAction = 'run' | 'help' | 'version' | 'show-config' | 'print-config-json';

export interface LoadedConfig {
  options: Options;
  /** Flattened, in order, expanded: exactly what --show-config prints. */
  entries: Array<{ key: string; value: string; origin: ConfigOrigin }>;
  /** Already formatted: `file:line: ...`, `command line: ...`, `environment UWSGI_X: ...`. */
  warnings: string[];
  action: ConfigAction;
}

/** Throws ConfigError on bad input. Pure apart from reading config files (and @(exec://...)). */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cwd: string): LoadedConfig {
  const early = earlyAction(argv);
  if (early !== undefined) return argvOnly(early.parsed, early.action);

  const tree = new ConfigTree(cwd, env);
  tree.inScope(() => {
    for (const entry of envEntries(env)) tree.add(entry.key, entry.value, entry.origin, entry.envName);
  });
  // Parsed while the tree grows, as uWSGI's getopt loop runs: a file named by --ini is read, and an option
  // declared there (or by --declare-option) is known, before the next argument is looked at.
  let parsed: ParsedArgv = { options: [], files: [] };
  tree.inScope(() => {
    parsed = parseArgv(argv, { customOptions: tree.customOptions, onOption: (option) => tree.add(option.key, option.value, ARGV_ORIGIN) });
  });
  for (const file of parsed.files) tree.inScope(() => tree.loadFile(file.format, file.path, ARGV_ORIGIN));
  tree.readTemplates();

  const referenced = referencedKeys(tree.entries);
  expandEntries(tree.entries, env, cwd, tree.warnings);
  const report = reportKeys(tree.entries, tree.customOptions, tree.strict, referenced);
  const resolved: ResolvedEntry[] = [...tree.entries, ...expandCustomOptions(tree.entries, tree.customOptions)];
  const options = new ResolvedOptions(resolved);
  checkGunicornHabits(options); // -b ADDR, -w N: gunicorn's letters, uWSGI's meanings
  if (options.has('protocol')) defaultSocketProtocol(options.str('protocol'), options.originOf('protocol')); // fails here, with file and line
  return {
    options,
    entries: tree.entries.map((e) => ({ key: e.key, value: e.value ?? 'true', origin: e.origin })),
    warnings: [...tree.warnings, ...report.warnings, ...options.warnings, ...alwaysOnWarnings(options), ...portWithoutColonWarnings(options)],
    action: chooseAction(options, parsed),
  };
}

/**
 * --help and --version win over everything else on the command line, a broken
 * file included. Options declared inside files are not known yet here, so a
 * command line that uses one is read again, option by option, with the tree.
 */
function earlyAction(argv: readonly string[]): { action: 'help' | 'version'; parsed: ParsedArgv } | undefined {
  let parsed: ParsedArgv;
  try {
    parsed = parseArgv(argv, { customOptions: declaredOnCommandLine(argv) });
  } catch {
    return undefined; // the real pass reports it, at its place
  }
  const names = parsed.options.map((o) => findOption(o.key)?.name);
  if (names.includes('help')) return { action: 'help', parsed };
  if (names.includes('version')) return { action: 'version', parsed };
  return undefined;
}

/** `--declare-option name=template` values of the command line, for the first look at it. */
function declaredOnCommandLine(argv: readonly string[]): Map<string, string> {
  const declared = new Map<string, string>();
  argv.forEach((arg, i) => {
    const value = arg.startsWith('--declare-option=') ? arg.slice(arg.indexOf('=') + 1) : arg === '--declare-option' ? argv[i + 1] : undefined;
    const eq = value?.indexOf('=') ?? -1;
    if (value !== undefined && eq > 0) declared.set(value.slice(0, eq), value.slice(eq + 1));
  });
  return declared;
}

function argvOnly(parsed: ParsedArgv, action: 'help' | 'version'): LoadedConfig {
  const entries = parsed.options.map((o) => ({ key: o.key, value: o.value, origin: ARGV_ORIGIN }));
  return {
    options: new ResolvedOptions(entries),
    entries: entries.map((e) => ({ ...e, value: e.value ?? 'true' })),
    warnings: [],
    action,
  };
}

function chooseAction(options: ResolvedOptions, parsed: ParsedArgv): ConfigAction {
  if (options.bool('help')) return 'help';
  if (options.bool('version')) return 'version';
  if (options.bool('print-config-json')) return 'print-config-json';
  const onCommandLine = parsed.options.some((o) => findOption(o.key)?.name === 'show-config');
  if (onCommandLine && options.bool('show-config')) return 'show-config';
  return 'run';
}

/** What --show-config / --print-config-json print for this loaded configuration. */
export function renderConfigOutput(loaded: LoadedConfig): string {
  if (loaded.action === 'print-config-json' && loaded.options instanceof ResolvedOptions) {
    return renderConfigJson(loaded.options, loaded.entries);
  }
  return renderShowConfig(loaded.entries);
}
