/**
 * Config logic blocks (if-env ... endif, for ... endfor), as uWSGI 2.0 runs
 * them: the opening option arms a block; every following line is handed to the
 * block, which adds it zero, one or several times with `%(_)` replaced; the
 * condition is evaluated again for each line, at the moment it is read.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { ConfigOrigin } from '../util/errors';
import { globSync } from './glob';

export interface LogicBlock {
  /** The opening option's canonical name, e.g. 'if-env'. */
  readonly kind: string;
  /** The opening option's raw value (never expanded: it is immediate). */
  readonly arg: string;
  readonly openedAt: ConfigOrigin;
  /** Which file (or 'argv'/'env') opened it, to report blocks left open. */
  readonly scope: number;
}

/** Keys that close any block (uWSGI 2.0.21 has no `else`). */
export const BLOCK_END_KEYS: ReadonlySet<string> = new Set(['end', 'endif', 'end-if', 'endfor', 'end-for']);

export const BLOCK_OPENERS: ReadonlySet<string> = new Set([
  'if-env', 'if-not-env', 'if-exists', 'if-not-exists', 'if-file', 'if-not-file', 'if-dir', 'if-not-dir',
  'if-opt', 'if-not-opt', 'if-hostname', 'if-not-hostname', 'if-hostname-match', 'if-not-hostname-match', 'if-reload',
  'if-not-reload', 'if-plugin', 'if-not-plugin', 'for', 'for-glob', 'for-times', 'for-readline',
]);

export interface LogicEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** First value of an already-read key (uWSGI's uwsgi_get_exported_opt), null for a valueless flag. */
  readonly lookup: (key: string) => string | null | undefined;
  /** Says something about the block without stopping (a for-readline file that cannot be read). */
  readonly warn: (message: string) => void;
}

/**
 * The values to add for one line inside `block`: [] when the condition fails,
 * one value for a passing if, one per item for a for.
 */
export function valuesForLine(block: LogicBlock, value: string, context: LogicEnvironment): string[] {
  const items = loopItems(block, context);
  if (items !== undefined) return items.map((item) => replaceUnderscore(value, item));
  const data = conditionData(block, context);
  if (data === false) return [];
  return [data === null ? value : replaceUnderscore(value, data)];
}

/** `%(_)` replaced everywhere; a null datum (if-not-env of an unset variable) leaves it literal. */
function replaceUnderscore(value: string, datum: string): string {
  return value.split('%(_)').join(datum);
}

function loopItems(block: LogicBlock, context: LogicEnvironment): string[] | undefined {
  switch (block.kind) {
    case 'for':
      return block.arg.split(' ').filter((item) => item !== '');
    case 'for-times':
      return Array.from({ length: Math.max(0, Number.parseInt(block.arg, 10) || 0) }, (_, i) => String(i + 1));
    case 'for-glob':
      return globSync(block.arg, context.cwd);
    case 'for-readline':
      return readLines(absolute(block.arg, context.cwd), block.arg, context);
    default:
      return undefined;
  }
}

/** The `%(_)` datum when the condition holds (null: holds, nothing to substitute), false when it fails. */
function conditionData(block: LogicBlock, context: LogicEnvironment): string | null | false {
  const negated = block.kind.startsWith('if-not-');
  const test = negated ? `if-${block.kind.slice('if-not-'.length)}` : block.kind;
  if (test === 'if-env') return compareNamed(block.arg, (name) => context.env[name], negated);
  if (test === 'if-opt') return compareNamed(block.arg, (name) => context.lookup(name) ?? undefined, negated);
  const holds = simpleTest(test, block.arg, context);
  return holds !== negated ? block.arg : false;
}

/**
 * if-env / if-opt: `NAME` tests presence, `NAME=value` tests equality. The
 * datum is the found value; for the negated forms it is the found value too
 * (or none, leaving `%(_)` literal), as in uWSGI.
 */
function compareNamed(arg: string, get: (name: string) => string | undefined, negated: boolean): string | null | false {
  const eq = arg.indexOf('=');
  const name = eq === -1 ? arg : arg.slice(0, eq);
  const found = get(name);
  const matches = found !== undefined && (eq === -1 || found === arg.slice(eq + 1));
  if (matches === negated) return false;
  return found ?? null;
}

function simpleTest(test: string, arg: string, context: LogicEnvironment): boolean {
  const path = absolute(arg, context.cwd);
  switch (test) {
    case 'if-exists':
      return existsSync(path);
    case 'if-file':
      return statOrUndefined(path)?.isFile() === true;
    case 'if-dir':
      return statOrUndefined(path)?.isDirectory() === true;
    case 'if-hostname':
      return hostname() === arg;
    case 'if-hostname-match':
      return hostnameMatches(arg);
    case 'if-reload':
      return false; // nuwsgi re-reads its configuration in a new process: never a reload here
    case 'if-plugin':
      return arg === 'python' || arg === 'python3'; // Python is built in; no other plugin exists
    default:
      return false;
  }
}

/**
 * PCRE there, a JavaScript RegExp here (the same for the patterns hostnames
 * need). uWSGI counts a pattern that does not compile as a match.
 */
function hostnameMatches(pattern: string): boolean {
  let regexp: RegExp;
  try {
    regexp = new RegExp(pattern);
  } catch {
    return true;
  }
  return regexp.test(hostname());
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The file's lines without their line ends; none when it cannot be read (uWSGI logs that and goes on). */
function readLines(path: string, named: string, context: LogicEnvironment): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error: unknown) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    context.warn(`cannot read '${named}' (${code}): the block adds nothing, as in uWSGI`);
    return [];
  }
  const lines = text.split('\n').map((line) => line.replace(/\r+$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}
