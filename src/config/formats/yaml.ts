/**
 * The YAML subset uWSGI configs use, read the way Debian's uWSGI (built with
 * libyaml) reads it: under a top-level `uwsgi:` (or `file.yml:section`),
 * `key: value` lines become options; quoted scalars lose their quotes;
 * ` # comments` are stripped; a key with a block (`- a`) or flow (`[a, b]`)
 * sequence repeats; `|` / `>` block scalars are supported; a key with no
 * value is dropped (libyaml yields no scalar for it).
 */
import type { ConfigError } from '../../util/errors';
import type { FileLine, ReadResult } from './types';

type Fail = (message: string, line?: number) => ConfigError;

interface YamlLine {
  readonly indent: number;
  readonly text: string; // comment stripped, trimmed
  readonly raw: string;
  readonly number: number;
}

export function parseYaml(text: string, section: string, fail: Fail): ReadResult {
  const lines = toLines(text);
  const start = lines.findIndex((l) => l.indent === 0 && keyOf(l.text)?.key === section && keyOf(l.text)?.rest === '');
  if (start === -1) return { lines: [], found: false };
  const body: YamlLine[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.indent === 0) break;
    body.push(line);
  }
  return { lines: readMapping(body, fail), found: true };
}

function readMapping(body: readonly YamlLine[], fail: Fail): FileLine[] {
  const out: FileLine[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = body[i] as YamlLine;
    const pair = keyOf(line.text);
    if (pair === undefined) {
      if (line.text.startsWith('- ') || line.text === '-') continue; // a sequence item with no key: ignored
      throw fail(`unsupported YAML line: ${line.text}`, line.number);
    }
    const children = deeperLines(body, i);
    i += children.length;
    for (const value of valuesOf(pair.rest, children, line, fail)) out.push({ key: pair.key, value, line: line.number });
  }
  return out;
}

function valuesOf(rest: string, children: readonly YamlLine[], line: YamlLine, fail: Fail): string[] {
  if (rest === '|' || rest === '>' || rest === '|-' || rest === '>-') return [blockScalar(rest, children)];
  if (rest.startsWith('[')) return flowSequence(rest, line, fail);
  if (rest !== '') return [scalar(rest, line, fail)];
  const items = children.filter((c) => c.text.startsWith('- ') || c.text === '-');
  return items.map((item) => scalar(item.text.slice(1).trim(), item, fail)).filter((v) => v !== '');
}

/** Lines indented deeper than line `i` that follow it. */
function deeperLines(body: readonly YamlLine[], i: number): YamlLine[] {
  const parent = body[i] as YamlLine;
  const children: YamlLine[] = [];
  for (const line of body.slice(i + 1)) {
    if (line.indent <= parent.indent && !(line.text.startsWith('-') && line.indent === parent.indent)) break;
    children.push(line);
  }
  return children;
}

function blockScalar(indicator: string, children: readonly YamlLine[]): string {
  const indent = Math.min(...children.map((c) => c.indent));
  const texts = children.map((c) => c.raw.slice(indent));
  const joined = indicator.startsWith('|') ? texts.join('\n') : texts.join(' ');
  return indicator.endsWith('-') ? joined : `${joined}\n`;
}

function flowSequence(rest: string, line: YamlLine, fail: Fail): string[] {
  if (!rest.endsWith(']')) throw fail('unterminated flow sequence', line.number);
  return rest
    .slice(1, -1)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => scalar(item, line, fail));
}

/** Plain scalars as written; quoted ones unquoted with YAML's escapes. */
function scalar(text: string, line: YamlLine, fail: Fail): string {
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw fail('unterminated quoted string', line.number);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw fail('unterminated quoted string', line.number);
    return text.slice(1, -1).replace(/\\(["\\/nt])/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
  }
  return text;
}

/** `key: rest` (the colon followed by a blank or the end of the line), else undefined. */
function keyOf(text: string): { key: string; rest: string } | undefined {
  const match = /^("[^"]*"|'[^']*'|[^\s#'"][^:]*?)\s*:(?:[ \t]+(.*))?$/.exec(text);
  if (match === null || match[1] === undefined) return undefined;
  const key = match[1].replace(/^(["'])(.*)\1$/, '$2');
  return { key, rest: (match[2] ?? '').trim() };
}

function toLines(text: string): YamlLine[] {
  const lines: YamlLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const withoutCr = raw.replace(/\r$/, '');
    const body = stripComment(withoutCr);
    if (body.trim() === '' || body.trim() === '---' || body.trim() === '...') return;
    const indent = /^[ ]*/.exec(body)?.[0].length ?? 0;
    lines.push({ indent, text: body.trim(), raw: withoutCr, number: index + 1 });
  });
  return lines;
}

/** YAML comments start with `#` at the line start or after a blank, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line.charAt(i);
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      if (i === 0 || /[\s:[,-]/.test(line.charAt(i - 1))) quote = char;
    } else if (char === '#' && (i === 0 || /\s/.test(line.charAt(i - 1)))) {
      return line.slice(0, i);
    }
  }
  return line;
}
