import type { OptionSpec } from '../types';

const SECTION = 'Logging';

export const LOGGING_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'disable-logging', short: 'L', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION,
    help: 'disable request logging',
  },
  { name: 'logto', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'file|udp', section: SECTION, help: 'set logfile/udp address' },
  {
    name: 'logto2', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'file|udp', section: SECTION,
    help: 'log to specified file or udp address after privileges drop',
  },
  {
    name: 'log-date', aliases: ['logdate'], kind: 'scalar', type: 'string', status: 'implemented', metavar: 'format', argument: 'optional', section: SECTION,
    help: 'prefix logs with date or a strftime string',
  },
  {
    name: 'log-format', aliases: ['logformat'], kind: 'scalar', type: 'string', status: 'implemented', metavar: 'format', section: SECTION,
    help: 'set advanced format for request logging',
  },
  {
    name: 'logformat-json', aliases: ['log-format-json'], kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: '(nuwsgi) write each request log line as one JSON object (wins over log-format)',
  },
  {
    name: 'log-format-strftime', aliases: ['logformat-strftime'], kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'apply strftime to logformat output',
  },
  {
    name: 'log-micros', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'report response time in microseconds instead of milliseconds',
  },
  { name: 'log-4xx', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'log requests with a 4xx response' },
  { name: 'log-5xx', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'log requests with a 5xx response' },
  {
    name: 'log-slow', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'msecs', section: SECTION,
    help: 'log requests slower than the specified number of milliseconds',
  },
  {
    name: 'log-big', kind: 'scalar', type: 'size', status: 'implemented', metavar: 'bytes', section: SECTION,
    help: 'log requestes bigger than the specified size',
  },
  { name: 'log-zero', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'log responses without body' },
  { name: 'log-sendfile', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'log sendfile requests' },
  { name: 'log-ioerror', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'log requests with io errors' },
  {
    name: 'log-x-forwarded-for', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'use the ip from X-Forwarded-For header instead of REMOTE_ADDR',
  },
  {
    name: 'log-master', kind: 'flag', type: 'bool', status: 'implemented', implies: ['master'], section: SECTION,
    help: 'delegate logging to master process (worker stdout/stderr always go through the master; this sends request lines too)',
  },
  {
    name: 'threaded-logger', kind: 'flag', type: 'bool', status: 'planned', implies: ['master'], section: SECTION,
    help: 'offload log writing to a thread',
  },
  {
    name: 'logger', kind: 'list', type: 'string', status: 'implemented', metavar: '[name] plugin[:args]', implies: ['master', 'log-master'], section: SECTION,
    help: 'set/append a logger: file:PATH (or file:logfile=PATH,maxsize=N,backupname=B), fd:N, stdio, socket:ADDR[,prefix], syslog[:ident[,facility]], rsyslog:host[:port][,prefix[,pri]]; a leading name makes it a log-route target',
  },
  {
    name: 'req-logger', aliases: ['logger-req'], kind: 'list', type: 'string', status: 'implemented', metavar: '[name] plugin[:args]', implies: ['master', 'log-master'], section: SECTION,
    help: 'set/append a request logger: request lines go there instead of to the loggers (same plugins as logger)',
  },
  {
    name: 'log-drain', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp', implies: ['master', 'log-master'], section: SECTION,
    help: 'drain (do not show) log lines matching the specified regexp',
  },
  {
    name: 'log-filter', kind: 'list', type: 'string', status: 'implemented', metavar: 'regexp', implies: ['master', 'log-master'], section: SECTION,
    help: 'show only log lines matching the specified regexp',
  },
  {
    name: 'log-route', kind: 'list', type: 'string', status: 'implemented', metavar: 'logger regexp', implies: ['master', 'log-master'], section: SECTION,
    help: 'log to the specified named logger if regexp applied on logline matches',
  },
  {
    name: 'log-req-route', kind: 'list', type: 'string', status: 'implemented', metavar: 'logger regexp', implies: ['master', 'log-master'], section: SECTION,
    help: 'log requests to the specified named logger if regexp applied on logline matches',
  },
  {
    name: 'log-encoder', kind: 'list', type: 'string', status: 'implemented', metavar: 'encoder[:logger] [args]', implies: ['master', 'log-master'], section: SECTION,
    help: 'add an item in the log encoder chain: prefix TEXT, suffix TEXT, nl, format TEMPLATE, json TEMPLATE (${msg} ${msgnl} ${unix} ${micros} ${millis} ${strftime:FMT})',
  },
  {
    name: 'log-req-encoder', kind: 'list', type: 'string', status: 'implemented', metavar: 'encoder[:logger] [args]', implies: ['master', 'log-master'], section: SECTION,
    help: 'add an item in the log req encoder chain (request lines going to a req-logger)',
  },
  { name: 'log-maxsize', kind: 'scalar', type: 'size', status: 'implemented', metavar: 'bytes', section: SECTION, help: 'set maximum logfile size' },
  {
    name: 'log-backupname', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'set logfile name after rotation',
  },
  { name: 'log-reopen', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'reopen log after reload' },
  { name: 'log-truncate', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'truncate log on startup' },
];
