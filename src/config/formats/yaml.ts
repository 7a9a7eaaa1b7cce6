/**
 * YAML config files, read as Debian's uWSGI reads them. That uWSGI is built
 * with libyaml but uses only its scanner: core/yaml.c pulls tokens with
 * `yaml_parser_scan()` and runs a small state machine over them, never the
 * YAML parser proper. So this file has two parts:
 *
 *  - `Scanner`: libyaml 0.2.5's scanner (src/scanner.c), function for
 *    function: the same tokens in the same order, the same look-ahead (a
 *    token is handed out only once no pending simple key can still precede
 *    it), the same syntax errors. Tokens are pulled one at a time, as uWSGI
 *    pulls them, so a syntax error after the end of the asked section is
 *    never seen, by either.
 *  - `readSection`: uWSGI's state machine. A block mapping that follows the
 *    key `uwsgi` (or `file.yml:section`), at any depth, opens the section;
 *    inside it every scalar after a key's `:` or in a sequence becomes an
 *    option named by the last key, whatever the nesting (only the depth is
 *    counted); the block end that brings the depth back to 0 closes it.
 *    A key with no value gives no scalar, hence no option.
 *
 * Where uWSGI would silently stop reading (a scalar it cannot place: after
 * a tag or an anchor, or a stray one; a section ended early by a dedent that
 * matches no open level, a `]` with no `[`, or a sequence of mappings) or
 * silently drop a value (an alias), nuwsgi refuses the file instead, naming
 * the line: docs/differences.md, "Configuration semantics".
 */
import type { ConfigError } from '../../util/errors';
import type { FileLine, ReadResult } from './types';

type Fail = (message: string, line?: number) => ConfigError;

export function parseYaml(text: string, section: string, fail: Fail): ReadResult {
  return readSection(new Scanner(text, fail), section, fail);
}

// ---------------------------------------------------------------------------
// uWSGI's state machine (core/yaml.c, the UWSGI_LIBYAML branch)

/** uWSGI's `status`: what the next scalar is. */
type Expect = 'nothing' | 'key' | 'value' | 'item';

/** What `readSection` tracks, as the C function's locals. */
interface Machine {
  /** uWSGI's `in_uwsgi_section`: 0 outside, else 1 + the collections open inside it. */
  depth: number;
  expect: Expect;
  /** The last key read (uWSGI's `key`), until a value or a block end consumes it. */
  key: string | undefined;
  /** The section's mapping is an item of a sequence (`uwsgi:` then `- socket: x`). */
  sectionInSequence: boolean;
  found: boolean;
  /** The token before the current one: a tag or an anchor explains an unplaced scalar. */
  previous: Token | undefined;
  readonly lines: FileLine[];
}

function readSection(scanner: Scanner, section: string, fail: Fail): ReadResult {
  const m: Machine = { depth: 0, expect: 'nothing', key: undefined, sectionInSequence: false, found: false, previous: undefined, lines: [] };
  for (;;) {
    const token = scanner.next();
    switch (token.kind) {
      case 'stream-end':
        return { lines: m.lines, found: m.found };
      case 'key':
        m.expect = 'key';
        break;
      case 'value':
        m.expect = 'value';
        break;
      case 'flow-sequence-start':
      case 'block-sequence-start':
        if (m.depth > 0) m.depth++;
        m.expect = 'item';
        break;
      case 'flow-entry':
      case 'block-entry':
        m.expect = 'item';
        break;
      case 'block-mapping-start':
        openMapping(m, section);
        break;
      case 'block-end':
      case 'flow-sequence-end':
        if (closeCollection(m, token, scanner, fail)) return { lines: m.lines, found: m.found };
        break;
      case 'scalar':
        takeScalar(m, token, fail);
        break;
      case 'alias':
        // uWSGI resets its state: the aliased value is silently not set.
        if (m.depth > 0) throw fail(`YAML alias '*${token.value ?? ''}': uWSGI ignores aliases and would silently drop this value`, token.line);
        m.expect = 'nothing';
        break;
      default:
        // Directives, document markers, flow mappings' braces, tags and
        // anchors: uWSGI forgets what it expected (a scalar right after a
        // tag or an anchor then stops it: takeScalar).
        m.expect = 'nothing';
    }
    m.previous = token;
  }
}

/** Any block mapping deepens an open section; one after the section's key opens it. */
function openMapping(m: Machine, section: string): void {
  if (m.depth > 0) {
    m.depth++;
  } else if (m.key === section) {
    m.depth = 1;
    m.found = true;
    m.sectionInSequence = m.expect === 'item';
  }
}

/**
 * A block end or `]`: one collection less, and the last key is forgotten.
 * True when that closes the section, where uWSGI stops reading the file.
 */
function closeCollection(m: Machine, token: Token, scanner: Scanner, fail: Fail): boolean {
  if (token.kind === 'flow-sequence-end' && token.unmatched === true && m.depth > 0) {
    throw fail("YAML ']' with no '[' before it: uWSGI counts it as the end of a block and would silently stop reading the config early", token.line);
  }
  m.key = undefined;
  m.expect = 'nothing';
  if (m.depth === 0) return false;
  m.depth--;
  if (m.depth > 0) return false;
  if (token.stray === true) {
    throw fail('YAML indentation: this line is indented less than the one before but deeper than the enclosing level: uWSGI would silently stop reading the config here', token.line);
  }
  // The mapping under `uwsgi:` was one item of a block sequence: uWSGI reads
  // that first item only.
  if (m.sectionInSequence && nextKind(scanner) === 'block-entry') {
    throw fail('YAML sequence of mappings under the section: uWSGI reads only the first one and would silently stop reading the config here', token.line);
  }
  return true;
}

/** A look past the point where uWSGI stops: a syntax error there is one uWSGI never sees. */
function nextKind(scanner: Scanner): TokenKind | undefined {
  try {
    return scanner.next().kind;
  } catch {
    return undefined;
  }
}

/** A scalar is a key, a value, a sequence item, or something uWSGI stops at. */
function takeScalar(m: Machine, token: Token, fail: Fail): void {
  const text = cString(token.value ?? '');
  switch (m.expect) {
    case 'key':
      m.key = text;
      return;
    case 'value':
    case 'item':
      if (m.key !== undefined && m.depth > 0) m.lines.push({ key: m.key, value: text, line: token.line });
      // A mapping's value consumes its key; a sequence keeps it for the next item.
      if (m.expect === 'value') {
        m.key = undefined;
        m.expect = 'nothing';
      }
      return;
    case 'nothing':
      // uWSGI: "unsupported YAML token ... in uwsgi block", and it stops reading.
      throw fail(unplacedScalar(m.previous, text), token.line);
  }
}

function unplacedScalar(previous: Token | undefined, text: string): string {
  if (previous?.kind === 'tag') {
    return `YAML tag '${previous.value ?? ''}' on a scalar: uWSGI does not support tags and would silently stop reading the config here (quote a value that starts with '!')`;
  }
  if (previous?.kind === 'anchor') {
    return `YAML anchor '&${previous.value ?? ''}' on a scalar: uWSGI does not support anchors and would silently stop reading the config here`;
  }
  return `YAML scalar '${text}' is neither a key, a value nor a sequence item: uWSGI would silently stop reading the config here`;
}

/** uWSGI keeps scalars as C strings: an escaped NUL (`"\0"`) ends them. */
function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul === -1 ? text : text.slice(0, nul);
}

// ---------------------------------------------------------------------------
// libyaml's scanner (0.2.5 src/scanner.c; comments there explain the YAML rules)

type TokenKind =
  | 'stream-start'
  | 'stream-end'
  | 'version-directive'
  | 'tag-directive'
  | 'document-start'
  | 'document-end'
  | 'block-sequence-start'
  | 'block-mapping-start'
  | 'block-end'
  | 'flow-sequence-start'
  | 'flow-sequence-end'
  | 'flow-mapping-start'
  | 'flow-mapping-end'
  | 'block-entry'
  | 'flow-entry'
  | 'key'
  | 'value'
  | 'alias'
  | 'anchor'
  | 'tag'
  | 'scalar';

interface Token {
  readonly kind: TokenKind;
  /** 1-based line where the token starts. */
  readonly line: number;
  /** A scalar's text, an anchor's or alias's name, a tag. */
  readonly value?: string;
  /** A block end made by a dedent to a column between two open levels (not libyaml's: uWSGI's early stop is refused). */
  stray?: boolean;
  /** A `]` or `}` with no flow collection open (libyaml emits it; its parser would refuse it). */
  readonly unmatched?: boolean;
}

/** libyaml's yaml_mark_t; `line` is 0-based, as there. */
interface Mark {
  readonly index: number;
  readonly line: number;
  readonly column: number;
}

/** Where a simple key (`key:` without `?`) may start, until a `:` confirms it. */
interface SimpleKey {
  possible: boolean;
  /** At the indentation column of a block mapping: the line must be a key. */
  required: boolean;
  /** The position in the token stream where its KEY token goes. */
  tokenNumber: number;
  mark: Mark;
}

const NO_KEY: SimpleKey = { possible: false, required: false, tokenNumber: 0, mark: { index: 0, line: 0, column: 0 } };

/** A simple key must fit on one line and in 1024 characters. */
const SIMPLE_KEY_LENGTH = 1024;

const isBreak = (c: string): boolean => c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBreakZ = (c: string): boolean => isBreak(c) || c === '\0';
const isBlank = (c: string): boolean => c === ' ' || c === '\t';
const isBlankZ = (c: string): boolean => isBlank(c) || isBreakZ(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHex = (c: string): boolean => /^[0-9A-Fa-f]$/.test(c);
/** libyaml's IS_ALPHA: the characters of anchor names, tag handles and directive names. */
const isAlpha = (c: string): boolean => /^[0-9A-Za-z_-]$/.test(c);
/** Characters a tag's URI may hold; inside `!<...>` also `,[]`. */
const isUriChar = (c: string, verbatim: boolean): boolean => isAlpha(c) || ";/?:@&=+$.%!~*'()".includes(c) || (verbatim && ',[]'.includes(c));

class Scanner {
  /** The text as code points (libyaml's columns count characters); past its end, at() gives the '\0' libyaml's reader adds. */
  private readonly chars: string[];
  private pos = 0;
  private line = 0;
  private column = 0;
  private readonly queue: Token[] = [];
  /** Tokens handed out so far: simple keys and rolled indents are numbered in this stream. */
  private tokensParsed = 0;
  private streamStartProduced = false;
  private streamEndProduced = false;
  /** The current block indentation column (-1 before any block) and the enclosing ones. */
  private indent = -1;
  private readonly indents: number[] = [];
  /** One possible simple key per flow level (the block context is level 0). */
  private readonly simpleKeys: SimpleKey[] = [];
  private simpleKeyAllowed = false;
  private flowLevel = 0;

  constructor(
    text: string,
    private readonly fail: Fail,
  ) {
    this.chars = Array.from(text.startsWith('\uFEFF') ? text.slice(1) : text); // the reader drops a BOM
    checkCharacters(this.chars, fail);
  }

  /** yaml_parser_scan(): the next token; STREAM-END again once at the end. */
  next(): Token {
    if (this.streamEndProduced) return this.token('stream-end', this.mark());
    this.fetchMoreTokens();
    const token = this.queue.shift() as Token;
    this.tokensParsed++;
    if (token.kind === 'stream-end') this.streamEndProduced = true;
    return token;
  }

  // --- characters and positions

  private at(offset = 0): string {
    return this.chars[this.pos + offset] ?? '\0';
  }

  private mark(): Mark {
    return { index: this.pos, line: this.line, column: this.column };
  }

  private skip(): void {
    this.pos++;
    this.column++;
  }

  private read(): string {
    const c = this.at();
    this.skip();
    return c;
  }

  /** READ_LINE: a line break, normalised as libyaml does (CR LF, CR, NEL → LF; LS, PS kept); '' if none. */
  private readLine(): string {
    const c = this.at();
    if (!isBreak(c)) return '';
    this.pos += c === '\r' && this.at(1) === '\n' ? 2 : 1;
    this.line++;
    this.column = 0;
    return c === '\u2028' || c === '\u2029' ? c : '\n';
  }

  private skipLine(): void {
    this.readLine();
  }

  /** `---` or `...` at the start of a line, followed by a blank or the end. */
  private atDocumentIndicator(): boolean {
    if (this.column !== 0 || !isBlankZ(this.at(3))) return false;
    const three = this.at() + this.at(1) + this.at(2);
    return three === '---' || three === '...';
  }

  private token(kind: TokenKind, mark: Mark, extra: Partial<Token> = {}): Token {
    return { kind, line: mark.line + 1, ...extra };
  }

  /** libyaml's scanner errors: uWSGI prints "error parsing YAML file: PROBLEM" and exits. */
  private error(problem: string, context?: string, contextMark?: Mark): never {
    const where = context !== undefined && contextMark !== undefined && contextMark.line !== this.line ? ` (${context} on line ${contextMark.line + 1})` : '';
    let hint = '';
    if (problem === 'found character that cannot start any token' && this.at() === '\t') hint = ': a tab (YAML indentation must use spaces)';
    else if (context?.includes('tag') === true) hint = " (a value starting with '!' is a YAML tag: quote it)";
    throw this.fail(`YAML syntax error: ${problem}${hint}${where}; uWSGI refuses this file too`, this.line + 1);
  }

  // --- the token queue and its look-ahead

  /** Fetch until the head token can no longer be preceded by a KEY (or BLOCK-MAPPING-START) for a pending simple key. */
  private fetchMoreTokens(): void {
    for (;;) {
      let need = this.queue.length === 0;
      if (!need) {
        this.staleSimpleKeys();
        need = this.simpleKeys.some((key) => key.possible && key.tokenNumber === this.tokensParsed);
      }
      if (!need) return;
      this.fetchNextToken();
    }
  }

  private fetchNextToken(): void {
    if (!this.streamStartProduced) return this.fetchStreamStart();
    this.scanToNextToken();
    this.staleSimpleKeys();
    this.unrollIndent(this.column);
    const c = this.at();
    const next = this.at(1);
    if (c === '\0') return this.fetchStreamEnd();
    if (this.column === 0 && c === '%') return this.fetchDirective();
    if (this.atDocumentIndicator()) return this.fetchDocumentIndicator(c === '-' ? 'document-start' : 'document-end');
    if (c === '[') return this.fetchFlowCollectionStart('flow-sequence-start');
    if (c === '{') return this.fetchFlowCollectionStart('flow-mapping-start');
    if (c === ']') return this.fetchFlowCollectionEnd('flow-sequence-end');
    if (c === '}') return this.fetchFlowCollectionEnd('flow-mapping-end');
    if (c === ',') return this.fetchFlowEntry();
    if (c === '-' && isBlankZ(next)) return this.fetchBlockEntry();
    if (c === '?' && (this.flowLevel > 0 || isBlankZ(next))) return this.fetchKey();
    if (c === ':' && (this.flowLevel > 0 || isBlankZ(next))) return this.fetchValue();
    if (c === '*') return this.fetchMaybeKey(() => this.scanAnchor('alias'));
    if (c === '&') return this.fetchMaybeKey(() => this.scanAnchor('anchor'));
    if (c === '!') return this.fetchMaybeKey(() => this.scanTag());
    if (c === '|' && this.flowLevel === 0) return this.fetchBlockScalar(true);
    if (c === '>' && this.flowLevel === 0) return this.fetchBlockScalar(false);
    if (c === "'") return this.fetchMaybeKey(() => this.scanFlowScalar(true));
    if (c === '"') return this.fetchMaybeKey(() => this.scanFlowScalar(false));
    // A plain scalar starts with anything but an indicator; `-`, `?`, `:` may
    // start one when a non-blank follows (`?`, `:` only in the block context).
    if (
      !(isBlankZ(c) || '-?:,[]{}#&*!|>\'"%@`'.includes(c)) ||
      (c === '-' && !isBlank(next)) ||
      (this.flowLevel === 0 && (c === '?' || c === ':') && !isBlankZ(next))
    ) {
      return this.fetchMaybeKey(() => this.scanPlainScalar());
    }
    this.error('found character that cannot start any token', 'while scanning for the next token', this.mark());
  }

  // --- simple keys

  /** A simple key must be on one line and within 1024 characters: forget older ones (an error if required). */
  private staleSimpleKeys(): void {
    for (const key of this.simpleKeys) {
      if (key.possible && (key.mark.line < this.line || key.mark.index + SIMPLE_KEY_LENGTH < this.pos)) {
        if (key.required) this.error("could not find expected ':'", 'while scanning a simple key', key.mark);
        key.possible = false;
      }
    }
  }

  private saveSimpleKey(): void {
    // At a block mapping's indentation column, a line must be a key.
    const required = this.flowLevel === 0 && this.indent === this.column;
    if (!this.simpleKeyAllowed) return;
    const key: SimpleKey = { possible: true, required, tokenNumber: this.tokensParsed + this.queue.length, mark: this.mark() };
    this.removeSimpleKey();
    this.simpleKeys[this.simpleKeys.length - 1] = key;
  }

  private removeSimpleKey(): void {
    const key = this.simpleKeys[this.simpleKeys.length - 1] as SimpleKey;
    if (key.possible && key.required) this.error("could not find expected ':'", 'while scanning a simple key', key.mark);
    key.possible = false;
  }

  private increaseFlowLevel(): void {
    this.simpleKeys.push({ ...NO_KEY });
    this.flowLevel++;
  }

  private decreaseFlowLevel(): void {
    if (this.flowLevel === 0) return;
    this.flowLevel--;
    this.simpleKeys.pop();
  }

  // --- block indentation

  /** A block collection deeper than the current one starts at `column`: its START token, appended or inserted at `number`. */
  private rollIndent(column: number, number: number, kind: TokenKind, mark: Mark): void {
    if (this.flowLevel > 0 || this.indent >= column) return;
    this.indents.push(this.indent);
    this.indent = column;
    const token = this.token(kind, mark);
    if (number === -1) this.queue.push(token);
    else this.queue.splice(number - this.tokensParsed, 0, token);
  }

  /** A BLOCK-END for every open block deeper than `column`. */
  private unrollIndent(column: number): void {
    if (this.flowLevel > 0) return;
    const ends: Token[] = [];
    while (this.indent > column) {
      const end = this.token('block-end', this.mark());
      ends.push(end);
      this.queue.push(end);
      this.indent = this.indents.pop() as number;
    }
    // Landing between two levels: libyaml goes on (a new block starts at
    // `column`), but uWSGI's count of blocks no longer follows the text.
    if (this.indent < column) for (const end of ends) end.stray = true;
  }

  // --- token fetchers

  private fetchStreamStart(): void {
    this.indent = -1;
    this.simpleKeys.push({ ...NO_KEY });
    this.simpleKeyAllowed = true;
    this.streamStartProduced = true;
    this.queue.push(this.token('stream-start', this.mark()));
  }

  private fetchStreamEnd(): void {
    if (this.column !== 0) {
      this.column = 0;
      this.line++;
    }
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    this.queue.push(this.token('stream-end', this.mark()));
  }

  private fetchDirective(): void {
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    this.queue.push(this.scanDirective());
  }

  private fetchDocumentIndicator(kind: TokenKind): void {
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.mark();
    this.skip();
    this.skip();
    this.skip();
    this.queue.push(this.token(kind, start));
  }

  private fetchFlowCollectionStart(kind: TokenKind): void {
    this.saveSimpleKey(); // `[` and `{` may start a simple key
    this.increaseFlowLevel();
    this.simpleKeyAllowed = true;
    this.pushIndicator(kind);
  }

  private fetchFlowCollectionEnd(kind: TokenKind): void {
    this.removeSimpleKey();
    const unmatched = this.flowLevel === 0;
    this.decreaseFlowLevel();
    this.simpleKeyAllowed = false;
    const start = this.mark();
    this.skip();
    this.queue.push(this.token(kind, start, unmatched ? { unmatched } : {}));
  }

  private fetchFlowEntry(): void {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    this.pushIndicator('flow-entry');
  }

  private fetchBlockEntry(): void {
    this.openBlockHere('block-sequence-start', 'block sequence entries');
    // In the flow context `-` is an error libyaml leaves to its parser (never run by uWSGI).
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    this.pushIndicator('block-entry');
  }

  /** `? ` : a complex key. */
  private fetchKey(): void {
    this.openBlockHere('block-mapping-start', 'mapping keys');
    this.removeSimpleKey();
    this.simpleKeyAllowed = this.flowLevel === 0;
    this.pushIndicator('key');
  }

  /** `: ` confirms the pending simple key: its KEY (and maybe BLOCK-MAPPING-START) go in before it. */
  private fetchValue(): void {
    const key = this.simpleKeys[this.simpleKeys.length - 1] as SimpleKey;
    if (key.possible) {
      this.queue.splice(key.tokenNumber - this.tokensParsed, 0, this.token('key', key.mark));
      this.rollIndent(key.mark.column, key.tokenNumber, 'block-mapping-start', key.mark);
      key.possible = false;
      this.simpleKeyAllowed = false; // a simple key cannot follow another one
    } else {
      this.openBlockHere('block-mapping-start', 'mapping values');
      this.simpleKeyAllowed = this.flowLevel === 0;
    }
    this.pushIndicator('value');
  }

  /** In the block context, `-`, `?` and `:` may open a collection at this column (libyaml's checks, in its words). */
  private openBlockHere(kind: 'block-sequence-start' | 'block-mapping-start', what: string): void {
    if (this.flowLevel !== 0) return;
    if (!this.simpleKeyAllowed) this.error(`${what} are not allowed in this context`);
    this.rollIndent(this.column, -1, kind, this.mark());
  }

  private pushIndicator(kind: TokenKind): void {
    const start = this.mark();
    this.skip();
    this.queue.push(this.token(kind, start));
  }

  /**
   * An alias, anchor, tag, quoted or plain scalar: each may start a simple key
   * (saved before it is scanned, so the key's mark is where it starts), and no
   * other simple key may follow it on its own.
   */
  private fetchMaybeKey(scan: () => Token): void {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    this.queue.push(scan());
  }

  private fetchBlockScalar(literal: boolean): void {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true; // a simple key may follow a block scalar
    this.queue.push(this.scanBlockScalar(literal));
  }

  /** Blanks, comments and line breaks. Tabs are skipped only where no simple key may start: never to indent a block line. */
  private scanToNextToken(): void {
    for (;;) {
      if (this.column === 0 && this.at() === '\uFEFF') this.skip();
      while (this.at() === ' ' || ((this.flowLevel > 0 || !this.simpleKeyAllowed) && this.at() === '\t')) this.skip();
      if (this.at() === '#') while (!isBreakZ(this.at())) this.skip();
      if (!isBreak(this.at())) return;
      this.skipLine();
      if (this.flowLevel === 0) this.simpleKeyAllowed = true; // a new line may start a simple key
    }
  }

  // --- directives (`%YAML 1.1`, `%TAG ! prefix`): checked, then ignored by uWSGI

  private scanDirective(): Token {
    const start = this.mark();
    this.skip();
    const name = this.scanDirectiveName(start);
    let kind: TokenKind;
    if (name === 'YAML') {
      this.scanVersionDirectiveValue(start);
      kind = 'version-directive';
    } else if (name === 'TAG') {
      this.scanTagDirectiveValue(start);
      kind = 'tag-directive';
    } else {
      this.error('found unknown directive name', 'while scanning a directive', start);
    }
    this.skipBlanksAndComment();
    if (!isBreakZ(this.at())) this.error('did not find expected comment or line break', 'while scanning a directive', start);
    this.skipLine();
    return this.token(kind, start);
  }

  private skipBlanksAndComment(): void {
    while (isBlank(this.at())) this.skip();
    if (this.at() === '#') while (!isBreakZ(this.at())) this.skip();
  }

  private scanDirectiveName(start: Mark): string {
    let name = '';
    while (isAlpha(this.at())) name += this.read();
    if (name === '') this.error('could not find expected directive name', 'while scanning a directive', start);
    if (!isBlankZ(this.at())) this.error('found unexpected non-alphabetical character', 'while scanning a directive', start);
    return name;
  }

  private scanVersionDirectiveValue(start: Mark): void {
    while (isBlank(this.at())) this.skip();
    this.scanVersionNumber(start);
    if (this.at() !== '.') this.error("did not find expected digit or '.' character", 'while scanning a %YAML directive', start);
    this.skip();
    this.scanVersionNumber(start);
  }

  private scanVersionNumber(start: Mark): void {
    let length = 0;
    while (isDigit(this.at())) {
      if (++length > 9) this.error('found extremely long version number', 'while scanning a %YAML directive', start);
      this.skip();
    }
    if (length === 0) this.error('did not find expected version number', 'while scanning a %YAML directive', start);
  }

  private scanTagDirectiveValue(start: Mark): void {
    while (isBlank(this.at())) this.skip();
    this.scanTagHandle(true, start);
    if (!isBlank(this.at())) this.error('did not find expected whitespace', 'while scanning a %TAG directive', start);
    while (isBlank(this.at())) this.skip();
    this.scanTagUri(true, true, '', start);
    if (!isBlankZ(this.at())) this.error('did not find expected whitespace or line break', 'while scanning a %TAG directive', start);
  }

  // --- anchors, aliases, tags

  private scanAnchor(kind: 'alias' | 'anchor'): Token {
    const start = this.mark();
    this.skip();
    let name = '';
    while (isAlpha(this.at())) name += this.read();
    if (name === '' || !(isBlankZ(this.at()) || '?:,]}%@`'.includes(this.at()))) {
      this.error('did not find expected alphabetic or numeric character', kind === 'anchor' ? 'while scanning an anchor' : 'while scanning an alias', start);
    }
    return this.token(kind, start, { value: name });
  }

  /** `!<verbatim>`, `!handle!suffix`, `!suffix` or `!`. */
  private scanTag(): Token {
    const start = this.mark();
    let tag: string;
    if (this.at(1) === '<') {
      this.skip();
      this.skip();
      tag = this.scanTagUri(true, false, '', start);
      if (this.at() !== '>') this.error("did not find the expected '>'", 'while scanning a tag', start);
      this.skip();
    } else {
      const handle = this.scanTagHandle(false, start);
      // `!name!` is a handle and needs a suffix; otherwise what was read is the start of `!suffix`.
      const isHandle = handle.length > 1 && handle.endsWith('!');
      tag = isHandle ? handle + this.scanTagUri(false, false, '', start) : `!${this.scanTagUri(false, false, handle, start)}`;
    }
    if (!isBlankZ(this.at()) && (this.flowLevel === 0 || this.at() !== ',')) {
      this.error('did not find expected whitespace or line break', 'while scanning a tag', start);
    }
    return this.token('tag', start, { value: tag });
  }

  private scanTagHandle(directive: boolean, start: Mark): string {
    if (this.at() !== '!') this.error("did not find expected '!'", directive ? 'while scanning a tag directive' : 'while scanning a tag', start);
    let handle = this.read();
    while (isAlpha(this.at())) handle += this.read();
    if (this.at() === '!') handle += this.read();
    else if (directive && handle !== '!') this.error("did not find expected '!'", 'while parsing a tag directive', start);
    return handle;
  }

  /** A tag's URI part; `head` is what scanTagHandle already read (its `!` dropped). */
  private scanTagUri(verbatim: boolean, directive: boolean, head: string, start: Mark): string {
    let uri = head.slice(1);
    let length = head.length;
    while (isUriChar(this.at(), verbatim)) {
      uri += this.at() === '%' ? this.scanUriEscapes(directive, start) : this.read();
      length++;
    }
    if (length === 0) this.error('did not find expected tag URI', directive ? 'while parsing a %TAG directive' : 'while parsing a tag', start);
    return uri;
  }

  /** `%XX` escapes making one UTF-8 character. */
  private scanUriEscapes(directive: boolean, start: Mark): string {
    const context = directive ? 'while parsing a %TAG directive' : 'while parsing a tag';
    const octets: number[] = [];
    let width = 0;
    do {
      if (!(this.at() === '%' && isHex(this.at(1)) && isHex(this.at(2)))) this.error('did not find URI escaped octet', context, start);
      const octet = parseInt(this.at(1) + this.at(2), 16);
      if (width === 0) {
        width = (octet & 0x80) === 0 ? 1 : (octet & 0xe0) === 0xc0 ? 2 : (octet & 0xf0) === 0xe0 ? 3 : (octet & 0xf8) === 0xf0 ? 4 : 0;
        if (width === 0) this.error('found an incorrect leading UTF-8 octet', context, start);
      } else if ((octet & 0xc0) !== 0x80) {
        this.error('found an incorrect trailing UTF-8 octet', context, start);
      }
      octets.push(octet);
      this.skip();
      this.skip();
      this.skip();
    } while (--width > 0);
    return Buffer.from(octets).toString('utf8');
  }

  // --- scalars

  /** `|` (literal) or `>` (folded), with optional chomping (`-`, `+`) and indentation (1-9) indicators in either order. */
  private scanBlockScalar(literal: boolean): Token {
    const start = this.mark();
    this.skip();
    let chomping = 0;
    let increment = 0;
    const context = 'while scanning a block scalar';
    const readIncrement = (): void => {
      if (this.at() === '0') this.error('found an indentation indicator equal to 0', context, start);
      increment = Number(this.read());
    };
    if (this.at() === '+' || this.at() === '-') {
      chomping = this.read() === '+' ? 1 : -1;
      if (isDigit(this.at())) readIncrement();
    } else if (isDigit(this.at())) {
      readIncrement();
      if (this.at() === '+' || this.at() === '-') chomping = this.read() === '+' ? 1 : -1;
    }
    this.skipBlanksAndComment();
    if (!isBreakZ(this.at())) this.error('did not find expected comment or line break', context, start);
    this.skipLine();
    const text = { value: '', leadingBreak: '', trailingBreaks: '' };
    let indent = increment === 0 ? 0 : this.indent >= 0 ? this.indent + increment : increment;
    indent = this.scanBlockScalarBreaks(indent, text, start);
    let leadingBlank = false;
    while (this.column === indent && this.at() !== '\0') {
      // A folded scalar joins lines with a space, except around more-indented lines.
      const trailingBlank = isBlank(this.at());
      if (!literal && text.leadingBreak.startsWith('\n') && !leadingBlank && !trailingBlank) {
        if (text.trailingBreaks === '') text.value += ' ';
      } else {
        text.value += text.leadingBreak;
      }
      text.value += text.trailingBreaks;
      text.leadingBreak = '';
      text.trailingBreaks = '';
      leadingBlank = isBlank(this.at());
      while (!isBreakZ(this.at())) text.value += this.read();
      text.leadingBreak = this.readLine();
      indent = this.scanBlockScalarBreaks(indent, text, start);
    }
    if (chomping !== -1) text.value += text.leadingBreak; // clip and keep: the last line break
    if (chomping === 1) text.value += text.trailingBreaks; // keep: the trailing empty lines too
    return this.token('scalar', start, { value: text.value });
  }

  /** Indentation and empty lines before a block scalar's line; the first content line fixes the indentation if no indicator did. */
  private scanBlockScalarBreaks(indent: number, text: { trailingBreaks: string }, start: Mark): number {
    let maxIndent = 0;
    for (;;) {
      while ((indent === 0 || this.column < indent) && this.at() === ' ') this.skip();
      maxIndent = Math.max(maxIndent, this.column);
      if ((indent === 0 || this.column < indent) && this.at() === '\t') {
        this.error('found a tab character where an indentation space is expected', 'while scanning a block scalar', start);
      }
      if (!isBreak(this.at())) break;
      text.trailingBreaks += this.readLine();
    }
    return indent !== 0 ? indent : Math.max(maxIndent, this.indent + 1, 1);
  }

  /** `'single'` (`''` is a quote) or `"double"` (backslash escapes), folded over line breaks. */
  private scanFlowScalar(single: boolean): Token {
    const start = this.mark();
    const quote = single ? "'" : '"';
    const context = 'while scanning a quoted scalar';
    this.skip();
    let value = '';
    for (;;) {
      if (this.atDocumentIndicator()) this.error('found unexpected document indicator', context, start);
      if (this.at() === '\0') this.error('found unexpected end of stream', context, start);
      let escapedBreak = false;
      while (!isBlankZ(this.at())) {
        const c = this.at();
        if (single && c === "'" && this.at(1) === "'") {
          value += "'";
          this.skip();
          this.skip();
        } else if (c === quote) {
          break;
        } else if (!single && c === '\\' && isBreak(this.at(1))) {
          this.skip();
          this.skipLine();
          escapedBreak = true; // `\` at the end of a line joins it to the next without a space
          break;
        } else if (!single && c === '\\') {
          value += this.scanEscape(start);
        } else {
          value += this.read();
        }
      }
      if (this.at() === quote) break;
      value += this.scanFlowBlanks(escapedBreak);
    }
    this.skip();
    return this.token('scalar', start, { value });
  }

  /** Blanks and line breaks inside a quoted scalar: kept within a line, folded across lines (one break is a space). */
  private scanFlowBlanks(escapedBreak: boolean): string {
    let leadingBlanks = escapedBreak;
    let whitespaces = '';
    let leadingBreak = '';
    let trailingBreaks = '';
    while (isBlank(this.at()) || isBreak(this.at())) {
      if (isBlank(this.at())) {
        if (leadingBlanks) this.skip();
        else whitespaces += this.read();
      } else if (!leadingBlanks) {
        whitespaces = '';
        leadingBreak = this.readLine();
        leadingBlanks = true;
      } else {
        trailingBreaks += this.readLine();
      }
    }
    if (!leadingBlanks) return whitespaces;
    return fold(leadingBreak, trailingBreaks);
  }

  private scanEscape(start: Mark): string {
    const context = 'while parsing a quoted scalar';
    const simple: Record<string, string> = {
      '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
      ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
    };
    const codeLengths: Record<string, number> = { x: 2, u: 4, U: 8 };
    const letter = this.at(1);
    const plain = simple[letter];
    const codeLength = codeLengths[letter];
    if (plain === undefined && codeLength === undefined) this.error('found unknown escape character', context, start);
    this.skip();
    this.skip();
    if (plain !== undefined) return plain;
    let digits = '';
    for (let k = 0; k < (codeLength as number); k++) {
      if (!isHex(this.at(k))) this.error('did not find expected hexdecimal number', context, start);
      digits += this.at(k);
    }
    const value = parseInt(digits, 16);
    if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) this.error('found invalid Unicode character escape code', context, start);
    for (let k = 0; k < (codeLength as number); k++) this.skip();
    return String.fromCodePoint(value);
  }

  /**
   * A plain (unquoted) scalar: up to `: `, ` #`, the end of the line or, in
   * a flow collection, `,[]{}`; it goes on over lines indented deeper than
   * the current block (folded: one line break is a space).
   */
  private scanPlainScalar(): Token {
    const start = this.mark();
    const indent = this.indent + 1;
    let value = '';
    let leadingBlanks = false;
    let whitespaces = '';
    let leadingBreak = '';
    let trailingBreaks = '';
    for (;;) {
      if (this.atDocumentIndicator() || this.at() === '#') break;
      while (!isBlankZ(this.at())) {
        const c = this.at();
        if (this.flowLevel > 0 && c === ':' && ',?[]{}'.includes(this.at(1))) {
          this.error("found unexpected ':'", 'while scanning a plain scalar', start);
        }
        if ((c === ':' && isBlankZ(this.at(1))) || (this.flowLevel > 0 && ',[]{}'.includes(c))) break;
        if (leadingBlanks) {
          value += fold(leadingBreak, trailingBreaks);
          leadingBreak = '';
          trailingBreaks = '';
          leadingBlanks = false;
        } else {
          value += whitespaces;
        }
        whitespaces = '';
        value += this.read();
      }
      if (!(isBlank(this.at()) || isBreak(this.at()))) break;
      while (isBlank(this.at()) || isBreak(this.at())) {
        if (isBlank(this.at())) {
          if (leadingBlanks && this.column < indent && this.at() === '\t') {
            this.error('found a tab character that violates indentation', 'while scanning a plain scalar', start);
          }
          if (leadingBlanks) this.skip();
          else whitespaces += this.read();
        } else if (!leadingBlanks) {
          whitespaces = '';
          leadingBreak = this.readLine();
          leadingBlanks = true;
        } else {
          trailingBreaks += this.readLine();
        }
      }
      if (this.flowLevel === 0 && this.column < indent) break;
    }
    if (leadingBlanks) this.simpleKeyAllowed = true; // the scalar ended at a line start, where a key may begin
    return this.token('scalar', start, { value });
  }
}

/** Line folding: a single line break becomes a space; with empty lines after it, only those (as line feeds) remain. */
function fold(leadingBreak: string, trailingBreaks: string): string {
  if (leadingBreak.startsWith('\n')) return trailingBreaks === '' ? ' ' : trailingBreaks;
  return leadingBreak + trailingBreaks;
}

/** libyaml's reader refuses control characters (it reads the first 16 KiB at once: the whole of any usual config). */
function checkCharacters(chars: readonly string[], fail: Fail): void {
  let line = 1;
  for (const c of chars) {
    const code = c.codePointAt(0) as number;
    if (c === '\n') line++;
    const allowed =
      code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0x7e) || code === 0x85 || (code >= 0xa0 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || code >= 0x10000;
    if (!allowed) {
      throw fail(`YAML syntax error: control characters are not allowed (U+${code.toString(16).toUpperCase().padStart(4, '0')}); uWSGI refuses this file too`, line);
    }
  }
}
