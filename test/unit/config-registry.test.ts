import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTRY, SECTIONS, argumentStyle, findOption, findPluginOption, findShort, indexPluginOptions, indexRegistry } from '../../src/config/registry';
import { PLUGIN_OPTIONS } from '../../src/config/table/plugins';
import type { OptionSpec } from '../../src/config/types';
import { repoRoot } from '../helpers/server';

/**
 * Options implemented by the configuration layer itself while it reads the
 * files (loading, placeholders, config logic): no getter reads them later, the
 * reader acts on them by name in src/config/. Config-logic keywords (if-*,
 * for*, end*) are matched by LOGIC below.
 */
const CONFIG_LAYER = new Set(['ini', 'yaml', 'json', 'xml', 'include', 'inherit', 'set', 'set-ph', 'declare-option', 'strict']);
const LOGIC = /^(if-|for$|for-|end)/;


function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}


/**
 * Implemented as behaviour nuwsgi always has (their row's note says so), so
 * no code reads them: every nuwsgi worker loads its own app (lazy-apps, lazy),
 * one interpreter per worker (single-interpreter), descriptors are opened
 * O_CLOEXEC (close-on-exec), HTTP/1.1 responses without a length are chunked
 * (http-auto-chunked), Node's loop offloads file and socket writes
 * (offload-threads), ASGI apps always get WebSockets (http-websockets).
 */
const ALWAYS_ON = new Set(['lazy-apps', 'lazy', 'single-interpreter', 'close-on-exec', 'http-auto-chunked', 'offload-threads', 'http-websockets']);

test('every option marked implemented is read somewhere in src/ (status tells the truth)', () => {
  const src = join(repoRoot(), 'src');
  const files = sourceFiles(src).filter((file) => !file.startsWith(join(src, 'config', 'table')));
  const code = files.map((file) => readFileSync(file, 'utf8')).join('\n');
  const configLayer = files.filter((file) => file.startsWith(join(src, 'config'))).map((file) => readFileSync(file, 'utf8')).join('\n');
  const unread: string[] = [];
  for (const spec of REGISTRY) {
    if (spec.status !== 'implemented') continue;
    if (ALWAYS_ON.has(spec.name)) {
      assert.ok(spec.note !== undefined && spec.note.length > 0, `${spec.name}: an always-on option says so in its note`);
      continue;
    }
    // Its canonical name as a string literal where options are read: o.int('processes'), read('hook-asap')...
    if (code.includes(`'${spec.name}'`) && !(CONFIG_LAYER.has(spec.name) || LOGIC.test(spec.name))) continue;
    if ((CONFIG_LAYER.has(spec.name) || LOGIC.test(spec.name)) && configLayer.includes(`'${spec.name}'`)) continue;
    unread.push(spec.name);
  }
  assert.deepEqual(unread, [], 'implemented options that nothing reads: mark them planned, or read them');
});

/** `    -s|--socket    help`, as `uwsgi --plugin python3 --help` prints each name (aliases get their own line). */
function uwsgiOptions(): Array<{ name: string; short: string | undefined }> {
  const text = readFileSync(join(repoRoot(), 'test', 'fixtures', 'uwsgi-2.0.21-options.txt'), 'utf8');
  const out: Array<{ name: string; short: string | undefined }> = [];
  for (const line of text.split('\n')) {
    const match = /^ {4}(?:-(\S)\|)?--(\S+)\s/.exec(line);
    if (match !== null) out.push({ name: match[2] as string, short: match[1] });
  }
  return out;
}

test("every option of Debian's uWSGI 2.0.21 (core + python3 plugin) is in the registry, so strict rejects only what uWSGI rejects", () => {
  const options = uwsgiOptions();
  assert.ok(options.length > 800, `the fixture lists uWSGI's options (${options.length})`);
  const missing = options.filter((o) => findOption(o.name) === undefined).map((o) => o.name);
  assert.deepEqual(missing, []);
  for (const { name, short } of options) {
    if (short === undefined || findOption(name) === undefined) continue;
    assert.equal(findShort(short)?.name, findOption(name)?.name, `-${short} is --${name}, as in uWSGI`);
  }
});

test('the registry refuses duplicate names, aliases and short letters, naming both rows', () => {
  const row = (name: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({ name, kind: 'flag', type: 'bool', status: 'planned', section: 'X', help: 'h', ...extra });
  assert.throws(() => indexRegistry([row('a'), row('a')]), /duplicate option name 'a'/);
  assert.throws(() => indexRegistry([row('a', { aliases: ['b'] }), row('b')]), /duplicate option name 'b' \(rows 'a' and 'b'\)/);
  assert.throws(() => indexRegistry([row('a', { short: 'x' }), row('b', { short: 'x' })]), /duplicate short option '-x'/);
  assert.doesNotThrow(() => indexRegistry(REGISTRY));
});

test('protocol and socket-protocol are one implemented option', () => {
  assert.equal(findOption('socket-protocol')?.name, 'protocol');
  assert.equal(findOption('protocol')?.status, 'implemented');
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

test("the plugin table: argument styles from its markers, and no name that is also a registry row", () => {
  assert.deepEqual(findPluginOption('fastrouter'), { name: 'fastrouter', plugin: 'fastrouter', argument: 'required' });
  assert.equal(findPluginOption('ugreen')?.argument, 'none');
  assert.equal(findPluginOption('zabbix-template')?.argument, 'optional');
  assert.equal(findPluginOption('http'), undefined, 'nuwsgi implements --http: a registry row');
  assert.equal(findPluginOption('module'), undefined);
  const rows = indexRegistry(REGISTRY).byName;
  assert.throws(() => indexPluginOptions({ http: ['http-keepalive'] }, rows), /plugin option 'http-keepalive' \(http\) is also a registry row/);
  assert.ok(Object.values(PLUGIN_OPTIONS).flat().length > 350);
});
