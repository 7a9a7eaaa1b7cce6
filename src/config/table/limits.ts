import type { OptionSpec } from '../types';

const SECTION = 'Limits';

export const LIMITS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'max-fd', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', min: 1, section: SECTION,
    help: 'set the maximum number of file descriptors, soft and hard (raising the hard limit needs root)',
    note: 'without it the soft open-file limit is raised to the hard one at start (Node does so); uWSGI keeps the soft limit',
  },
  {
    name: 'harakiri', short: 't', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set harakiri timeout',
  },
  { name: 'harakiri-verbose', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'enable verbose mode for harakiri' },
  {
    name: 'harakiri-graceful-timeout', kind: 'scalar', type: 'int', status: 'planned', metavar: 'secs', section: SECTION,
    help: 'send harakiri-graceful-signal first and wait this long before SIGKILL (uWSGI >= 2.0.22)',
  },
  {
    name: 'harakiri-graceful-signal', kind: 'scalar', type: 'int', status: 'planned', metavar: 'signum', section: SECTION,
    help: 'signal sent to a worker on graceful harakiri (uWSGI >= 2.0.22)',
  },
  {
    name: 'harakiri-queue-threshold', kind: 'scalar', type: 'int', status: 'planned', metavar: 'n', section: SECTION,
    help: 'only apply harakiri when the listen queue is above n (uWSGI >= 2.0.22)',
  },
  {
    name: 'max-requests', short: 'R', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'n', section: SECTION,
    help: 'reload workers after the specified amount of managed requests',
  },
  {
    name: 'max-requests-delta', kind: 'scalar', type: 'int', status: 'implemented', metavar: 'n', section: SECTION,
    help: 'add worker id * delta to max-requests, so workers do not recycle together',
  },
  {
    name: 'max-worker-lifetime', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'reload workers after the specified amount of seconds (default is disabled)',
  },
  {
    name: 'max-worker-lifetime-delta', kind: 'scalar', type: 'int', status: 'planned', metavar: 'secs', section: SECTION,
    help: 'add (worker_id * delta) seconds to the max_worker_lifetime value of each worker',
  },
  {
    name: 'min-worker-lifetime', kind: 'scalar', type: 'int', default: 10, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'number of seconds worker must run before being reloaded (default is 60)',
  },
  {
    name: 'reload-on-rss', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'MB', section: SECTION,
    help: 'reload if rss memory is higher than specified megabytes',
  },
  {
    name: 'reload-on-as', kind: 'scalar', type: 'int', default: 0, status: 'planned', metavar: 'MB', section: SECTION,
    help: 'reload if address space is higher than specified megabytes',
  },
  {
    name: 'evil-reload-on-rss', kind: 'scalar', type: 'int', default: 0, status: 'implemented', metavar: 'MB', implies: ['master'], section: SECTION,
    help: 'force the master to reload a worker if its rss memory is higher than specified megabytes',
  },
  {
    name: 'evil-reload-on-as', kind: 'scalar', type: 'int', default: 0, status: 'planned', metavar: 'MB', implies: ['master'], section: SECTION,
    help: 'force the master to reload a worker if its address space is higher than specified megabytes',
  },
  { name: 'limit-as', kind: 'scalar', type: 'int', status: 'planned', metavar: 'MB', section: SECTION, help: 'limit processes address space/vsz' },
  {
    name: 'post-buffering', kind: 'scalar', type: 'size', default: 0, status: 'implemented', metavar: 'bytes', section: SECTION,
    help: 'set size in bytes after which will buffer to disk instead of memory',
    note: 'nuwsgi always reads the whole body before the app runs: bodies of at least N bytes go to a temporary file, smaller ones stay in memory; 0 (unset) means 1 MiB',
  },
  {
    name: 'post-buffering-bufsize', kind: 'scalar', type: 'size', default: 8192, status: 'implemented', metavar: 'bytes', section: SECTION,
    help: 'set buffer size for read() in post buffering mode',
    note: 'spooled bodies are written to their temporary file in pieces of at least this size (never less than post-buffering, as uWSGI)',
  },
  {
    name: 'body-buffer-budget', kind: 'scalar', type: 'size', default: 64 * 1024 * 1024, status: 'implemented', metavar: 'bytes', section: SECTION,
    help: 'most bytes of request bodies one worker holds in memory at once; beyond it bodies go to temporary files (0: no budget)',
    note: 'nuwsgi only (docs/hardening.md): uWSGI reads bodies while the app runs, so slow uploads hold workers, not memory',
  },
  {
    name: 'body-min-rate', kind: 'scalar', type: 'int', default: 500, status: 'implemented', metavar: 'bytes/s', min: 0, section: SECTION,
    help: 'a request body arriving slower than this over a window of body-grace seconds is cut with 408 (0: off)',
    note: 'nuwsgi only, as Apache\'s mod_reqtimeout body=20,MinRate=500 but judged per window, so a fast start buys no drip time (docs/hardening.md)',
  },
  {
    name: 'body-grace', kind: 'scalar', type: 'int', default: 20, status: 'implemented', metavar: 'secs', min: 1, section: SECTION,
    help: 'seconds over which body-min-rate is judged (the first check comes this long after the head)',
    note: 'nuwsgi only (docs/hardening.md)',
  },
  {
    name: 'header-timeout', kind: 'scalar', type: 'int', default: 20, status: 'implemented', metavar: 'secs', min: 1, section: SECTION,
    help: 'most seconds a request head may take from its first byte to its end, then 408 (never more than http-timeout)',
    note: 'nuwsgi only, as Apache\'s mod_reqtimeout header=20 (docs/hardening.md)',
  },
  {
    name: 'memory-report', short: 'm', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'enable memory report',
    note: 'uWSGI\'s "{address space usage: ...} {rss usage: ...}" prefix on each default request line; %(rss) and %(vsz) in log-format',
  },
  {
    name: 'ksm', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'secs', argument: 'optional', section: SECTION, help: 'enable Linux KSM',
    note: 'each worker marks its anonymous memory MADV_MERGEABLE every N seconds (default 1) when its mappings changed; uWSGI counts requests. Only useful where /sys/kernel/mm/ksm/run is 1',
  },
];
