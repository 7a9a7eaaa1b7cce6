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
    name: 'threads-follow-loop', kind: 'flag', type: 'bool', default: true, argument: 'optional', status: 'implemented', section: SECTION,
    help: 'keep each worker\'s --threads cores on the CPU its event loop runs on (they follow it when it moves), so handing a request to a core and back does not wake a thread on another CPU; on by default, =false lets the kernel place them (nuwsgi option)',
    note: 'off under --cpu-affinity (the worker is bound already). With the GIL one core runs Python at a time, so a worker asks for about one CPU, as with threads = 1; threads the app starts (threading), subprocesses and forked children begin on every CPU again; turn it off for apps whose threads run GIL-free C code in parallel (docs/architecture.md, "Threads: the price of a wake-up")',
  },
  {
    name: 'enable-threads', short: 'T', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'enable threads in the embedded interpreter (always on in nuwsgi; accepted for compatibility)',
    note: 'always on: the GIL is released between Python calls, so app-created threads always run',
  },
  {
    name: 'lazy-apps', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'load apps in each worker instead of the master',
    note: 'always: every nuwsgi worker loads the app itself; the master never imports it (so a reload always loads new code)',
  },
  {
    name: 'lazy', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'set lazy mode (load apps in workers instead of master)',
    note: 'always: every nuwsgi worker loads the app itself; the master never imports it',
  },
  {
    name: 'single-interpreter', short: 'i', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'do not use multiple interpreters (where available)',
    note: 'always: one interpreter per worker, no sub-interpreters',
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
    name: 'cheaper-algo', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'name', implies: ['master'], section: SECTION,
    help: 'choose to algorithm used for adaptive process spawning',
    note: 'spare (default), busyness (uWSGI\'s cheaper_busyness plugin, built in) and backlog; another name falls back to spare, as uWSGI',
  },
  {
    name: 'cheaper-busyness-max', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set the cheaper busyness high percent limit, above that value worker is considered loaded (default 50)',
  },
  {
    name: 'cheaper-busyness-min', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set the cheaper busyness low percent limit, below that value worker is considered idle (default 25)',
  },
  {
    name: 'cheaper-busyness-multiplier', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set initial cheaper multiplier, worker needs to be idle for cheaper-overload*multiplier seconds to be cheaped (default 10)',
  },
  {
    name: 'cheaper-busyness-penalty', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'penalty for respawning workers to fast, it will be added to the current multiplier value if worker is cheaped and than respawned back too fast (default 2)',
  },
  {
    name: 'cheaper-busyness-backlog-alert', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'spawn emergency worker(s) if any time listen queue is higher than this value (default 33)',
  },
  {
    name: 'cheaper-busyness-backlog-multiplier', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'set cheaper multiplier used for emergency workers (default 3)',
  },
  {
    name: 'cheaper-busyness-backlog-step', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'number of emergency workers to spawn at a time (default 1)',
  },
  {
    name: 'cheaper-busyness-backlog-nonzero', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', implies: ['master'], section: SECTION,
    help: 'spawn emergency worker(s) if backlog is > 0 for more then N seconds (default 60)',
  },
  {
    name: 'cheaper-busyness-verbose', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'enable verbose log messages from busyness algorithm',
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
    name: 'cheap', kind: 'flag', type: 'bool', status: 'implemented', implies: ['master'], section: SECTION,
    help: 'set cheap mode (spawn workers only after the first request)',
  },
  {
    name: 'idle', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'secs', implies: ['master'], section: SECTION,
    help: 'set idle mode (put nuwsgi in cheap mode after inactivity)',
  },
  { name: 'die-on-idle', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'shutdown nuwsgi when idle' },
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
  { name: 'daemonize', short: 'd', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'logfile', section: SECTION, help: 'daemonize nuwsgi' },
  {
    name: 'daemonize2', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'logfile', section: SECTION,
    help: 'daemonize nuwsgi after app loading',
  },
  {
    name: 'die-on-term', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'exit instead of brutal reload on SIGTERM',
    note: 'on by default: SIGTERM (docker stop, systemd, Kubernetes) shuts down instead of uWSGI 2.0\'s brutal reload',
  },
  { name: 'exit-on-reload', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'force exit even if a reload is requested' },
  {
    name: 'auto-procname', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'automatically set processes name to something meaningful',
    note: 'uWSGI\'s exact titles ("uWSGI master", "uWSGI worker N"): monitoring scripts match them',
  },
  {
    name: 'procname-prefix', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'prefix', section: SECTION,
    help: 'add a prefix to the process names',
  },
  {
    name: 'procname-prefix-spaced', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'prefix', section: SECTION,
    help: 'add a spaced prefix to the process names',
  },
  {
    name: 'procname-append', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'suffix', section: SECTION,
    help: 'append a string to process names',
  },
  { name: 'procname', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'name', section: SECTION, help: 'set process names' },
  { name: 'procname-master', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'name', section: SECTION, help: 'set master process name' },
  {
    name: 'worker-reload-mercy', kind: 'scalar', type: 'int', default: 60, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the maximum time (in seconds) a worker can take to reload/shutdown (default is 60)',
  },
  {
    name: 'reload-mercy', kind: 'scalar', type: 'int', status: 'planned', metavar: 'secs', section: SECTION,
    help: 'set the maximum time (in seconds) we wait for workers and other processes to die during reload/shutdown',
  },
  { name: 'hook-asap', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION, help: 'run the specified hook as soon as possible' },
  { name: 'hook-as-root', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION, help: 'run the specified hook before privileges drop' },
  { name: 'hook-as-user', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION, help: 'run the specified hook after privileges drop' },
  {
    name: 'hook-post-fork', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION,
    help: 'run the specified hook after each fork',
    note: 'runs in each worker as it starts, after --env and --chdir, before hook-pre-app',
  },
  {
    name: 'hook-pre-app', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION,
    help: 'run the specified hook before app loading',
    note: 'runs in each worker: nuwsgi always loads the app in the workers (uWSGI\'s lazy-apps)',
  },
  {
    name: 'hook-post-app', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION,
    help: 'run the specified hook after app loading',
    note: 'runs in each worker: nuwsgi always loads the app in the workers (uWSGI\'s lazy-apps)',
  },
  {
    name: 'hook-accepting', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION,
    help: 'run the specified hook after each worker enter the accepting phase',
  },
  {
    name: 'hook-master-start', kind: 'list', type: 'string', status: 'implemented', metavar: 'action', section: SECTION,
    help: 'run the specified hook when the Master starts',
    note: 'actions: exec, safeexec, print/log, mkdir, putenv, unlink, create, write(n), append(n), chdir, chmod, unix_signal (master functions); others are refused at startup',
  },
  {
    name: 'attach-daemon', kind: 'list', type: 'string', status: 'implemented', metavar: 'cmd', implies: ['master'], section: SECTION,
    help: 'attach a command/daemon to the master process (the command has to not go in background)',
  },
  {
    name: 'attach-daemon2', kind: 'list', type: 'string', status: 'implemented', metavar: 'kv', implies: ['master'], section: SECTION,
    help: 'attach-daemon keyval variant (supports smart modes too)',
    note: 'keys: cmd, pidfile, daemonize, freq, control, touch, stopsignal, reloadsignal, stdin, chdir, max_throttle, notifypid; uid, gid, ns_pid, legion are ignored with a warning',
  },
  {
    name: 'smart-attach-daemon', kind: 'list', type: 'string', status: 'implemented', metavar: 'pidfile cmd', implies: ['master'], section: SECTION,
    help: 'attach a command/daemon to the master process managed by a pidfile (the command has to daemonize)',
  },
  {
    name: 'smart-attach-daemon2', kind: 'list', type: 'string', status: 'implemented', metavar: 'pidfile cmd', implies: ['master'], section: SECTION,
    help: 'attach a command/daemon to the master process managed by a pidfile (the command has to NOT daemonize)',
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
  {
    name: 'cron', kind: 'list', type: 'string', status: 'implemented', metavar: 'min hour day mon wday cmd', implies: ['master'], section: SECTION,
    help: 'add a cron task',
  },
  {
    name: 'unique-cron', kind: 'list', type: 'string', status: 'implemented', metavar: 'min hour day mon wday cmd', implies: ['master'], section: SECTION,
    help: 'add a unique cron task',
  },
  {
    name: 'cron2', kind: 'list', type: 'string', status: 'implemented', metavar: 'kv cmd', implies: ['master'], section: SECTION,
    help: 'add a cron task (key=val syntax)',
    note: 'keys: minute, hour, day, month, week, unique, harakiri; legion is ignored with a warning',
  },
  {
    name: 'cron-harakiri', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the maximum time (in seconds) we wait for cron command to complete',
  },
  { name: 'timer', aliases: ['signal-timer'], kind: 'list', type: 'string', status: 'planned', section: SECTION, help: 'add a timer (syntax: <signal> <seconds>)' },
  { name: 'cache2', kind: 'list', type: 'string', status: 'planned', section: SECTION, help: 'create a new generation shared cache (keyval syntax)' },
  { name: 'cap', kind: 'scalar', type: 'string', status: 'planned', section: SECTION, help: 'set process capability' },
];
