/**
 * What a --logto / --logto2 value names. uWSGI (core/logging.c, logto) reads
 * any value containing ':' as a UDP "host:port" and anything else as a file:
 * "/var/log/app.log" is a file, "127.0.0.1:514" and "loghost:514" are UDP.
 * nuwsgi also accepts a bracketed IPv6 host ("[::1]:514"), which uWSGI's
 * IPv4-only code rejects.
 */
import { NuwsgiError } from '../util/errors';

export type LogTarget = { kind: 'file'; path: string } | { kind: 'udp'; host: string; port: number };

export function parseLogTarget(value: string): LogTarget {
  if (value === '') throw new NuwsgiError('E_LOG_TARGET', 'empty log target');
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(value);
  const colon = value.indexOf(':');
  if (bracketed === null && colon < 0) return { kind: 'file', path: value };
  const host = bracketed !== null ? bracketed[1]! : value.slice(0, colon);
  const portText = bracketed !== null ? bracketed[2]! : value.slice(colon + 1);
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  // uWSGI: "invalid udp address" when either side is empty; nuwsgi also refuses a port atoi() would turn into 0.
  if (host === '' || !(port >= 1 && port <= 65535)) {
    throw new NuwsgiError('E_LOG_TARGET', `invalid udp address '${value}' (expected host:port)`);
  }
  return { kind: 'udp', host, port };
}
