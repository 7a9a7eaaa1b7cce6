import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGISTRY, SECTIONS, argumentStyle, findOption, findShort } from '../../src/config/registry';

const IMPLEMENTED = [
  'http-socket', 'socket', 'module', 'wsgi-file', 'callable', 'chdir', 'pythonpath', 'env', 'home', 'python', 'master',
  'processes', 'enable-threads', 'need-app', 'buffer-size', 'limit-post', 'http-timeout', 'socket-timeout', 'listen',
  'disable-logging', 'die-on-term', 'threads', 'max-vars', 'ini', 'yaml', 'json', 'xml', 'include', 'inherit', 'set',
  'set-ph', 'declare-option', 'strict', 'show-config', 'print-config-json', 'help', 'version',
  // issue 4: behind nginx
  'https', 'https-socket', 'forwarded-allow-ips', 'chmod-socket', 'chown-socket', 'umask', 'vacuum', 'mount',
  'manage-script-name',
  // workers always exit with their master
  'no-orphans',
  // issue 5: the master
  'harakiri', 'max-requests', 'max-requests-delta', 'max-worker-lifetime', 'min-worker-lifetime', 'reload-on-rss',
  'worker-reload-mercy', 'touch-reload', 'touch-chain-reload', 'touch-workers-reload', 'pidfile', 'safe-pidfile', 'reload',
  'stop',
  // issue 5: operating the master (stats, fifo, cheaper, privileges, daemons)
  'stats', 'stats-http', 'stats-minified', 'metrics', 'master-fifo', 'cheaper', 'cheaper-initial', 'cheaper-step',
  'cheaper-overload', 'uid', 'gid', 'daemonize', 'daemonize2', 'py-autoreload', 'evil-reload-on-rss', 'harakiri-verbose',
  // issue 6: the emperor
  'emperor', 'emperor-freq', 'emperor-nofollow', 'emperor-extra-extension', 'emperor-tyrant', 'emperor-tyrant-nofollow',
  'emperor-graceful-shutdown', 'emperor-required-heartbeat', 'emperor-throttle', 'emperor-max-throttle',
  'emperor-curse-tolerance', 'emperor-stats', 'emperor-pidfile', 'vassals-inherit', 'vassals-include',
  'vassals-inherit-before', 'vassals-include-before', 'vassal-set',
  // issue 5: logging
  'logto', 'logto2', 'log-date', 'log-format', 'logformat-json', 'log-format-strftime', 'log-micros', 'log-4xx', 'log-5xx',
  'log-slow', 'log-big', 'log-zero', 'log-sendfile', 'log-ioerror', 'log-x-forwarded-for', 'log-master', 'log-maxsize',
  'log-backupname', 'log-reopen', 'log-truncate', 'touch-logreopen', 'touch-logrotate',
  // issue 10: the request/response path
  'add-header', 'del-header', 'ignore-sigpipe', 'ignore-write-errors', 'disable-write-exception', 'post-buffering',
  'post-buffering-bufsize', 'http-keepalive', 'http-auto-chunked',
  // issue 16
  'max-fd',
  // issue 14: the dashboard
  'dashboard', 'dashboard-actions', 'dashboard-token', 'dashboard-token-file',
  // issue 15: on-demand vassals
  'emperor-on-demand-extension', 'emperor-on-demand-directory', 'emperor-on-demand-exec',
];

/** Config-logic keywords are implemented by the config layer itself. */
const LOGIC = /^(if-|for$|for-|end)/;

test('exactly the agreed options (plus config logic) are implemented', () => {
  const implemented = REGISTRY.filter((o) => o.status === 'implemented' && !LOGIC.test(o.name)).map((o) => o.name);
  assert.deepEqual([...implemented].sort(), [...IMPLEMENTED].sort());
});

test('aliases, short letters and defaults follow uWSGI (and nuwsgi where it differs on purpose)', () => {
  assert.equal(findOption('workers')?.name, 'processes');
  assert.equal(findShort('p')?.name, 'processes');
  assert.equal(findOption('processes')?.default, 1);
  assert.equal(findOption('http')?.name, 'http-socket');
  assert.equal(findOption('http11-socket')?.name, 'http-socket');
  assert.equal(findOption('uwsgi-socket')?.name, 'socket');
  assert.equal(findShort('s')?.name, 'socket');
  assert.equal(findShort('w')?.name, 'module');
  assert.equal(findOption('wsgi')?.name, 'module');
  assert.equal(findOption('file')?.name, 'wsgi-file');
  for (const alias of ['virtualenv', 'venv', 'pyhome']) assert.equal(findOption(alias)?.name, 'home');
  assert.equal(findShort('H')?.name, 'home');
  for (const alias of ['python-path', 'pp']) assert.equal(findOption(alias)?.name, 'pythonpath');
  assert.equal(findOption('xmlconfig')?.name, 'xml');
  assert.equal(findShort('x')?.name, 'xml');
  assert.equal(findShort('y')?.name, 'yaml');
  assert.equal(findShort('j')?.name, 'json');
  assert.equal(findShort('M')?.name, 'master');
  assert.equal(findShort('T')?.name, 'enable-threads');
  assert.equal(findShort('b')?.default, 4096);
  assert.equal(findOption('buffer-size')?.max, 65535);
  assert.equal(findShort('z')?.default, 4);
  assert.equal(findShort('l')?.default, 100);
  assert.equal(findShort('L')?.name, 'disable-logging');
  assert.equal(findShort('h')?.name, 'help');
  assert.equal(findOption('http-timeout')?.default, 60);
  assert.equal(findOption('limit-post')?.default, 0);
  assert.equal(findOption('callable')?.default, 'application');
  assert.equal(findOption('max-vars')?.default, 512);
  assert.equal(findOption('need-app')?.default, true);
  assert.equal(findOption('die-on-term')?.default, true);
  assert.equal(findOption('threads')?.default, 1);
});

test('the reference census is covered: sections 2 and 4', () => {
  const census = [
    'chmod-socket', 'chown-socket', 'umask', 'vacuum', 'so-keepalive', 'tcp-nodelay', 'reuse-port', 'thunder-lock',
    'lazy-apps', 'lazy', 'single-interpreter', 'cheaper', 'cheaper-initial', 'cheaper-step', 'cheaper-algo',
    'cheaper-overload', 'cheaper-rss-limit-soft', 'cheaper-rss-limit-hard', 'cheap', 'idle', 'die-on-idle', 'no-orphans',
    'uid', 'gid', 'chdir2', 'pidfile', 'safe-pidfile', 'pidfile2', 'daemonize', 'daemonize2', 'exit-on-reload',
    'auto-procname', 'procname-prefix', 'procname-prefix-spaced', 'hook-master-start', 'plugins', 'plugin', 'need-plugin',
    'mount', 'manage-script-name', 'py-autoreload', 'import', 'shared-import', 'pymodule-alias', 'pyargv',
    'wsgi-disable-file-wrapper', 'wsgi-env-behaviour', 'gevent', 'async', 'harakiri', 'harakiri-verbose',
    'max-requests', 'max-requests-delta', 'max-worker-lifetime', 'min-worker-lifetime', 'reload-on-rss', 'reload-on-as',
    'evil-reload-on-rss', 'evil-reload-on-as', 'limit-as', 'worker-reload-mercy', 'reload-mercy', 'post-buffering',
    'post-buffering-bufsize', 'memory-report', 'touch-reload', 'touch-chain-reload', 'touch-workers-reload',
    'touch-logreopen', 'touch-logrotate', 'fs-reload', 'fs-brutal-reload', 'master-fifo', 'reload', 'stop', 'pause',
    'suspend', 'resume', 'logto', 'logto2', 'log-date', 'logdate', 'log-format', 'logformat', 'log-format-strftime',
    'log-micros', 'log-4xx', 'log-5xx', 'log-slow', 'log-big', 'log-zero', 'log-sendfile', 'log-ioerror',
    'log-x-forwarded-for', 'log-master', 'threaded-logger', 'logger', 'req-logger', 'log-drain', 'log-filter',
    'log-route', 'log-maxsize', 'log-backupname', 'log-reopen', 'log-truncate', 'stats', 'stats-server', 'stats-http',
    'stats-minified', 'stats-push', 'carbon', 'static-map', 'static-map2', 'check-static', 'static-index',
    'static-skip-ext', 'static-expires-type', 'offload-threads', 'route', 'add-header', 'del-header', 'ignore-sigpipe',
    'ignore-write-errors', 'disable-write-exception', 'close-on-exec', 'spooler', 'mule', 'mules', 'cron',
    'attach-daemon', 'smart-attach-daemon', 'cache2', 'timer', 'print', 'iprint', 'https', 'http-to', 'http-keepalive',
    'http-websockets', 'http-auto-chunked', 'http-processes', 'https-socket', 'fastcgi-socket', 'scgi-socket',
    'shared-socket', 'emperor', 'emperor-freq', 'emperor-nofollow', 'emperor-extra-extension', 'emperor-tyrant',
    'emperor-tyrant-nofollow', 'emperor-graceful-shutdown', 'emperor-required-heartbeat', 'emperor-throttle',
    'emperor-max-throttle', 'emperor-curse-tolerance', 'emperor-stats', 'emperor-pidfile', 'vassals-inherit',
    'vassals-include', 'vassals-inherit-before', 'vassals-include-before', 'vassal-set',
  ];
  const missing = census.filter((name) => findOption(name) === undefined);
  assert.deepEqual(missing, []);
  assert.equal(findOption('emperor-throttle')?.default, 1000);
  assert.equal(findOption('worker-reload-mercy')?.default, 60);
});

test('every row is well formed', () => {
  for (const spec of REGISTRY) {
    assert.ok(spec.help.length > 0 && !spec.help.includes('\n'), `${spec.name}: one-line help`);
    assert.ok(SECTIONS.includes(spec.section), `${spec.name}: known section`);
    if (spec.short !== undefined) assert.equal(spec.short.length, 1, `${spec.name}: single-letter short`);
    if (spec.status === 'refused') assert.ok(spec.why !== undefined, `${spec.name}: refused rows say why`);
    for (const implied of spec.implies ?? []) assert.ok(findOption(implied) !== undefined, `${spec.name} implies a known option`);
    if (spec.kind === 'flag') assert.equal(spec.type, 'bool', `${spec.name}: flags are booleans`);
  }
});

test('dangerous dynamic-loading features are refused, with a reason', () => {
  for (const name of ['vhost', 'vhost-host', 'remap-modifier']) {
    assert.equal(findOption(name)?.status, 'refused');
  }
});

test('getopt argument styles: flags none, chmod-socket optional, others required', () => {
  assert.equal(argumentStyle(findOption('master')!), 'none');
  assert.equal(argumentStyle(findOption('chmod-socket')!), 'optional');
  assert.equal(argumentStyle(findOption('processes')!), 'required');
});
