/**
 * Per-file choices made from the configuration: the Expires rules
 * (static-expires*) and whether to look for a precompressed variant
 * (static-gzip*). Rules are compiled once per worker.
 */
import type { ExpiresRule, StaticConfig } from './config';
import { httpDate } from './http';

export interface CompiledExpires {
  subject: ExpiresRule['subject'];
  test: (value: string) => boolean;
  seconds: number;
  fromMtime: boolean;
}

export function compileExpires(rules: readonly ExpiresRule[]): CompiledExpires[] {
  return rules.map((r) => {
    if (r.subject === 'type') return { ...r, test: (v: string) => v === r.pattern };
    const re = new RegExp(r.pattern);
    return { ...r, test: (v: string) => re.test(v) };
  });
}

export interface ExpiresSubjects {
  file: string;
  'path-info': string;
  uri: string;
  /** The bare content type ('' when unknown: no type rule matches). */
  type: string;
}

/**
 * Expires (and, ours, the matching Cache-Control max-age) from the first rule
 * that matches, in uWSGI's order. uWSGI may add one Expires per kind of rule;
 * a response with two Expires headers means nothing reliable, so one wins.
 */
export function cacheHeaders(rules: readonly CompiledExpires[], s: ExpiresSubjects, mtimeSeconds: number, nowSeconds: number): string {
  for (const r of rules) {
    const value = s[r.subject];
    if (value === '' || !r.test(value)) continue;
    const at = (r.fromMtime ? mtimeSeconds : nowSeconds) + r.seconds;
    return `Expires: ${httpDate(at)}\r\nCache-Control: max-age=${Math.max(0, at - nowSeconds)}\r\n`;
  }
  return '';
}

/** The encodings a client accepts (q=0 means "not this one"). */
export function acceptedEncodings(header: string | undefined): { gzip: boolean; br: boolean } {
  const out = { gzip: false, br: false };
  if (header === undefined) return out;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (name === 'gzip' || name === 'x-gzip') out.gzip = true;
    else if (name === 'br') out.br = true;
    else if (name === '*') out.gzip = out.br = true;
  }
  return out;
}

/** static-gzip-all / -dir / -ext / regexp: whether to look for FILE.br / FILE.gz (uWSGI's checks, on the real path). */
export function makeGzipCheck(g: StaticConfig['gzip']): ((file: string) => boolean) | null {
  if (!g.all && g.dirs.length === 0 && g.exts.length === 0 && g.regexps.length === 0) return null;
  const regexps = g.regexps.map((r) => new RegExp(r));
  return (file) => g.all || g.dirs.some((d) => file.startsWith(d)) || g.exts.some((e) => file.endsWith(e)) || regexps.some((re) => re.test(file));
}
