import type { OptionSpec } from '../types';

const SECTION = 'Monitoring and static files';

export const MONITORING_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'stats', aliases: ['stats-server'], kind: 'scalar', type: 'addr', status: 'implemented', metavar: 'addr', implies: ['master'], section: SECTION,
    help: 'enable the stats server on the specified address',
  },
  { name: 'stats-http', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'prefix stats server json output with http headers' },
  { name: 'stats-minified', aliases: ['stats-min'], kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'minify statistics json output' },
  {
    name: 'metrics', kind: 'scalar', type: 'addr', status: 'implemented', metavar: 'addr', implies: ['master'], section: SECTION,
    help: '(nuwsgi) serve Prometheus metrics over HTTP on the specified address (also /ready and /live; on an emperor: every vassal, label vassal)',
  },
  {
    name: 'dashboard', kind: 'scalar', type: 'addr', status: 'implemented', metavar: 'addr', implies: ['master'], section: SECTION,
    help: '(nuwsgi) serve the live dashboard, /metrics, /stats, /ready and /live over HTTP on the specified address (:PORT means 127.0.0.1:PORT; unix socket path allowed; master or emperor)',
  },
  {
    name: 'dashboard-actions', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: '(nuwsgi) let the dashboard reload, chain reload, add and remove workers (POST with the dashboard token)',
  },
  {
    name: 'dashboard-token', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'token', section: SECTION,
    help: '(nuwsgi) the token dashboard actions require (Authorization: Bearer TOKEN)',
  },
  {
    name: 'dashboard-token-file', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: '(nuwsgi) read the dashboard actions token from the first line of the specified file',
  },
  {
    name: 'stats-push', kind: 'list', type: 'string', status: 'planned', metavar: 'target', implies: ['master'], section: SECTION,
    help: 'push the stats json to the specified destination',
  },
  {
    name: 'carbon', kind: 'list', type: 'string', status: 'planned', metavar: 'host:port', implies: ['master'], section: SECTION,
    help: 'push statistics to the specified carbon server',
  },
  {
    name: 'static-map', kind: 'list', type: 'kv', status: 'implemented', metavar: '/mount=dir', section: SECTION,
    help: 'map mountpoint to static directory (or file)',
    note: 'served by Node, never by Python; the mountpoint matches at a path-segment boundary, longest first (docs/static.md)',
  },
  {
    name: 'static-map2', kind: 'list', type: 'kv', status: 'implemented', metavar: '/mount=dir', section: SECTION,
    help: 'like static-map but completely appending the requested resource to the docroot',
  },
  {
    name: 'check-static', aliases: ['static-check'], kind: 'list', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'check for static files in the specified directory',
  },
  {
    name: 'static-index', kind: 'list', type: 'string', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'search for specified file if a directory is requested',
  },
  {
    name: 'static-skip-ext', kind: 'list', type: 'string', status: 'implemented', metavar: 'ext', section: SECTION,
    help: 'skip specified extension from staticfile checks',
  },
  {
    name: 'static-safe', kind: 'list', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'skip security checks if the file is under the specified path',
  },
  {
    name: 'static-cache-paths', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'secs', min: 0, section: SECTION,
    help: 'put resolved paths in the uWSGI cache for the specified amount of seconds',
    note: 'a per-worker in-memory cache (uWSGI uses its shared cache and needs --master)',
  },
  {
    name: 'mimefile', aliases: ['mime-file'], kind: 'list', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'set mime types file path (default /etc/mime.types)',
  },
  {
    name: 'static-expires-type', kind: 'list', type: 'string', status: 'implemented', metavar: 'type=secs', section: SECTION,
    help: 'set the Expires header based on content type',
  },
  {
    name: 'static-expires-type-mtime', kind: 'list', type: 'string', status: 'implemented', metavar: 'type=secs', section: SECTION,
    help: 'set the Expires header based on content type and file mtime',
  },
  {
    name: 'static-expires', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on filename regexp',
  },
  {
    name: 'static-expires-mtime', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on filename regexp and file mtime',
  },
  {
    name: 'static-expires-uri', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on REQUEST_URI regexp',
  },
  {
    name: 'static-expires-uri-mtime', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on REQUEST_URI regexp and file mtime',
  },
  {
    name: 'static-expires-path-info', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on PATH_INFO regexp',
  },
  {
    name: 'static-expires-path-info-mtime', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp secs', section: SECTION,
    help: 'set the Expires header based on PATH_INFO regexp and file mtime',
  },
  {
    name: 'static-gzip', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp', section: SECTION,
    help: 'if the supplied regexp matches the static file translation it will search for a gzip version',
  },
  {
    name: 'static-gzip-all', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'check for a gzip version of all requested static files',
    note: 'FILE.br is preferred when the client accepts br (as uWSGI), with Vary: Accept-Encoding (ours)',
  },
  {
    name: 'static-gzip-dir', aliases: ['static-gzip-prefix'], kind: 'list', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'check for a gzip version of all requested static files in the specified dir/prefix',
  },
  {
    name: 'static-gzip-ext', aliases: ['static-gzip-suffix'], kind: 'list', type: 'string', status: 'implemented', metavar: 'ext', section: SECTION,
    help: 'check for a gzip version of all requested static files with the specified ext/suffix',
  },
  {
    name: 'x-sendfile', kind: 'list', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: '(nuwsgi) serve the file named by an app response\'s X-Sendfile header when it is under this directory',
  },
  {
    name: 'offload-threads', aliases: ['offload-thread'], kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'n', section: SECTION,
    help: 'set the number of offload threads to spawn (per-worker, default 0)',
    note: 'accepted and not needed: static files and file responses are always sent by Node\'s event loop, never holding the Python side',
  },
  { name: 'route', kind: 'list', type: 'string', status: 'planned', metavar: 'regexp action', section: SECTION, help: 'add a route' },
  {
    name: 'route-host', kind: 'list', type: 'string', status: 'planned', metavar: 'regexp action', section: SECTION,
    help: 'add a route based on Host header',
  },
  {
    name: 'route-uri', kind: 'list', type: 'string', status: 'planned', metavar: 'regexp action', section: SECTION,
    help: 'add a route based on REQUEST_URI',
  },
  {
    name: 'route-qs', kind: 'list', type: 'string', status: 'planned', metavar: 'regexp action', section: SECTION,
    help: 'add a route based on QUERY_STRING',
  },
  {
    name: 'add-header', kind: 'list', type: 'string', status: 'implemented', metavar: 'header', section: SECTION,
    help: 'automatically add HTTP headers to response',
    note: '"Name: value", appended after the app\'s headers of every response, and to the 500s nuwsgi writes itself; a line that is not a valid header is refused at startup (uWSGI writes it as it is)',
  },
  {
    name: 'del-header', aliases: ['rem-header'], kind: 'list', type: 'string', status: 'implemented', metavar: 'header', section: SECTION,
    help: 'automatically remove specified HTTP header from the response',
    note: 'the exact name, any case, removed from the app\'s headers; the framing headers nuwsgi adds itself (Content-Length, Transfer-Encoding, Connection) stay',
  },
  {
    name: 'ignore-sigpipe', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'do not report (annoying) SIGPIPE',
    note: 'no "SIGPIPE: writing to a closed pipe/socket/fd" line when a client leaves mid-response (nuwsgi sees EPIPE rather than the signal)',
  },
  {
    name: 'ignore-write-errors', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'do not report (annoying) write()/writev() errors',
    note: 'no "uwsgi_response_write_body_do(): ... during GET /uri (addr)" line when a client leaves mid-response',
  },
  {
    name: 'disable-write-exception', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'disable exception generation on write()/writev()',
    note: 'no "OSError: write error" line when a client leaves mid-response (nuwsgi never raises into the app: write() is buffered)',
  },
  {
    name: 'close-on-exec', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'set close-on-exec on connection sockets (could be required for spawning processes in requests)',
    note: 'always: workers accept connections with SOCK_CLOEXEC, so processes the app spawns never inherit a client socket',
  },
];
