/**
 * --log-format: a uWSGI request-log template, compiled once into a function.
 *
 * The template is cut into text and `%(name)` chunks by the same state machine
 * as uWSGI's uwsgi_build_log_format, quirks included, so odd templates print
 * what they print under uWSGI (checked against 2.0.21):
 *
 *   "A %%(uri) B"        -> "A %/x B"        (the first % is text)
 *   "abc %(uri) def %(x" -> "abc /x def  def %(x"   (an unclosed %( repeats the text since the last variable)
 *   "%() x %(uri)"       -> "%%() x /x"
 *
 * An empty or unknown variable prints "-". Every request then costs one pass
 * over a short array of strings and getters: no parsing, no regex.
 */
import type { RequestLogRecordV2 } from './record';
import { isBuiltinVariable, resolveVariable, type Getter, type VariableContext } from './request-vars';

export type RequestFormatter = (r: RequestLogRecordV2) => string;

export type FormatChunk = { kind: 'text'; text: string } | { kind: 'var'; name: string };

export interface LogFormatOptions {
  /** --log-x-forwarded-for: %(addr) is the X-Forwarded-For header when present. */
  logXForwardedFor?: boolean;
  /** The --log-date strftime format, given only with --log-format-strftime: %(ftime) uses it. */
  ftimeFormat?: string;
  /** Wall clock in ms for %(epoch); Date.now by default (tests pass a fixed clock). */
  now?: () => number;
}

/** uWSGI's uwsgi_build_log_format, transcribed: the chunks of a template, in order. */
export function parseLogFormat(template: string): FormatChunk[] {
  const chunks: FormatChunk[] = [];
  let state = 0; // 0: text, 1: after '%', 2: after '%('
  let current = 0; // start of the pending text
  let varStart = -1; // start of the variable name, -1 when none
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '%') {
      if (state === 0) state = 1;
    } else if (c === '(') {
      if (state === 1) state = 2;
    } else if (c === ')') {
      // uWSGI neither resets the state nor moves `current` on a ')' without a pending name.
      if (varStart >= 0) {
        chunks.push({ kind: 'var', name: template.slice(varStart, i) });
        state = 0;
        varStart = -1;
        current = i + 1;
      }
    } else {
      if (state === 2) {
        // The text since `current`, minus the "%(" just read.
        chunks.push({ kind: 'text', text: template.slice(current, i - 2) });
        varStart = i;
      }
      state = 0;
    }
  }
  if (template.length > current) chunks.push({ kind: 'text', text: template.slice(current) });
  return chunks;
}

/** Compile a --log-format template. The result ends with "\n", as uWSGI's line. */
export function compileLogFormat(template: string, opts: LogFormatOptions = {}): RequestFormatter {
  // A line is a latin-1 byte string (request values are): the template's own text joins it as its UTF-8 bytes.
  const ctx: VariableContext = {
    logXForwardedFor: opts.logXForwardedFor ?? false,
    ftimeFormat: opts.ftimeFormat === undefined ? undefined : utf8Bytes(opts.ftimeFormat),
    now: opts.now ?? Date.now,
  };
  const parts: Array<string | Getter> = parseLogFormat(template).map((c) => (c.kind === 'text' ? utf8Bytes(c.text) : resolveVariable(c.name, ctx)));
  parts.push('\n');
  const merged = mergeText(parts);
  return (r) => {
    let line = '';
    for (let i = 0; i < merged.length; i++) {
      const part = merged[i]!;
      if (typeof part === 'string') line += part;
      else {
        const value = part(r);
        line += value === '' ? '-' : value;
      }
    }
    return line;
  };
}

/**
 * Names in the template that are neither built in nor var./metric.: uWSGI
 * silently reads them as logvars (set by the app with uwsgi.set_logvar) and
 * prints "-" when unset, so a typo such as %(stauts) goes unnoticed. The
 * caller may warn about them at startup.
 */
export function logvarNames(template: string): string[] {
  const names = new Set<string>();
  for (const c of parseLogFormat(template)) {
    if (c.kind === 'var' && !isBuiltinVariable(c.name) && !c.name.startsWith('var.') && !c.name.startsWith('metric.')) names.add(c.name);
  }
  return [...names];
}

/** The UTF-8 encoding of `text`, one char per byte (how request values are held). */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Adjacent text chunks joined, empty ones dropped: fewer steps per request. */
function mergeText(parts: ReadonlyArray<string | Getter>): Array<string | Getter> {
  const out: Array<string | Getter> = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (typeof part === 'string') {
      if (part === '') continue;
      if (typeof last === 'string') out[out.length - 1] = last + part;
      else out.push(part);
    } else out.push(part);
  }
  return out;
}
