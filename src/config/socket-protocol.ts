/**
 * `protocol` / `socket-protocol`: the protocol of "default" sockets, the ones
 * given with `socket` (and those inherited from systemd), as in uWSGI, where
 * `uwsgi --socket :8080 --protocol=http` serves HTTP on that socket.
 */
import { ConfigError, type ConfigOrigin } from '../util/errors';
import { where } from './values';

/** What a default socket speaks in nuwsgi: the uwsgi protocol or HTTP/1.1 (keep-alive, as http-socket). */
export type DefaultSocketProtocol = 'uwsgi' | 'http';

/**
 * uWSGI's `http` is HTTP/1.0-style (one request per connection) and `http11`
 * HTTP/1.1 with keep-alive; nuwsgi's HTTP sockets always speak HTTP/1.1 and
 * close when the client asks (HTTP/1.0 or `Connection: close`), so both map there.
 */
const SUPPORTED: Readonly<Record<string, DefaultSocketProtocol>> = { uwsgi: 'uwsgi', http: 'http', http11: 'http' };

/** The other protocols uWSGI 2.0.21 registers: known, but not served by nuwsgi. */
const NOT_AVAILABLE = new Set(['puwsgi', 'suwsgi', 'https', 'fastcgi', 'fastcgi-nph', 'scgi', 'scgi-nph', 'raw', 'mongrel2']);

/** undefined (option unset) = uwsgi, as uWSGI; unknown or unavailable names are configuration errors. */
export function defaultSocketProtocol(value: string | undefined, origin?: ConfigOrigin): DefaultSocketProtocol {
  if (value === undefined) return 'uwsgi';
  const source = origin === undefined ? '' : where(origin);
  const protocol = SUPPORTED[value];
  if (protocol !== undefined) return protocol;
  if (NOT_AVAILABLE.has(value)) {
    const how = value === 'https' ? ' (use https-socket = addr,cert,key)' : '';
    throw new ConfigError(`protocol '${value}' is not available in nuwsgi: socket entries can speak uwsgi, http or http11${how}${source}`, origin, 'protocol');
  }
  // uWSGI's words: "unable to find protocol <name>", then it exits 1.
  throw new ConfigError(`unable to find protocol ${value} (nuwsgi knows uwsgi, http and http11)${source}`, origin, 'protocol');
}
