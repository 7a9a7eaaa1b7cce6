/**
 * The command line, parsed as uWSGI's getopt_long does:
 * - `--opt value`, `--opt=value`; a required value is taken from the next
 *   argument even when it starts with '-';
 * - flags take no value (`--master=1` is an error, as in getopt);
 * - optional-argument options (chmod-socket, log-date) only take `--opt=value`;
 * - short options: `-p 4`, `-p4`, clusters such as `-MTp4`;
 * - unique prefixes of long options are accepted (`--proce 4`), an ambiguous
 *   prefix is an error listing the possibilities;
 * - `--` ends the options;
 * - every other argument is a config file chosen by its extension, loaded
 *   after all options (getopt permutes non-options to the end);
 * - options of uWSGI plugins nuwsgi does not have (table/plugins.ts) are
 *   taken when written in full; options made by `declare-option` are known
 *   from the moment they are declared, as uWSGI rebuilds its getopt table
 *   then (they take a value when their template uses $1, $2 or $3).
 */
import { ConfigError, type ConfigOrigin } from '../util/errors';
import { allLongNames, argumentStyle, findOption, findPluginOption, findShort } from './registry';
import { bareArgumentHint, gunicornOptionHint } from './habits';
import { didYouMean } from './suggest';
import type { ArgumentStyle } from './types';

export interface ArgvOption {
  /** The long name as matched (an alias stays an alias), or the canonical name for a short option. */
  readonly key: string;
  readonly value: string | null;
}

export type ConfigFormat = 'ini' | 'yaml' | 'json' | 'xml';

export interface ParsedArgv {
  readonly options: readonly ArgvOption[];
  /** Bare config-file arguments, in order. */
  readonly files: ReadonlyArray<{ readonly format: ConfigFormat; readonly path: string }>;
}

export const ARGV_ORIGIN: ConfigOrigin = { source: 'argv' };

interface OptionSink {
  push(option: ArgvOption): void;
}

export interface ArgvContext {
  /** declare-option templates by name, as declared so far (the map may grow while parsing). */
  readonly customOptions?: ReadonlyMap<string, string>;
  /** Called with each option as soon as it is parsed: immediate options act before the next one is read. */
  readonly onOption?: (option: ArgvOption) => void;
}

/** `argv` without the node binary and script: usually `process.argv.slice(2)`. */
export function parseArgv(argv: readonly string[], context: ArgvContext = {}): ParsedArgv {
  const options: ArgvOption[] = [];
  const out: OptionSink = {
    push: (option) => {
      options.push(option);
      context.onOption?.(option);
    },
  };
  const custom = context.customOptions ?? new Map<string, string>();
  const bare: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    i++;
    if (arg === '--') {
      bare.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--')) i = parseLong(arg.slice(2), argv, i, out, custom);
    else if (arg.startsWith('-') && arg.length > 1) i = parseShortCluster(arg.slice(1), argv, i, out);
    else bare.push(arg);
  }
  return { options, files: bare.map((path) => bareFile(path, options)) };
}

function parseLong(body: string, argv: readonly string[], next: number, out: OptionSink, custom: ReadonlyMap<string, string>): number {
  const eq = body.indexOf('=');
  const typed = eq === -1 ? body : body.slice(0, eq);
  const inline = eq === -1 ? undefined : body.slice(eq + 1);
  const name = resolveLongName(typed, custom);
  const style = argumentStyleOf(name, custom);
  if (style === 'none') {
    if (inline !== undefined) throw argvError(`option '--${name}' doesn't allow an argument`);
    out.push({ key: name, value: null });
    return next;
  }
  if (inline !== undefined || style === 'optional') {
    out.push({ key: name, value: inline ?? null });
    return next;
  }
  const value = argv[next];
  if (value === undefined) throw argvError(`option '--${name}' requires an argument`);
  out.push({ key: name, value });
  return next + 1;
}

/** Registry rows, plugin options (exact names) and declared options: getopt's has_arg for each. */
function argumentStyleOf(name: string, custom: ReadonlyMap<string, string>): ArgumentStyle {
  const spec = findOption(name);
  if (spec !== undefined) return argumentStyle(spec);
  const plugin = findPluginOption(name);
  if (plugin !== undefined) return plugin.argument;
  return /\$[123]/.test(custom.get(name) ?? '') ? 'required' : 'none';
}

/** Exact name, or the only long name starting with `typed` (getopt_long's abbreviations). */
export function resolveLongName(typed: string, custom: ReadonlyMap<string, string> = new Map()): string {
  if (findOption(typed) !== undefined || findPluginOption(typed) !== undefined || custom.has(typed)) return typed;
  const candidates = typed === '' ? [] : [...allLongNames(), ...custom.keys()].filter((name) => name.startsWith(typed));
  if (candidates.length === 1 && candidates[0] !== undefined) return candidates[0];
  if (candidates.length > 1) {
    const list = candidates.map((c) => `'--${c}'`).join(' ');
    throw argvError(`option '--${typed}' is ambiguous; possibilities: ${list}`, 'E_CONFIG_UNKNOWN_OPTION');
  }
  const hint = gunicornOptionHint(typed) || didYouMean(typed, allLongNames());
  throw argvError(`unrecognized option '--${typed}'${hint}`, 'E_CONFIG_UNKNOWN_OPTION');
}

function parseShortCluster(cluster: string, argv: readonly string[], next: number, out: OptionSink): number {
  for (let pos = 0; pos < cluster.length; pos++) {
    const letter = cluster.charAt(pos);
    const spec = findShort(letter);
    if (spec === undefined) throw argvError(`invalid option -- '${letter}'`, 'E_CONFIG_UNKNOWN_OPTION');
    const style = argumentStyle(spec);
    const rest = cluster.slice(pos + 1);
    if (style === 'none') {
      out.push({ key: spec.name, value: null });
      continue;
    }
    if (rest !== '' || style === 'optional') {
      out.push({ key: spec.name, value: rest === '' ? null : rest });
      return next;
    }
    const value = argv[next];
    if (value === undefined) throw argvError(`option requires an argument -- '${letter}'`);
    out.push({ key: spec.name, value });
    return next + 1;
  }
  return next;
}

const EXTENSION_FORMATS: ReadonlyArray<[string, ConfigFormat]> = [
  ['.ini', 'ini'],
  ['.yaml', 'yaml'],
  ['.yml', 'yaml'],
  ['.json', 'json'],
  ['.js', 'json'],
  ['.xml', 'xml'],
];

/** The config format a path names by its extension (a `:section` suffix is ignored). */
export function formatOfPath(path: string): ConfigFormat | undefined {
  const withoutSection = path.replace(/:[^/:]*$/, '');
  for (const [extension, format] of EXTENSION_FORMATS) {
    if (withoutSection.endsWith(extension) || path.endsWith(extension)) return format;
  }
  return undefined;
}

function bareFile(path: string, options: readonly ArgvOption[]): { format: ConfigFormat; path: string } {
  const format = formatOfPath(path);
  if (format === undefined) {
    throw new ConfigError(
      `unable to load configuration from ${path} (a bare argument must be a .ini, .yaml, .yml, .json, .js or .xml file)${bareArgumentHint(path, options)}`,
      ARGV_ORIGIN,
    );
  }
  return { format, path };
}

/** The message already names the option as typed, so it is not repeated as `option '...':`. */
function argvError(message: string, code: 'E_CONFIG' | 'E_CONFIG_UNKNOWN_OPTION' = 'E_CONFIG'): ConfigError {
  return new ConfigError(`${message} (command line)`, ARGV_ORIGIN, undefined, code);
}
