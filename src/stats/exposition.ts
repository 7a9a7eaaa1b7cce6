/**
 * Prometheus' text exposition format 0.0.4: writing it (the master's
 * --metrics and dashboard), and reading it back (the emperor relabels each
 * vassal's metrics with `vassal="NAME"` and merges them into one document,
 * in which each metric family must appear once, all its samples together).
 */

export type Labels = Readonly<Record<string, string>>;
export type Sample = readonly [Labels, number];
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  /** Full sample names (a histogram's _bucket/_sum/_count) with their labels and values. */
  samples: Array<{ name: string; labels: Labels; value: number }>;
}

export class Exposition {
  private readonly families = new Map<string, Family>();

  metric(name: string, type: MetricType, help: string, samples: readonly Sample[]): void {
    const family = this.family(name, type, help);
    for (const [labels, value] of samples) family.samples.push({ name, labels, value });
  }

  /** A sample of an already declared family (a histogram's _bucket lines). */
  sample(family: string, name: string, labels: Labels, value: number): void {
    this.families.get(family)?.samples.push({ name, labels, value });
  }

  /** Declares a family, or returns it when it exists (merging documents). */
  family(name: string, type: MetricType, help: string): Family {
    let family = this.families.get(name);
    if (family === undefined) {
      family = { name, type, help, samples: [] };
      this.families.set(name, family);
    }
    return family;
  }

  /** Adds every family of a parsed document, each sample with `extra` labels first. */
  merge(families: readonly Family[], extra: Labels): void {
    for (const f of families) {
      const into = this.family(f.name, f.type, f.help);
      for (const s of f.samples) into.samples.push({ name: s.name, labels: { ...extra, ...s.labels }, value: s.value });
    }
  }

  text(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.samples) lines.push(`${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/**
 * Reads a text exposition (as nuwsgi writes it: HELP and TYPE before the
 * samples of each family). Lines that do not parse are skipped: a vassal's
 * document is input, and one odd line must not lose the rest.
 */
export function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, help] = splitFirst(line.slice(7), ' ');
      helps.set(name, unescapeHelp(help));
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = splitFirst(line.slice(7), ' ');
      current = { name, type: asType(type), help: helps.get(name) ?? '', samples: [] };
      families.set(name, current);
    } else if (line !== '' && !line.startsWith('#')) {
      const sample = parseSampleLine(line);
      if (sample === undefined) continue;
      const family = current !== undefined && belongsTo(sample.name, current) ? current : untyped(families, sample.name);
      family.samples.push(sample);
    }
  }
  return [...families.values()];
}

function untyped(families: Map<string, Family>, name: string): Family {
  let f = families.get(name);
  if (f === undefined) {
    f = { name, type: 'untyped', help: '', samples: [] };
    families.set(name, f);
  }
  return f;
}

function belongsTo(sample: string, f: Family): boolean {
  if (sample === f.name) return true;
  if (f.type !== 'histogram' && f.type !== 'summary') return false;
  return ['_bucket', '_sum', '_count'].some((suffix) => sample === f.name + suffix);
}

function asType(t: string): MetricType {
  return t === 'counter' || t === 'gauge' || t === 'histogram' || t === 'summary' ? t : 'untyped';
}

function splitFirst(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parseSampleLine(line: string): { name: string; labels: Labels; value: number } | undefined {
  const m = SAMPLE_NAME.exec(line);
  if (m === null) return undefined;
  const name = m[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest);
    if (parsed === undefined) return undefined;
    Object.assign(labels, parsed.labels);
    rest = rest.slice(parsed.length);
  }
  const valueText = rest.trim().split(/\s+/)[0] ?? '';
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? Number.NaN : Number(valueText);
  if (valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) return undefined;
  return { name, labels, value };
}

/** `{a="x",b="y\"z"}` → labels and the number of characters consumed. */
function parseLabels(s: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {};
  let i = 1;
  while (i < s.length) {
    if (s[i] === '}') return { labels, length: i + 1 };
    if (s[i] === ',') i++;
    const eq = s.indexOf('="', i);
    if (eq < 0) return undefined;
    const key = s.slice(i, eq);
    let j = eq + 2;
    let value = '';
    while (j < s.length && s[j] !== '"') {
      if (s[j] === '\\' && j + 1 < s.length) {
        const c = s[j + 1];
        value += c === 'n' ? '\n' : c;
        j += 2;
      } else {
        value += s[j];
        j++;
      }
    }
    if (j >= s.length) return undefined;
    labels[key] = value;
    i = j + 1;
  }
  return undefined;
}
