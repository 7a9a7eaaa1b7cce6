import type { OptionSpec } from '../types';

const SECTION = 'Processes';

export const PROCESSES_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'master', short: 'M', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION,
    help: 'enable the master process',
  },
  {
    name: 'processes', aliases: ['workers'], short: 'p', kind: 'scalar', type: 'int', default: 1, status: 'implemented', metavar: 'n', min: 1, section: SECTION,
    help: 'spawn the specified number of workers',
  },
  {
    name: 'threads', kind: 'scalar', type: 'int', default: 1, status: 'implemented', metavar: 'n', implies: ['enable-threads'], min: 1, max: 256, section: SECTION,
    help: 'run each worker in prethreaded mode with the specified number of threads',
    note: 'each core is a stable Python thread; the event loop never waits for Python (docs/architecture.md, "Dispatch and cores"); at most 256',
  },
  {
    name: 'thread-stacksize', aliases: ['threads-stacksize', 'thread-stack-size', 'threads-stack-size'], kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', min: 0, section: SECTION,
    help: 'set threads stacksize',
    note: 'in KiB, for the --threads core threads (threading.stack_size)',
  },
  {
    name: 'enable-threads', short: 'T', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'enable threads in the embedded interpreter (always on in nuwsgi; accepted for compatibility)',
    note: 'always on: the GIL is released between Python calls, so app-created threads always run',
  },
  { name: 'lazy-apps', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'load apps in each worker instead of the master' },
  { name: 'lazy', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'set lazy mode (load apps in workers instead of master)' },
  {
    name: 'single-interpreter', short: 'i', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'do not use multiple interpreters (where available)',
  },
  {
    name: 'need-app', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'exit (code 22) if no app can be loaded',
    note: 'on by default: a server that cannot load its app exits with code 22 instead of serving 500s',
  },
  {
    name: 'cheaper', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set cheaper mode (adaptive process spawning)',
  },
  {
    name: 'cheaper-initial', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set the initial number of processes to spawn in cheaper mode',
  },
  {
    name: 'cheaper-step', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'number of additional processes to spawn at each overload',
  },
  {
    name: 'cheaper-algo', kind: 'scalar', type: 'string', status: 'planned', metavar: 'name', implies: ['master'], section: SECTION,
    help: 'choose to algorithm used for adaptive process spawning',
  },
  {
    name: 'cheaper-overload', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'secs', implies: ['master'], section: SECTION,
    help: 'increase workers after specified overload',
  },
  {
    name: 'cheaper-rss-limit-soft', kind: 'scalar', type: 'size', status: 'planned', metavar: 'bytes', implies: ['master'], section: SECTION,
    help: 'don\'t spawn new workers if total resident memory usage of all workers is higher than this limit',
  },
  {
    name: 'cheaper-rss-limit-hard', kind: 'scalar', type: 'size', status: 'planned', metavar: 'bytes', implies: ['master'], section: SECTION,
    help: 'if total workers resident memory usage is higher try to stop workers',
  },
  {
    name: 'cheap', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'set cheap mode (spawn workers only after the first request)',
  },
  {
    name: 'idle', kind: 'scalar', type: 'int', status: 'planned', metavar: 'secs', implies: ['master'], section: SECTION,
    help: 'set idle mode (put uWSGI in cheap mode after inactivity)',
  },
  { name: 'die-on-idle', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'shutdown uWSGI when idle' },
  {
    name: 'no-orphans', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'automatically kill workers if master dies (can be dangerous for availability)',
  },
  { name: 'uid', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'user', section: SECTION, help: 'setuid to the specified user/uid' },
  { name: 'gid', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'group', section: SECTION, help: 'setgid to the specified group/gid' },
  {
    name: 'chdir', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'chdir to the specified directory before loading the app',
  },
  {
    name: 'chdir2', kind: 'scalar', type: 'path', status: 'planned', metavar: 'dir', section: SECTION,
    help: 'chdir to specified directory after apps loading',
  },
  {
    name: 'pidfile', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'create pidfile (before privileges drop)',
  },
  {
    name: 'safe-pidfile', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'create safe pidfile (before privileges drop)',
  },
  {
    name: 'pidfile2', kind: 'scalar', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'create pidfile (after privileges drop)',
  },
  { name: 'daemonize', short: 'd', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'logfile', section: SECTION, help: 'daemonize uWSGI' },
  {
    name: 'daemonize2', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'logfile', section: SECTION,
    help: 'daemonize uWSGI after app loading',
  },
  {
    name: 'die-on-term', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'exit instead of brutal reload on SIGTERM',
    note: 'on by default: SIGTERM (docker stop, systemd, Kubernetes) shuts down instead of uWSGI 2.0\'s brutal reload',
  },
  { name: 'exit-on-reload', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'force exit even if a reload is requested' },
  {
    name: 'auto-procname', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'automatically set processes name to something meaningful',
  },
  {
    name: 'procname-prefix', kind: 'scalar', type: 'string', status: 'planned', metavar: 'prefix', section: SECTION,
    help: 'add a prefix to the process names',
  },
  {
    name: 'procname-prefix-spaced', kind: 'scalar', type: 'string', status: 'planned', metavar: 'prefix', section: SECTION,
    help: 'add a spaced prefix to the process names',
  },
  {
    name: 'worker-reload-mercy', kind: 'scalar', type: 'int', default: 60, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the maximum time (in seconds) a worker can take to reload/shutdown (default is 60)',
  },
  {
    name: 'reload-mercy', kind: 'scalar', type: 'int', status: 'planned', metavar: 'secs', section: SECTION,
    help: 'set the maximum time (in seconds) we wait for workers and other processes to die during reload/shutdown',
  },
  {
    name: 'hook-master-start', kind: 'list', type: 'string', status: 'planned', metavar: 'action', section: SECTION,
    help: 'run the specified hook when the Master starts',
  },
  {
    name: 'attach-daemon', kind: 'list', type: 'string', status: 'planned', metavar: 'cmd', implies: ['master'], section: SECTION,
    help: 'attach a command/daemon to the master process (the command has to not go in background)',
  },
  {
    name: 'smart-attach-daemon', kind: 'list', type: 'string', status: 'planned', metavar: 'pidfile cmd', implies: ['master'], section: SECTION,
    help: 'attach a command/daemon to the master process managed by a pidfile (the command has to daemonize)',
  },
  {
    name: 'spooler', short: 'Q', kind: 'list', type: 'path', status: 'planned', metavar: 'dir', implies: ['master'], section: SECTION,
    help: 'run a spooler on the specified directory',
  },
  { name: 'mule', kind: 'list', type: 'string', status: 'planned', implies: ['master'], argument: 'optional', section: SECTION, help: 'add a mule' },
  {
    name: 'mules', kind: 'scalar', type: 'int', status: 'planned', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'add the specified number of mules',
  },
  { name: 'cron', kind: 'list', type: 'string', status: 'planned', implies: ['master'], section: SECTION, help: 'add a cron task' },
  { name: 'timer', kind: 'list', type: 'string', status: 'planned', section: SECTION, help: 'add a timer (syntax: <signal> <seconds>)' },
  { name: 'cache2', kind: 'list', type: 'string', status: 'planned', section: SECTION, help: 'create a new generation shared cache (keyval syntax)' },
  { name: 'cap', kind: 'scalar', type: 'string', status: 'planned', section: SECTION, help: 'set process capability' },
];
