/**
 * XML as Debian's uWSGI (libxml2 reader) reads it: the root `<uwsgi>` (or the
 * first `<uwsgi>` child of another root, chosen by `id` with `file.xml:id`);
 * each child element is an option: its first child's text as the value
 * (whitespace kept), or `1` when empty (`<master/>`). A top-level CDATA block
 * is `eval`. `<app mountpoint="/x">target</app>` (or with the target in a
 * child element, `<app mountpoint="/x"><script>target</script></app>`) is
 * `mount = /x=target`.
 */
import type { ConfigError } from '../../util/errors';
import type { FileLine, ReadResult } from './types';
import { XmlSyntaxError, parseXmlDocument, type XmlElement } from './xml-tree';

type Fail = (message: string, line?: number) => ConfigError;

export function parseXml(text: string, id: string | undefined, fail: Fail): ReadResult {
  let root: XmlElement;
  try {
    root = parseXmlDocument(text);
  } catch (error: unknown) {
    if (error instanceof XmlSyntaxError) throw fail(`could not parse XML: ${error.message}`, error.line);
    throw error;
  }
  const config = root.name === 'uwsgi' ? root : findUwsgiChild(root, id);
  if (config === undefined) throw fail('invalid xml root element, <uwsgi> expected');
  return { lines: optionsOf(config, id), found: true };
}

function findUwsgiChild(root: XmlElement, id: string | undefined): XmlElement | undefined {
  return root.children.find(
    (c): c is XmlElement => c.type === 'element' && c.name === 'uwsgi' && (id === undefined || c.attributes['id'] === undefined || c.attributes['id'] === id),
  );
}

function optionsOf(config: XmlElement, id: string | undefined): FileLine[] {
  const out: FileLine[] = [];
  for (const node of config.children) {
    if (node.type === 'cdata') {
      out.push({ key: 'eval', value: node.content, line: config.line });
      continue;
    }
    if (node.type !== 'element') continue;
    const nodeId = node.attributes['id'];
    if (id !== undefined && nodeId !== undefined && nodeId !== id) continue;
    if (node.name === 'app') out.push(...appLines(node));
    else out.push({ key: node.name, value: firstChildText(node) ?? '1', line: node.line });
  }
  return out;
}

/**
 * uWSGI's three cases: no children is a bare `app`; a lone text child is the
 * target; otherwise the second child's first text (`<app>` then whitespace,
 * then `<script>target</script>`) is. Anything else adds nothing.
 */
function appLines(node: XmlElement): FileLine[] {
  if (node.children.length === 0) return [{ key: 'app', value: '', line: node.line }];
  const target = appTarget(node);
  if (target === undefined) return [];
  const mountpoint = node.attributes['mountpoint'];
  const domain = node.attributes['domain'];
  const value = mountpoint !== undefined ? `${mountpoint}=${target}` : domain !== undefined ? `${domain}|=${target}` : target;
  return [
    { key: 'mount', value, line: node.line },
    { key: 'app', value: '', line: node.line },
  ];
}

function appTarget(node: XmlElement): string | undefined {
  const [first, second] = node.children;
  if (first !== undefined && first.type !== 'element' && second === undefined) return first.content;
  if (second === undefined || second.type !== 'element') return undefined;
  const inner = second.children[0];
  return inner === undefined || inner.type === 'element' ? undefined : inner.content;
}

/** libxml2's `node->children->content`: the first child's text, undefined when there are no children. */
function firstChildText(node: XmlElement): string | undefined {
  const first = node.children[0];
  if (first === undefined) return undefined;
  return first.type === 'element' ? '' : first.content;
}
