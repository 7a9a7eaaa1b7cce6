/**
 * uWSGI's log encoders (log-encoder, log-req-encoder): a chain of functions
 * each message goes through, in the order given, before its logger writes it.
 *
 *   prefix TEXT      TEXT + message
 *   suffix TEXT      message + TEXT
 *   nl               message + "\n"
 *   format TEMPLATE  TEMPLATE with ${msg} ${msgnl} ${unix} ${micros} ${millis} ${strftime:FMT}
 *   json TEMPLATE    the same, ${msg} ${msgnl} and ${strftime:...} escaped for a JSON string
 *
 * Messages are latin-1 strings (one char per byte of the line, its "\n"
 * included) so bytes pass through unchanged. ${msg} is the message without its
 * trailing newline: `format` and `json` end the line only if the template (or
 * a later `nl`) does, exactly as uWSGI. gzip and compress are not available.
 */
import { NuwsgiError } from '../util/errors';
import type { EncoderSpec } from './logger-spec';
import { boundedStrftime, perSecond } from './time-cache';

export type EncodeFn = (msg: string) => string;

export interface LogEncoder {
  /** Only for the logger of this name (uWSGI's "json:NAME"); undefined: every logger. */
  useFor: string | undefined;
  encode: EncodeFn;
}

/** The wall clock the template variables read: epoch milliseconds and microseconds (tests pass their own). */
export interface EncoderClock {
  nowMs: () => number;
  nowUs: () => number;
}

const systemClock: EncoderClock = {
  nowMs: () => Date.now(),
  nowUs: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};

export const ENCODER_NAMES = ['prefix', 'suffix', 'nl', 'format', 'json'] as const;

export function compileEncoder(option: string, spec: EncoderSpec, clock: EncoderClock = systemClock): LogEncoder {
  // Arguments come from the (UTF-8) configuration; messages are byte strings.
  const args = Buffer.from(spec.args, 'utf8').toString('latin1');
  return { useFor: spec.useFor, encode: encoderFn(option, spec.name, args, clock) };
}

function encoderFn(option: string, name: string, args: string, clock: EncoderClock): EncodeFn {
  switch (name) {
    case 'prefix':
      return (msg) => args + msg;
    case 'suffix':
      return (msg) => msg + args;
    case 'nl':
      return (msg) => msg + '\n';
    case 'format':
      return compileTemplate(args, clock, (s) => s);
    case 'json':
      return compileTemplate(args, clock, escapeJson);
    case 'gzip':
    case 'compress':
      throw new NuwsgiError('E_CONFIG', `${option}: the ${name} encoder is not available in nuwsgi (available: ${ENCODER_NAMES.join(', ')})`);
    default:
      throw new NuwsgiError('E_CONFIG', `${option}: log encoder "${name}" not found (available: ${ENCODER_NAMES.join(', ')})`);
  }
}

/** A template piece: literal text, or a ${variable}. */
export type TemplatePart = { text: string } | { variable: string };

/**
 * Cuts a template as uWSGI's uwsgi_log_encoder_parse_vars does: `${name}` is a
 * variable; a `$` not followed by `{` is kept as text with the next
 * character; of an unclosed `${...` at the end only `${` and one more
 * character are kept (uWSGI's quirk).
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '$') {
      text += c;
      i++;
      continue;
    }
    if (template[i + 1] !== '{') {
      text += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    const close = template.indexOf('}', i + 2);
    if (close < 0) {
      // uWSGI keeps the text before it and the first three characters ("${x"), and only when there was such text.
      if (text !== '') text += template.slice(i, i + 3);
      break;
    }
    parts.push({ text }, { variable: template.slice(i + 2, close) });
    text = '';
    i = close + 1;
  }
  if (text !== '') parts.push({ text });
  return parts;
}

function compileTemplate(template: string, clock: EncoderClock, escape: (s: string) => string): EncodeFn {
  const pieces = parseTemplate(template).map((p) => ('text' in p ? () => p.text : variableFn(p.variable, clock, escape)));
  return (msg) => {
    let out = '';
    for (const piece of pieces) out += piece(msg);
    return out;
  };
}

/** One ${variable}; an unknown one prints nothing, as in uWSGI. */
function variableFn(name: string, clock: EncoderClock, escape: (s: string) => string): (msg: string) => string {
  switch (name) {
    case 'msg':
      return (msg) => escape(msg.endsWith('\n') ? msg.slice(0, -1) : msg);
    case 'msgnl':
      return (msg) => escape(msg);
    case 'unix':
      return () => String(Math.floor(clock.nowMs() / 1000));
    case 'micros':
      return () => String(clock.nowUs());
    case 'millis':
      return () => String(Math.floor(clock.nowMs()));
    default:
      break;
  }
  if (!name.startsWith('strftime:')) return () => '';
  // uWSGI formats into 64 bytes (nothing when longer), in local time, at whole seconds.
  const format = perSecond(boundedStrftime(name.slice('strftime:'.length)));
  return () => escape(Buffer.from(format(clock.nowMs()), 'utf8').toString('latin1'));
}

/** uWSGI's escape_json: only tab, newline, carriage return, '"' and '\' are escaped; other bytes pass as they are. */
export function escapeJson(s: string): string {
  return s.replace(/[\t\n\r"\\]/g, (c) => JSON_ESCAPES[c]!);
}

const JSON_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

/** Runs `msg` through the chain for a logger named `loggerId` (undefined: an unnamed logger or the default output). */
export function encodeFor(encoders: readonly LogEncoder[], loggerId: string | undefined, msg: string): string {
  let out = msg;
  for (const e of encoders) {
    // uWSGI: a scoped encoder applies only to the logger of that name, never to unnamed ones.
    if (e.useFor !== undefined && e.useFor !== loggerId) continue;
    out = e.encode(out);
  }
  return out;
}
