import type { OptionSpec } from '../types';

const SECTION = 'Sockets';

export const SOCKETS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'socket', aliases: ['uwsgi-socket'], short: 's', kind: 'list', type: 'addr', status: 'implemented', metavar: 'addr', section: SECTION,
    help: 'bind to the specified UNIX/TCP socket using the default protocol (uwsgi, or the one --protocol sets)',
  },
  {
    name: 'http-socket', aliases: ['http', 'http11-socket'], kind: 'list', type: 'addr', status: 'implemented', metavar: 'addr', section: SECTION,
    help: 'bind to the specified UNIX/TCP socket using HTTP, served by the workers directly',
    note: 'http is an alias of http-socket: nuwsgi has no separate HTTP router process',
  },
  {
    name: 'https-socket', kind: 'list', type: 'string', status: 'implemented', metavar: 'addr,cert,key[,ciphers,ca]', section: SECTION,
    help: 'bind to the specified UNIX/TCP socket using HTTPS, served by the workers directly',
  },
  {
    name: 'https', kind: 'list', type: 'string', status: 'implemented', metavar: 'addr,cert,key[,ciphers,ca]', section: SECTION,
    help: 'serve HTTPS on the specified address with the specified certificate and key (the same as https-socket)',
    note: 'no separate router process: the workers terminate TLS themselves',
  },
  {
    name: 'forwarded-allow-ips', kind: 'list', type: 'string', status: 'implemented', metavar: 'ip[,ip...]|*', section: SECTION,
    help: 'trust X-Forwarded-Proto/X-Forwarded-Ssl for wsgi.url_scheme only from these peers (nuwsgi; uWSGI trusts everyone)',
  },
  {
    name: 'fastcgi-socket', kind: 'list', type: 'addr', status: 'planned', metavar: 'addr', section: SECTION,
    help: 'bind to the specified UNIX/TCP socket using FastCGI protocol',
  },
  {
    name: 'scgi-socket', kind: 'list', type: 'addr', status: 'planned', metavar: 'addr', section: SECTION,
    help: 'bind to the specified UNIX/TCP socket using SCGI protocol',
  },
  {
    name: 'shared-socket', kind: 'list', type: 'addr', status: 'planned', metavar: 'addr', section: SECTION,
    help: 'create a shared socket for advanced jailing or ipc',
  },
  {
    name: 'http-to', kind: 'list', type: 'addr', status: 'planned', metavar: 'addr', section: SECTION,
    help: 'forward requests from the HTTP router to the specified uwsgi address',
  },
  {
    name: 'http-timeout', kind: 'scalar', type: 'int', default: 60, status: 'implemented', metavar: 'secs', min: 1, section: SECTION,
    help: 'timeout for HTTP client connections, in seconds',
  },
  {
    name: 'http-keepalive', kind: 'scalar', type: 'int', status: 'implemented', argument: 'optional', section: SECTION,
    help: 'HTTP 1.1 keepalive support (non-pipelined) requests',
    note: 'nuwsgi\'s HTTP sockets always keep alive (pipelining included); N > 1 sets how many seconds a kept-alive connection may wait for its next request (as uWSGI\'s router), 0 turns keep-alive off',
  },
  {
    name: 'http-websockets', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'automatically detect websockets connections and put the session in raw mode',
    note: 'accepted for uWSGI configs; WebSockets are always on for ASGI apps (Node does the handshake and frames, docs/asgi.md), and a WSGI app gets an Upgrade request as a plain request, as uWSGI passes it',
  },
  {
    name: 'http-auto-chunked', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'automatically transform output to chunked encoding during HTTP 1.1 keepalive (if needed)',
    note: 'always on in nuwsgi: a streamed response without Content-Length is chunked for HTTP/1.1 clients and the connection stays open',
  },
  {
    name: 'http-processes', aliases: ['http-workers'], kind: 'scalar', type: 'int', status: 'planned', metavar: 'n', section: SECTION,
    help: 'set the number of http processes to spawn',
  },
  {
    name: 'http-socket-modifier1', kind: 'scalar', type: 'int', status: 'refused', section: SECTION,
    help: 'force the specified modifier1 when using HTTP protocol',
    why: 'forcing modifiers on HTTP sockets only makes sense for uWSGI\'s plugin dispatch; nuwsgi serves WSGI only',
  },
  {
    name: 'chmod-socket', aliases: ['chmod'], short: 'C', kind: 'scalar', type: 'octal', status: 'implemented', metavar: 'mode', argument: 'optional', section: SECTION,
    help: 'chmod UNIX sockets (no value: 666)',
  },
  { name: 'chown-socket', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'user[:group]', section: SECTION, help: 'chown unix sockets' },
  { name: 'umask', kind: 'scalar', type: 'octal', status: 'implemented', metavar: 'mask', immediate: true, section: SECTION, help: 'set umask' },
  {
    name: 'listen', short: 'l', kind: 'scalar', type: 'int', default: 100, status: 'implemented', metavar: 'n', min: 1, immediate: true, section: SECTION,
    help: 'set the socket listen queue size',
  },
  {
    name: 'buffer-size', short: 'b', kind: 'scalar', type: 'int', default: 4096, status: 'implemented', metavar: 'bytes', min: 1, max: 65535, section: SECTION,
    help: 'set the internal buffer size: the maximum size of a request\'s headers / uwsgi vars block',
  },
  { name: 'vacuum', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'try to remove all of the generated file/sockets' },
  {
    name: 'socket-timeout', short: 'z', kind: 'scalar', type: 'int', default: 4, status: 'implemented', metavar: 'secs', min: 1, section: SECTION,
    help: 'set internal sockets timeout, in seconds',
  },
  {
    name: 'so-keepalive', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'enable TCP KEEPALIVEs',
    note: 'SO_KEEPALIVE on TCP listening sockets; Linux copies it to every accepted connection',
  },
  { name: 'tcp-nodelay', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'enable TCP NODELAY on each request' },
  {
    name: 'reuse-port', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'enable REUSE_PORT flag on socket',
    note: 'SO_REUSEPORT on TCP sockets (Linux too): several instances may bind the same port and the kernel spreads connections',
  },
  {
    name: 'thunder-lock', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'serialize accept() usage (if possible)',
    note: 'workers take turns watching the sockets (an flock, not uWSGI\'s robust mutex): a connection wakes one idle worker; worth it from about 6 workers up; TLS sockets are not serialized',
  },
  {
    name: 'abstract-socket', short: 'a', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'force UNIX socket in abstract mode (Linux only)',
  },
  {
    name: 'max-vars', short: 'v', kind: 'scalar', type: 'int', default: 512, status: 'implemented', metavar: 'n', min: 1, section: SECTION,
    help: 'set the maximum number of request variables (headers + CGI vars) accepted per request',
    note: 'uWSGI\'s default is 64 slots, too small for modern browsers; nuwsgi defaults to 512',
  },
  {
    name: 'limit-post', kind: 'scalar', type: 'size', default: 0, status: 'implemented', metavar: 'bytes', section: SECTION,
    help: 'limit request body size in bytes (0 = unlimited)',
  },
];
