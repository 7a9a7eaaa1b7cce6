/**
 * The values of uWSGI's pluggable-logger options, parsed (pure, no I/O):
 *
 *   logger = [NAME ]PLUGIN[:ARGS]         logger = file:/var/log/app.log
 *   req-logger = ...                      logger = errs file:/var/log/errors.log
 *   log-route = NAME REGEXP               log-route = errs Traceback|Error
 *   log-encoder = ENCODER[:NAME][ ARGS]   log-encoder = json {"msg":"${msg}"}
 *
 * As uWSGI (core/logging.c, setup_choosen_logger): NAME is whatever precedes
 * the first space when it is only letters and digits; otherwise the whole
 * value is PLUGIN[:ARGS]. An empty ARGS ("file:") is no ARGS.
 */
import { NuwsgiError } from '../util/errors';

export interface LoggerSpec {
  /** The name log-route refers to; undefined for an unnamed logger. */
  id: string | undefined;
  plugin: string;
  arg: string | undefined;
  /** The option value as written (for messages). */
  source: string;
}

export interface RouteSpec {
  /** The logger's name. */
  id: string;
  pattern: RegExp;
}

export interface EncoderSpec {
  name: string;
  /** "json:NAME": applies only to lines going to the logger named NAME. */
  useFor: string | undefined;
  /** What follows the first space ('' without one). */
  args: string;
}

const ALNUM = /^[A-Za-z0-9]+$/;

export function parseLoggerSpec(value: string): LoggerSpec {
  let rest = value;
  let id: string | undefined;
  const space = value.indexOf(' ');
  if (space > 0 && ALNUM.test(value.slice(0, space))) {
    id = value.slice(0, space);
    rest = value.slice(space + 1);
  }
  const colon = rest.indexOf(':');
  const plugin = colon < 0 ? rest : rest.slice(0, colon);
  const arg = colon < 0 || colon === rest.length - 1 ? undefined : rest.slice(colon + 1);
  return { id, plugin, arg, source: value };
}

/**
 * "NAME REGEXP" (log-route, log-req-route). uWSGI compiles PCRE; JavaScript
 * regular expressions read the patterns people write the same way.
 */
export function parseRouteSpec(option: string, value: string): RouteSpec {
  const space = value.indexOf(' ');
  if (space <= 0 || space === value.length - 1) {
    throw new NuwsgiError('E_CONFIG', `${option} = '${value}': expected a logger name, a space and a regular expression`);
  }
  return { id: value.slice(0, space), pattern: compilePattern(option, value.slice(space + 1)) };
}

/** A regular expression for log-route, log-drain or log-filter; a bad one is a configuration error. */
export function compilePattern(option: string, source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `${option}: invalid regular expression '${source}': ${(err as Error).message}`);
  }
}

/** As uWSGI's uwsgi_setup_log_encoders: the name ends at the first space, ":NAME" inside it scopes the encoder. */
export function parseEncoderSpec(value: string): EncoderSpec {
  const space = value.indexOf(' ');
  const head = space < 0 ? value : value.slice(0, space);
  const args = space < 0 ? '' : value.slice(space + 1);
  const colon = head.indexOf(':');
  return {
    name: colon < 0 ? head : head.slice(0, colon),
    useFor: colon < 0 ? undefined : head.slice(colon + 1),
    args,
  };
}

/**
 * The file logger's "key=value" form (logfile=PATH,maxsize=BYTES,backupname=PATH),
 * split as uwsgi_kvlist_parse does: ',' between items, '\' escapes the next
 * character, the first '=' of an item ends its key. Unknown keys are ignored.
 */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of splitEscaped(text, ',')) {
    const eq = indexOfUnescaped(item, '=');
    if (eq < 0) continue;
    out.set(unescape(item.slice(0, eq)), unescape(item.slice(eq + 1)));
  }
  return out;
}

/** Items between unescaped separators; escapes are kept for the second pass. */
function splitEscaped(text: string, sep: string): string[] {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i]!;
    } else if (c === sep) {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current !== '') items.push(current);
  return items;
}

function indexOfUnescaped(text: string, ch: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ch) return i;
  }
  return -1;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}
