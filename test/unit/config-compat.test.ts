import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { defaultSocketProtocol } from '../../src/config/socket-protocol';
import { parseAddress } from '../../src/master/sockets';
import { planFromOptions, socketPath } from '../../src/cli/plan';
import { ConfigError } from '../../src/util/errors';
import { renderHelp } from '../../src/cli/help';
import { REGISTRY } from '../../src/config/registry';

const ERRORS = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config', 'errors');

test('need-app, die-on-term, no-orphans, enable-threads = false: one warning each, naming the reason', () => {
  const { warnings } = loadConfig(['--ini', 'always-on.ini'], {}, ERRORS);
  assert.deepEqual(warnings, [
    "always-on.ini:2: option 'need-app' is false, but nuwsgi keeps it on: nuwsgi always exits (code 22) when no app loads, instead of answering every request with an error",
    "always-on.ini:3: option 'die-on-term' is false, but nuwsgi keeps it on: SIGTERM always stops nuwsgi, as systemd, Docker and the emperor expect; reload with SIGHUP or the master FIFO",
    "always-on.ini:4: option 'no-orphans' is false, but nuwsgi keeps it on: workers always exit when their master dies",
    "always-on.ini:5: option 'enable-threads' is false, but nuwsgi keeps it on: the GIL is released between Python calls, so threads started by the app always run",
  ]);
  assert.deepEqual(loadConfig(['--need-app', '--enable-threads'], {}, ERRORS).warnings, []);
});

test('a planned option warns once, however often it (or an alias) is repeated', () => {
  const { warnings } = loadConfig(['--ini', 'planned-once.ini'], {}, ERRORS);
  assert.deepEqual(warnings, [
    "planned-once.ini:2: option 'route' is not implemented by nuwsgi yet: accepted and ignored",
    "planned-once.ini:4: option 'final-route' is not implemented by nuwsgi yet: accepted and ignored",
    "planned-once.ini:5: option 'mule' is not implemented by nuwsgi yet: accepted and ignored",
    "planned-once.ini:7: option 'signal-timer' is not implemented by nuwsgi yet: accepted and ignored",
  ]);
});

test("strict accepts every option uWSGI knows (max-fd, binary-path, socket-protocol, ifenv) and still refuses unknown ones", () => {
  const { options } = loadConfig(['--ini', 'strict-uwsgi.ini'], { HOME: '/root' }, ERRORS);
  assert.equal(options.str('module'), 'app');
  assert.throws(() => loadConfig(['--strict', '--set', 'no-such-option=1'], {}, ERRORS), /\[strict-mode\] unknown config directive: no-such-option/);
});

test('protocol: uwsgi, http and http11 are served; the other uWSGI protocols are named as not available', () => {
  assert.equal(defaultSocketProtocol(undefined), 'uwsgi');
  assert.equal(defaultSocketProtocol('uwsgi'), 'uwsgi');
  assert.equal(defaultSocketProtocol('http'), 'http');
  assert.equal(defaultSocketProtocol('http11'), 'http');
  for (const name of ['fastcgi', 'scgi', 'suwsgi', 'puwsgi', 'raw', 'fastcgi-nph', 'scgi-nph', 'mongrel2']) {
    assert.throws(() => defaultSocketProtocol(name), new RegExp(`protocol '${name}' is not available in nuwsgi`));
  }
  assert.throws(() => defaultSocketProtocol('HTTP'), /unable to find protocol HTTP/); // strcmp, as uWSGI
  const cli = loadConfig(['--socket', ':0', '--protocol=http', '-w', 'wsgi'], {}, ERRORS);
  assert.equal(planFromOptions(cli.options, '/srv').sockets[0]?.protocol, 'http');
  assert.equal(planFromOptions(cli.options, '/srv').defaultProtocol, 'http');
  assert.throws(
    () => loadConfig(['--ini', 'protocol-fastcgi.ini'], {}, ERRORS),
    (e: unknown) => e instanceof ConfigError && /^protocol-fastcgi\.ini:3: option 'protocol': protocol 'fastcgi' is not available/.test(e.message),
  );
  assert.throws(() => loadConfig(['--socket-protocol', 'scgi'], {}, ERRORS), /command line/);
});

test("a socket address without ':' is a UNIX socket path, relative to chdir (uWSGI binds after chdir)", () => {
  assert.equal(parseAddress('myproject.sock').kind, 'unix');
  assert.equal(parseAddress('run/app.sock').kind, 'unix');
  assert.equal(parseAddress('/run/a:b.sock').kind, 'unix');
  assert.equal(parseAddress('@abstract').kind, 'unix');
  assert.equal(parseAddress(':8000').kind, 'tcp');
  assert.equal(parseAddress('127.0.0.1:8000').kind, 'tcp');
  assert.equal(socketPath('myproject.sock', '/srv/app'), '/srv/app/myproject.sock');
  assert.equal(socketPath('/run/app.sock', '/srv/app'), '/run/app.sock');
  assert.equal(socketPath('@abstract', '/srv/app'), '@abstract');
  assert.equal(socketPath('127.0.0.1:8000', '/srv/app'), '127.0.0.1:8000');
  assert.deepEqual(loadConfig(['--socket', '8000', '--http-socket', ':9000'], {}, '/srv').warnings, [
    "command line: socket '8000' has no ':', so it is a UNIX socket file named '8000' (as in uWSGI); for TCP port 8000 write ':8000'",
  ]);
  const { options } = loadConfig(['--chdir', 'app', '--socket', 'myproject.sock', '--http-socket', 'web.sock', '-w', 'wsgi'], {}, '/srv');
  assert.deepEqual(planFromOptions(options, '/srv').sockets.map((s) => s.spec), ['/srv/app/myproject.sock', '/srv/app/web.sock']);
});

test('sockets are numbered in the order given, whatever their kind (uWSGI: socket 0, 1, 2 as on the command line)', () => {
  const { options } = loadConfig(
    ['--http-socket', ':8001', '--socket', ':8002', '--https', ':8003,c.pem,k.pem', '--uwsgi-socket', ':8004', '--http11-socket', ':8005', '-w', 'wsgi'],
    {},
    '/srv',
  );
  const plan = planFromOptions(options, '/srv').sockets;
  assert.deepEqual(plan.map((s) => [s.spec, s.protocol]), [
    [':8001', 'http'],
    [':8002', 'uwsgi'],
    [':8003', 'https'],
    [':8004', 'uwsgi'],
    [':8005', 'http'],
  ]);
});

test('--module is always a module name; mount keeps uWSGI mount-loader rules (.py/.wsgi are files)', () => {
  const { options } = loadConfig(['--module', 'mysite.wsgi', '--mount', '/a=app.wsgi', '--mount', '/b=pkg.mod:app'], {}, '/srv');
  const apps = planFromOptions(options, '/srv').apps;
  assert.deepEqual(apps.map((a) => [a.kind, a.target]), [['module', 'mysite.wsgi'], ['file', '/srv/app.wsgi'], ['module', 'pkg.mod:app']]);
  const withPy = planFromOptions(loadConfig(['--module', 'app.py'], {}, '/srv').options, '/srv').apps[0];
  assert.deepEqual([withPy?.kind, withPy?.target], ['module', 'app.py']); // fails at import with a hint, as uWSGI fails
});

test('--help: no default shown twice, and it talks about nuwsgi, not uWSGI, as the program', () => {
  const help = renderHelp();
  const twice = help.split('\n').filter((line) => (line.match(/\((?:[^()]*,\s*)?default\b/gi) ?? []).length > 1);
  assert.deepEqual(twice, []);
  assert.match(help, /--worker-reload-mercy <secs> +set the maximum time \(in seconds\) a worker can take to reload\/shutdown \(default: 60\)\n/);
  assert.match(help, /--offload-threads\|--offload-thread <n> +set the number of offload threads to spawn \(per-worker\) \(default: 0\)/);
  const aboutTheProgram = /\b(daemonize|reload|shutdown|put|restart|stop|run|start|spawn) uWSGI\b|the uWSGI environment|re-exec uwsgi/;
  assert.deepEqual(REGISTRY.filter((spec) => aboutTheProgram.test(spec.help)).map((spec) => spec.name), []);
  assert.match(help, /^Usage: nuwsgi /);
});

test('gunicorn habits get a one-line hint naming the nuwsgi spelling', () => {
  const message = (argv: string[]): string => {
    try {
      loadConfig(argv, {}, '/srv');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes('\n'), 'one line');
      return err.message;
    }
    return assert.fail(`no error for ${argv.join(' ')}`);
  };
  assert.match(message(['--http', ':8000', 'app:application']), /a bare argument must be a .*; did you mean --module app:application\?$/);
  assert.match(message(['--http', ':8000', 'app.py']), /did you mean --wsgi-file app\.py\?$/);
  assert.match(
    message(['-b', '0.0.0.0:8000', '-w', '4', 'app:app']),
    /did you mean --module app:app --http-socket 0\.0\.0\.0:8000 \(-b is --buffer-size\) --processes 4 \(-w is --module\)\?$/,
  );
  assert.match(message(['-b', '0.0.0.0:8000', '--module', 'app']), /-b is uWSGI's --buffer-size \(bytes\), got '0\.0\.0\.0:8000'; for gunicorn's bind use --http-socket 0\.0\.0\.0:8000 \(command line\)/);
  assert.match(message(['--http', ':8000', '-w', '4']), /'4' is not a module name: -w is --module in uWSGI; gunicorn's -w \(the number of workers\) is --processes 4/);
  assert.match(message(['--bind', ':8000']), /unrecognized option '--bind' \(gunicorn's --bind is --http-socket ADDR/);
  assert.match(message(['--timeout', '30']), /gunicorn's --timeout is --harakiri SECONDS/);
  // uWSGI meanings still work: -b with a number, -w with a module.
  assert.equal(loadConfig(['-b', '8192', '-w', 'app:app'], {}, '/srv').options.int('buffer-size'), 8192);
  assert.equal(loadConfig(['--buffer-size', '32k', '-w', 'app'], {}, '/srv').options.int('buffer-size'), 32); // atoi, with a warning
  assert.match(message(['-b', '127.0.0.1', '-w', 'app']), /for gunicorn's bind use --http-socket 127\.0\.0\.1/);
});

test('TCP_DEFER_ACCEPT: --socket-timeout seconds on TCP sockets, as uWSGI sets it; off with --no-defer-accept', () => {
  const flags = (...args: string[]): { deferAcceptSecs: number } => planFromOptions(loadConfig(['--http-socket', ':0', '-w', 'wsgi', ...args], {}, ERRORS).options, '/srv').tcpFlags;
  assert.equal(flags().deferAcceptSecs, 4);
  assert.equal(flags('--socket-timeout', '10').deferAcceptSecs, 10);
  assert.equal(flags('--no-defer-accept').deferAcceptSecs, 0);
});
