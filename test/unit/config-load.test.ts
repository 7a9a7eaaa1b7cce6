import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, renderConfigOutput } from '../../src/config';
import { ConfigError } from '../../src/util/errors';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config');
const ERRORS = join(FIXTURES, 'errors');
const CORPUS = join(FIXTURES, 'corpus');

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

test('a bad value names file, line and option', () => {
  const error = configError(() => loadConfig(['--ini', 'bad-value.ini'], {}, ERRORS));
  assert.equal(error.message, "bad-value.ini:3: option 'processes': must not be negative, got '-2'");
  assert.equal(error.code, 'E_CONFIG');
});

test('a number that is not one is read as uWSGI reads it (atoi), with one warning naming file, line and option', () => {
  const loaded = loadConfig(['--ini', 'atoi.ini'], {}, ERRORS);
  assert.equal(loaded.options.int('cheaper'), 0);
  assert.equal(loaded.options.int('processes'), 4);
  assert.equal(loaded.options.int('harakiri'), 30);
  assert.deepEqual(loaded.warnings, [
    "atoi.ini:2: option 'cheaper' expects a number, got 'true': read as 0, as uWSGI's atoi() does",
    "atoi.ini:3: option 'processes' expects a number, got '4 workers': read as 4, as uWSGI's atoi() does",
  ]);
});

test('a missing include names the including file and line', () => {
  const error = configError(() => loadConfig(['--ini', 'missing-include.ini'], {}, ERRORS));
  assert.equal(error.code, 'E_CONFIG_INCLUDE');
  assert.match(error.message, /^missing-include\.ini:3: cannot read config file 'does-not-exist\.ini' \(ENOENT\)$/);
});

test('an include cycle is an error showing the chain', () => {
  const error = configError(() => loadConfig(['--ini', 'cycle-a.ini'], {}, ERRORS));
  assert.equal(error.code, 'E_CONFIG_INCLUDE');
  assert.match(error.message, /^cycle-b\.ini:3: include cycle: cycle-a\.ini: -> cycle-b\.ini: -> cycle-a\.ini:$/);
});

test('a block left open at the end of a file goes on over what is read next, as in uWSGI, with a warning at its line', () => {
  const LOGIC = join(FIXTURES, 'logic');
  const argv = ['--ini', 'unterminated-if.ini', '--processes', '3'];
  const skipped = loadConfig(argv, {}, LOGIC);
  assert.deepEqual(skipped.entries.map((e) => e.key), ['ini', 'master', 'if-env']); // the command line's --processes too
  assert.match(skipped.warnings.join('\n'), /^unterminated-if\.ini:3: option 'if-env': the block is not closed by the end of this source \(add 'endif'\)/m);
  const kept = loadConfig(argv, { HOME: '/root' }, LOGIC);
  assert.deepEqual(kept.options.list('processes'), ['2', '3']);
  const looped = loadConfig(['--ini', 'unterminated-for.ini'], {}, LOGIC);
  assert.deepEqual(looped.options.list('socket'), ['/tmp/a.sock', '/tmp/b.sock']);
  assert.match(looped.warnings.join('\n'), /^unterminated-for\.ini:2: .*\(add 'endfor'\)/m);
});

test('nested blocks are refused as uWSGI does', () => {
  const error = configError(() => loadConfig(['--ini', 'nested-if.ini'], { HOME: '/root' }, ERRORS));
  assert.match(error.message, /^nested-if\.ini:3: .*recursive logic in options is not supported \(option = if-exists\)/);
  assert.equal(error.code, 'E_CONFIG_SYNTAX');
});

test('@() failures and runaway placeholders are expansion errors at the line', () => {
  const missing = configError(() => loadConfig(['--set', 'x=@(no-such-file)'], {}, ERRORS));
  assert.equal(missing.code, 'E_CONFIG_EXPANSION');
  assert.match(missing.message, /@\(no-such-file\): cannot read file \(ENOENT\)/);
  assert.equal(configError(() => loadConfig(['--set', 'a=x%(a)'], {}, ERRORS)).code, 'E_CONFIG_EXPANSION');
  assert.equal(loadConfig(['--set', 'x=@(exec://echo hi)'], {}, ERRORS).entries[1]?.value, 'hi');
});

test('strict turns an unknown key into an error, with a suggestion', () => {
  const error = configError(() => loadConfig(['--ini', 'strict.ini'], {}, ERRORS));
  assert.equal(error.code, 'E_CONFIG_UNKNOWN_OPTION');
  assert.match(error.message, /^strict\.ini:3: \[strict-mode\] unknown config directive: processs \(did you mean 'process(es)?'\?\)/);
  assert.throws(() => loadConfig(['--strict', '--set', 'bogus=1'], {}, ERRORS), /unknown config directive: bogus/);
  // set-ph makes a placeholder, never an option: strict takes it, as uWSGI does.
  const loaded = loadConfig(['--strict', '--set-ph', 'port=8123', '--http-socket', '127.0.0.1:%(port)'], {}, ERRORS);
  assert.equal(loaded.options.str('http-socket'), '127.0.0.1:8123');
});

test('warnings: unknown keys (with did-you-mean), planned and refused options; used placeholders are quiet', () => {
  const { warnings, options } = loadConfig(['--ini', 'warnings.ini'], {}, ERRORS);
  assert.deepEqual(warnings, [
    "warnings.ini:2: unknown option 'processs' (did you mean 'processes'?): kept as a placeholder",
    "warnings.ini:3: option 'lock-engine' is not implemented by nuwsgi yet: accepted and ignored",
    "warnings.ini:4: option 'vhost' is refused by nuwsgi (virtualhosting loads apps chosen by request variables (UWSGI_SCRIPT, SERVER_NAME): remote code loading): accepted and ignored",
  ]);
  assert.equal(options.str('chdir'), '/srv');
});

test('environment warnings name the variable; unknown names in the environment stay quiet placeholders, as in uWSGI', () => {
  const { warnings, entries } = loadConfig([], { UWSGI_TYPO_OPTION: '1', UWSGI_LOCK_ENGINE: 'ipcsem' }, ERRORS);
  assert.deepEqual(warnings, ["environment UWSGI_LOCK_ENGINE: option 'lock-engine' is not implemented by nuwsgi yet: accepted and ignored"]);
  assert.ok(entries.some((e) => e.key === 'typo-option'), 'still usable as %(typo-option)');
});

test('sources in uWSGI order: environment, command line, bare files; last scalar wins', () => {
  const { options, entries } = loadConfig(['-p', '3', 'sections.ini'], { UWSGI_PROCESSES: '2', NUWSGI_THREADS: '4' }, join(FIXTURES, 'expansion'));
  assert.deepEqual(entries.slice(0, 3).map((e) => `${e.key}=${e.value}`), ['processes=2', 'threads=4', 'processes=3']);
  assert.equal(options.int('processes'), 3);
  assert.equal(options.int('threads'), 4);
  assert.equal(options.bool('master'), true); // from sections.ini: "True # no inline comments"
});

test('custom options, set and inherit templates take effect', () => {
  const { options, entries } = loadConfig(['--ini', 'tooling.ini'], {}, join(FIXTURES, 'expansion'));
  assert.deepEqual(options.list('socket'), ['/run/nuwsgi-fixture/one.sock']);
  assert.deepEqual(options.list('env'), ['APP=two']);
  assert.equal(options.int('processes'), 3);
  assert.equal(options.int('listen'), 128); // from the template, read last
  assert.equal(entries.some((e) => e.key === 'socket'), false); // derived options are not shown, as in uWSGI
});

test('actions: help and version win early, even over a broken file', () => {
  assert.equal(loadConfig(['--ini', 'bad-value.ini', '-h'], {}, ERRORS).action, 'help');
  assert.equal(loadConfig(['--version'], {}, ERRORS).action, 'version');
  assert.equal(loadConfig(['--show-config'], {}, ERRORS).action, 'show-config');
  assert.equal(loadConfig(['--print-config-json'], {}, ERRORS).action, 'print-config-json');
  assert.equal(loadConfig([], {}, ERRORS).action, 'run');
});

test('show-config set in a file keeps running (uWSGI prints it at startup)', () => {
  const loaded = loadConfig(['--set', 'show-config=true'], {}, ERRORS);
  assert.equal(loaded.action, 'run');
  assert.equal(loaded.options.bool('show-config'), true);
});

test('--print-config-json prints typed options and placeholders', () => {
  const loaded = loadConfig(['--print-config-json', '-p', '2', '--socket', ':1', '--set', 'base=/srv'], {}, ERRORS);
  const printed = JSON.parse(renderConfigOutput(loaded)) as { options: Record<string, unknown>; placeholders: Record<string, unknown> };
  assert.equal(printed.options['processes'], 2);
  assert.deepEqual(printed.options['socket'], [':1']);
  assert.equal(printed.options['need-app'], true);
  assert.deepEqual(printed.placeholders, { base: '/srv' });
});

test('--show-config output is uWSGI format', () => {
  const loaded = loadConfig(['--show-config', '--master', '-p', '2'], {}, ERRORS);
  assert.equal(renderConfigOutput(loaded), ';uWSGI instance configuration\n[uwsgi]\nshow-config = true\nmaster = true\nprocesses = 2\n;end of configuration\n');
});

test('YAML, JSON and XML errors name the file', () => {
  assert.throws(() => loadConfig(['--json', 'app.json:missing'], {}, join(FIXTURES, 'formats')), /app\.json: you must define a object named missing/);
  assert.throws(() => loadConfig(['--xml', 'missing.xml'], {}, join(FIXTURES, 'formats')), /cannot read config file 'missing\.xml'/);
});

test('plugins = python3 (Debian app files) and autoload (emperor.ini) are satisfied by the embedded Python: no warning', () => {
  assert.deepEqual(loadConfig(['--plugins', 'python3', '--plugin', '0:python', '--autoload'], {}, ERRORS).warnings, []);
  assert.match(loadConfig(['--plugins', 'python3,http'], {}, ERRORS).warnings[0] ?? '', /option 'plugins' is not implemented/);
  assert.equal(loadConfig(['--plugins', 'python3', '--plugins', 'http'], {}, ERRORS).warnings.length, 1);
});

test('an option declared in a file read by --ini can be used further on the command line', () => {
  const loaded = loadConfig(['--ini', 'declared.ini', '--static-at', '/s /srv/x', '--static-a', '/t /srv/y'], {}, CORPUS);
  assert.deepEqual(loaded.options.list('static-map'), ['/s=/srv/x', '/t=/srv/y']);
  // The first look for --help cannot know file-declared options yet: the full read still finds it.
  assert.equal(loadConfig(['--ini', 'declared.ini', '--static-at', '/s /srv/x', '--help'], {}, CORPUS).action, 'help');
  assert.equal(loadConfig(['--declare-option', 'quiet=disable-logging=true', '--quiet', '-h'], {}, CORPUS).action, 'help');
});

test("uWSGI plugins' options: accepted with one warning naming the plugin, strict included", () => {
  const loaded = loadConfig(['--strict', '--fastrouter', ':1', '--ini', 'plugin-options.ini'], {}, CORPUS);
  assert.deepEqual(loaded.warnings, [
    "command line: option 'fastrouter' belongs to uWSGI's fastrouter plugin, which is not part of nuwsgi: accepted and ignored",
    "plugin-options.ini:4: option 'carbon-freq' belongs to uWSGI's carbon plugin, which is not part of nuwsgi: accepted and ignored",
  ]);
});

test("exit stops the read with its status, as uWSGI's exit() does; not when its block is skipped", () => {
  const error = configError(() => loadConfig(['--set', 'processes=2', '--if-not-env', 'NOPE', '--exit=17', '--endif'], {}, CORPUS));
  assert.equal(error.code, 'E_CONFIG_EXIT');
  assert.equal(error.exitCode, 17);
  assert.match(error.message, /option 'exit': the configuration stops here with status 17/);
  assert.equal(configError(() => loadConfig(['--exit'], {}, CORPUS)).exitCode, 1);
  assert.equal(loadConfig(['--if-env', 'NOPE', '--exit=17', '--endif'], {}, CORPUS).action, 'run');
});

test('tolerated as uWSGI tolerates them, with a warning: an unreadable for-readline file, a failing @(exec://)', () => {
  const { warnings, entries } = loadConfig(['--ini', 'tolerated.ini'], {}, CORPUS);
  assert.equal(entries.find((e) => e.key === 'partial')?.value, 'partial');
  assert.equal(entries.some((e) => e.key === 'env'), false);
  assert.match(warnings.join('\n'), /^tolerated\.ini:3: option 'for-readline': cannot read 'no-such-list-nuwsgi-fixture\.txt' \(ENOENT\): the block adds nothing/m);
  assert.match(warnings.join('\n'), /^tolerated\.ini:7: option 'partial': @\(exec:\/\/echo partial; exit 3\) exited with status 3/m);
});

test('config sources: fd://N, exec://; HTTP and the C binary\'s schemes are named, not opened', () => {
  const fd = openSync(join(CORPUS, 'source.ini'), 'r');
  try {
    assert.equal(loadConfig(['--ini', `fd://${fd}`], {}, CORPUS).options.int('processes'), 3);
  } finally {
    closeSync(fd);
  }
  assert.equal(loadConfig(['--ini', 'exec://cat source.ini', '--set', 'x=@(exec://printf 1)'], {}, CORPUS).entries.at(-1)?.value, '1');
  assert.throws(() => loadConfig(['--ini', 'http://example.test/app.ini'], {}, CORPUS), /cannot read config file 'http:\/\/example\.test\/app\.ini': configuration over HTTP is not read by nuwsgi/);
  assert.throws(() => loadConfig(['--set', 'x=@(sym://some_symbol)'], {}, CORPUS), /@\(sym:\/\/some_symbol\): sym:\/\/ reads from uWSGI's C binary/);
});
