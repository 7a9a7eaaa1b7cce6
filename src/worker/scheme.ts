import net from 'node:net';

/**
 * wsgi.url_scheme. The socket says it first (TLS, or nginx's HTTPS variable on
 * a uwsgi socket). X-Forwarded-Proto / X-Forwarded-Ssl count only when the
 * peer (REMOTE_ADDR) is listed in --forwarded-allow-ips: uWSGI believes them
 * from anyone, and any client can send them (docs/differences.md).
 */
export type SchemeResolver = (base: 'http' | 'https', vars: ReadonlyArray<readonly [string, string]>, remoteAddr: string) => 'http' | 'https';

/** No trusted proxies: the socket's scheme, whatever the request says (runners then skip the variables). */
export const socketScheme: SchemeResolver = (base) => base;

export function makeSchemeResolver(allowIps: readonly string[]): SchemeResolver {
  const allowed = new Set(allowIps.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== ''));
  if (allowed.size === 0) return socketScheme;
  const anyone = allowed.has('*');
  return (base, vars, remoteAddr) => {
    if (base === 'https' || !(anyone || allowed.has(normalizeIp(remoteAddr)))) return base;
    for (const [key, value] of vars) {
      if (key === 'HTTP_X_FORWARDED_PROTO') return value.trim().toLowerCase() === 'https' ? 'https' : 'http';
      if (key === 'HTTP_X_FORWARDED_SSL' && value.trim().toLowerCase() === 'on') return 'https';
    }
    return base;
  };
}

/** "::ffff:127.0.0.1" (an IPv4 peer on a dual-stack socket) is 127.0.0.1. */
function normalizeIp(addr: string): string {
  return addr.startsWith('::ffff:') && net.isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
}
