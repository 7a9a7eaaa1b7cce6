/**
 * A minimal XML reader for config files: elements, attributes, text, CDATA,
 * comments, processing instructions, the five named entities and character
 * references. No DTDs, no namespaces: uWSGI configs use none.
 */

export interface XmlText {
  readonly type: 'text' | 'cdata';
  readonly content: string;
}

export interface XmlElement {
  readonly type: 'element';
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  readonly line: number;
}

export type XmlNode = XmlElement | XmlText;

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][\w.:-]*/;

/** Parses a document and returns its root element. */
export function parseXmlDocument(text: string): XmlElement {
  const root: XmlElement = { type: 'element', name: '#document', attributes: {}, children: [], line: 1 };
  const stack: XmlElement[] = [root];
  let pos = 0;
  const lineAt = (at: number): number => text.slice(0, at).split('\n').length;
  while (pos < text.length) {
    const parent = stack[stack.length - 1] as XmlElement;
    const lt = text.indexOf('<', pos);
    if (lt === -1) {
      parent.children.push({ type: 'text', content: decodeEntities(text.slice(pos), lineAt(pos)) });
      break;
    }
    if (lt > pos) parent.children.push({ type: 'text', content: decodeEntities(text.slice(pos, lt), lineAt(pos)) });
    pos = readMarkup(text, lt, stack, lineAt);
  }
  if (stack.length !== 1) throw new XmlSyntaxError(`unclosed element <${(stack[stack.length - 1] as XmlElement).name}>`, lineAt(text.length));
  const elements = root.children.filter((c): c is XmlElement => c.type === 'element');
  if (elements[0] === undefined) throw new XmlSyntaxError('no root element', lineAt(text.length));
  // libxml2's words and place: the line of the second top-level element.
  if (elements[1] !== undefined) throw new XmlSyntaxError('extra content at the end of the document (a second root element)', elements[1].line);
  return elements[0];
}

function readMarkup(text: string, lt: number, stack: XmlElement[], lineAt: (at: number) => number): number {
  const parent = stack[stack.length - 1] as XmlElement;
  const skipTo = (terminator: string): number => {
    const end = text.indexOf(terminator, lt);
    if (end === -1) throw new XmlSyntaxError(`missing '${terminator}'`, lineAt(lt));
    return end + terminator.length;
  };
  if (text.startsWith('<!--', lt)) return skipTo('-->');
  if (text.startsWith('<?', lt)) return skipTo('?>');
  if (text.startsWith('<![CDATA[', lt)) {
    const end = skipTo(']]>');
    parent.children.push({ type: 'cdata', content: text.slice(lt + 9, end - 3) });
    return end;
  }
  if (text.startsWith('<!', lt)) return skipTo('>');
  if (text.startsWith('</', lt)) {
    const end = skipTo('>');
    const name = text.slice(lt + 2, end - 1).trim();
    if (name !== parent.name || stack.length === 1) throw new XmlSyntaxError(`unexpected </${name}>`, lineAt(lt));
    stack.pop();
    return end;
  }
  return readStartTag(text, lt, stack, lineAt);
}

function readStartTag(text: string, lt: number, stack: XmlElement[], lineAt: (at: number) => number): number {
  const end = text.indexOf('>', lt);
  if (end === -1) throw new XmlSyntaxError('unterminated tag', lineAt(lt));
  const selfClosing = text.charAt(end - 1) === '/';
  const inner = text.slice(lt + 1, selfClosing ? end - 1 : end);
  const name = NAME.exec(inner)?.[0];
  if (name === undefined) throw new XmlSyntaxError('invalid tag name', lineAt(lt));
  const element: XmlElement = { type: 'element', name, attributes: parseAttributes(inner.slice(name.length), lineAt(lt)), children: [], line: lineAt(lt) };
  (stack[stack.length - 1] as XmlElement).children.push(element);
  if (!selfClosing) stack.push(element);
  return end + 1;
}

function parseAttributes(text: string, line: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = pattern.exec(text)) !== null && match[1] !== undefined) {
    attributes[match[1]] = decodeEntities(match[3] ?? match[4] ?? '', line);
    consumed = pattern.lastIndex;
  }
  if (text.slice(consumed).trim() !== '') throw new XmlSyntaxError('invalid attributes', line);
  return attributes;
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string, line: number): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);?/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    const named = NAMED[name];
    if (named === undefined || !whole.endsWith(';')) throw new XmlSyntaxError(`unknown entity ${whole}`, line);
    return named;
  });
}
