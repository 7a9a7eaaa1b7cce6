/**
 * Assembles the flattened configuration tree exactly in uWSGI's order
 * (uWSGI's add_exported_option): every `key = value` from every source is
 * appended in reading order; immediate options act as they are read (a config
 * file is inlined where it is referenced, `set` adds its key, if/for arm a
 * logic block); `inherit` templates are read last.
 */
import { ConfigError, type ConfigOrigin } from '../util/errors';
import type { RawEntry } from './entry';
import { readConfigSource, splitSection, type ConfigFormat } from './files';
import { BLOCK_END_KEYS, BLOCK_OPENERS, valuesForLine, type LogicBlock } from './logic';
import { fileMagic, staticMagic, upperMagic } from './magic';
import { isSchemeSource } from './sources';
import { findOption } from './registry';
import { formatOfPath } from './argv';
import type { OptionSpec } from './types';
import { atoi, describeOrigin, isTrue } from './values';

export class ConfigTree {
  readonly entries: RawEntry[] = [];
  readonly warnings: string[] = [];
  /** declare-option: custom option name → its template (`opt1=$1;opt2=$2`). */
  readonly customOptions = new Map<string, string>();
  strict = false;

  private logic: LogicBlock | undefined;
  private logicRunning = false;
  private scope = 0;
  private nextScope = 1;
  private readingTemplates = false;
  private readonly templates: Array<{ path: string; origin: ConfigOrigin }> = [];
  private readonly openFiles: string[] = [];
  private lastIniFile: string | undefined;
  private upper: Record<string, string> | undefined;
  private readonly staticTable: Record<string, string>;

  constructor(
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.staticTable = staticMagic(cwd);
  }

  /** One `key = value` from any source, routed through an open logic block if any. */
  add(key: string, value: string | null, origin: ConfigOrigin, envName?: string): void {
    if (!this.logicRunning) {
      if (BLOCK_END_KEYS.has(key)) this.logic = undefined;
      if (this.logic !== undefined) {
        this.runBlock(this.logic, key, value ?? '', origin);
        return;
      }
    }
    this.append(key, value, origin, envName);
  }

  /** Reads a whole source (argv, env, a bare file) as one scope, so a block left open in it is reported. */
  inScope(body: () => void): void {
    const outer = this.scope;
    this.scope = this.nextScope++;
    try {
      body();
      this.warnBlockOpen();
    } finally {
      this.scope = outer;
    }
  }

  /** `ini = file[:section]` and friends: reads the file now, inline. */
  loadFile(format: ConfigFormat, reference: string, origin: ConfigOrigin): void {
    const { path: named, section } = splitSection(reference);
    const path = format === 'ini' && named === '' ? this.lastIniFile : named;
    if (path === undefined || path === '') throw new ConfigError(`no previous INI file for '${reference}'`, origin, undefined, 'E_CONFIG_INCLUDE');
    if (format === 'ini') this.lastIniFile = path;
    this.guardCycle(path, section, origin, () => this.readFile(format, path, section, origin));
  }

  /** Reads the queued `inherit` templates (and any they queue), after every other source. */
  readTemplates(): void {
    this.readingTemplates = true;
    for (let next = this.templates.shift(); next !== undefined; next = this.templates.shift()) {
      const { path, origin } = next;
      this.inScope(() => this.loadFile(this.formatOf(path, origin), path, origin));
    }
    this.readingTemplates = false;
  }

  private readFile(format: ConfigFormat, path: string, section: string | undefined, origin: ConfigOrigin): void {
    const magic = fileMagic(path, section ?? '', this.cwd);
    // The first file's values, as uWSGI's first round; a scheme source (exec://...) sets none, so the next file does.
    if (this.upper === undefined && !this.readingTemplates && !isSchemeSource(path)) this.upper = upperMagic(magic);
    const table = { ...this.staticTable, ...magic, ...(this.upper ?? {}) };
    const result = readConfigSource(format, path, section, table, this.cwd, origin);
    if (!result.found && format === 'ini') this.warnings.push(`${path}: section [${section ?? 'uwsgi'}] not found (uWSGI only warns too)`);
    this.inScope(() => {
      for (const line of result.lines) this.add(line.key, line.value, { source: 'file', file: path, line: line.line });
    });
  }

  private guardCycle(path: string, section: string | undefined, origin: ConfigOrigin, read: () => void): void {
    const id = `${path}:${section ?? ''}`;
    if (this.openFiles.includes(id)) {
      const chain = [...this.openFiles.slice(this.openFiles.indexOf(id)), id].join(' -> ');
      throw new ConfigError(`include cycle: ${chain}`, origin, undefined, 'E_CONFIG_INCLUDE');
    }
    this.openFiles.push(id);
    try {
      read();
    } finally {
      this.openFiles.pop();
    }
  }

  private append(key: string, value: string | null, origin: ConfigOrigin, envName?: string): void {
    const spec = findOption(key);
    const entry: RawEntry = {
      key,
      value,
      origin,
      immediate: spec?.immediate === true,
      template: this.readingTemplates,
      ...(envName === undefined ? {} : { envName }),
    };
    this.entries.push(entry);
    if (spec?.immediate === true) this.applyImmediate(spec, entry);
  }

  private applyImmediate(spec: OptionSpec, entry: RawEntry): void {
    const value = entry.value ?? '';
    const origin = entry.origin;
    if (BLOCK_OPENERS.has(spec.name)) return this.openBlock(spec.name, entry.key, value, origin);
    switch (spec.name) {
      case 'ini':
      case 'yaml':
      case 'json':
      case 'xml':
        this.loadFile(spec.name, value, origin);
        // uWSGI's JSON and XML readers cut the `:object`/`:id` suffix off the value it shows.
        if (spec.name === 'json' || spec.name === 'xml') entry.value = splitSection(value).path;
        return;
      case 'include':
        return this.loadFile(this.formatOf(value, origin), value, origin);
      case 'inherit':
        this.templates.push({ path: value, origin });
        return;
      case 'set':
        return this.applySet(value, origin);
      case 'set-ph':
        return this.applySetPlaceholder(value, origin);
      case 'declare-option':
        return this.declareOption(value, origin);
      case 'strict':
        this.strict = isTrue(entry.value);
        return;
      case 'exit':
        return exitNow(entry.value, origin);
      default:
        return;
    }
  }

  private applySet(value: string, origin: ConfigOrigin): void {
    const [key, rest] = splitKeyValue(value, origin, 'set');
    this.add(key, rest, origin);
  }

  /** A placeholder only: never an option, and (being immediate) never expanded itself. */
  private applySetPlaceholder(value: string, origin: ConfigOrigin): void {
    const [key, rest] = splitKeyValue(value, origin, 'set-ph');
    if (findOption(key) !== undefined) throw new ConfigError(`you cannot use ${key} as a placeholder, it is already available as an option`, origin, 'set-ph');
    this.entries.push({ key, value: rest, origin, immediate: true, template: this.readingTemplates });
  }

  private declareOption(value: string, origin: ConfigOrigin): void {
    const [name, template] = splitKeyValue(value, origin, 'declare-option');
    this.customOptions.set(name, template);
  }

  private openBlock(kind: string, key: string, arg: string, origin: ConfigOrigin): void {
    if (this.logic !== undefined) throw new ConfigError(`recursive logic in options is not supported (option = ${key})`, origin, key, 'E_CONFIG_SYNTAX');
    this.logic = { kind, arg, openedAt: origin, scope: this.scope };
  }

  private runBlock(block: LogicBlock, key: string, value: string, origin: ConfigOrigin): void {
    const lookup = (name: string): string | null | undefined => this.entries.find((e) => e.key === name)?.value;
    let values: string[];
    try {
      const warn = (message: string): void => this.warnOnce(block.openedAt, block.kind, message);
      values = valuesForLine(block, value, { env: this.env, cwd: this.cwd, lookup, warn });
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`${block.kind} = ${block.arg}: ${reason}`, block.openedAt, block.kind);
    }
    this.logicRunning = true;
    try {
      for (const each of values) this.append(key, each, origin);
    } finally {
      this.logicRunning = false;
    }
  }

  /** A block's condition is evaluated for every line inside it: say each thing once. */
  private warnOnce(origin: ConfigOrigin, option: string, message: string): void {
    const line = `${describeOrigin(origin)}: option '${option}': ${message}`;
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }

  /**
   * uWSGI keeps a block open past the end of the file that opened it: what
   * is read next (the rest of the command line, the next file) still goes
   * through it. So does nuwsgi, saying so once: a YAML `endif:` without a
   * value is dropped by the reader (libyaml gives it no scalar), and uWSGI's
   * own docs show that form.
   */
  private warnBlockOpen(): void {
    const block = this.logic;
    if (block === undefined || block.scope !== this.scope) return;
    const closer = block.kind.startsWith('for') ? 'endfor' : 'endif';
    this.warnOnce(block.openedAt, block.kind, `the block is not closed by the end of this source (add '${closer}'): it goes on over what is read next, as in uWSGI`);
  }

  private formatOf(path: string, origin: ConfigOrigin): ConfigFormat {
    const format = formatOfPath(path);
    if (format === undefined) throw new ConfigError(`unable to load configuration from ${path} (unknown extension)`, origin, undefined, 'E_CONFIG_INCLUDE');
    return format;
  }
}

/**
 * uWSGI's `exit` calls exit() as soon as it is read: a guard such as
 * `if-not-env = SECRET_KEY` / `exit = 1` stops the start. The status is
 * atoi(value); no value (or `true`, which uWSGI reads as none) is 1.
 */
function exitNow(value: string | null, origin: ConfigOrigin): never {
  const status = value === null || value.trim().toLowerCase() === 'true' ? 1 : atoi(value).value;
  throw new ConfigError(`the configuration stops here with status ${status} (uWSGI's exit option)`, origin, 'exit', 'E_CONFIG_EXIT', status);
}

function splitKeyValue(value: string, origin: ConfigOrigin, option: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ConfigError(`expected key=value, got '${value}'`, origin, option);
  return [value.slice(0, eq), value.slice(eq + 1)];
}
