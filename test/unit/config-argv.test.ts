import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgv, resolveLongName, formatOfPath } from '../../src/config/argv';
import { ConfigError } from '../../src/util/errors';

const keyValues = (argv: string[]): Array<[string, string | null]> => parseArgv(argv).options.map((o) => [o.key, o.value]);

test('long options with separate or attached values, flags without', () => {
  assert.deepEqual(keyValues(['--processes', '4', '--master', '--socket=:3031', '--http-socket', ':8080']), [
    ['processes', '4'],
    ['master', null],
    ['socket', ':3031'],
    ['http-socket', ':8080'],
  ]);
});

test('a flag followed by another option does not swallow it', () => {
  assert.deepEqual(keyValues(['--master', '--threads', '2']), [['master', null], ['threads', '2']]);
});

test('short options: -p 4, -p4, clusters, canonical names', () => {
  assert.deepEqual(keyValues(['-p', '4', '-p4', '-MTp3', '-s', ':1']), [
    ['processes', '4'],
    ['processes', '4'],
    ['master', null],
    ['enable-threads', null],
    ['processes', '3'],
    ['socket', ':1'],
  ]);
});

test('a required value is taken even when it starts with a dash (getopt)', () => {
  assert.deepEqual(keyValues(['--socket', '-x']), [['socket', '-x']]);
});

test('aliases stay as typed (uWSGI shows them so in --show-config)', () => {
  assert.deepEqual(keyValues(['--workers', '2', '--venv', '/v']), [['workers', '2'], ['venv', '/v']]);
});

test('optional-argument options only take an attached value', () => {
  assert.deepEqual(keyValues(['--chmod-socket', '--chmod-socket=644', '-C']), [
    ['chmod-socket', null],
    ['chmod-socket', '644'],
    ['chmod-socket', null],
  ]);
});

test('unique prefixes are accepted, ambiguous ones are errors listing the possibilities', () => {
  assert.equal(resolveLongName('processe'), 'processes');
  assert.equal(resolveLongName('master'), 'master'); // exact match wins over master-fifo
  assert.throws(() => resolveLongName('proc'), (e: unknown) => e instanceof ConfigError && /ambiguous; possibilities: '--processes'/.test(e.message));
});

test('unknown options are fatal with a suggestion', () => {
  assert.throws(
    () => parseArgv(['--procesess', '2']),
    (e: unknown) => e instanceof ConfigError && e.code === 'E_CONFIG_UNKNOWN_OPTION' && /unrecognized option '--procesess' \(did you mean '(processes)'\?\)/.test(e.message),
  );
  assert.throws(() => parseArgv(['-q']), /invalid option -- 'q'/);
});

test('getopt errors: value on a flag, missing value', () => {
  assert.throws(() => parseArgv(['--master=1']), /doesn't allow an argument/);
  assert.throws(() => parseArgv(['--processes']), /requires an argument/);
  assert.throws(() => parseArgv(['-p']), /requires an argument -- 'p'/);
});

test('bare arguments are config files by extension, loaded after the options', () => {
  const parsed = parseArgv(['app.ini', '-p', '2', 'b.yml:dev', 'c.json', 'd.js', 'e.xml', 'f.yaml']);
  assert.deepEqual(parsed.files.map((f) => f.format), ['ini', 'yaml', 'json', 'json', 'xml', 'yaml']);
  assert.deepEqual(keyValues(['app.ini', '-p', '2']), [['processes', '2']]);
  assert.throws(() => parseArgv(['app.py']), /unable to load configuration from app.py/);
  assert.equal(formatOfPath('x.ini:sec'), 'ini');
});

test('-- ends the options', () => {
  const parsed = parseArgv(['-p', '2', '--', 'x.ini']);
  assert.deepEqual(parsed.files, [{ format: 'ini', path: 'x.ini' }]);
});

test("options of uWSGI's plugins are taken when written in full, with their own argument style", () => {
  assert.deepEqual(keyValues(['--fastrouter', ':1', '--ugreen', '--zabbix-template', '--zabbix-template=x', '--http-raw-body']), [
    ['fastrouter', ':1'],
    ['ugreen', null],
    ['zabbix-template', null],
    ['zabbix-template', 'x'],
    ['http-raw-body', null],
  ]);
  // Abbreviations resolve among core and python options only, as against `uwsgi --plugin python3`.
  assert.throws(() => parseArgv(['--fastrout', ':1']), /unrecognized option '--fastrout'/);
  assert.equal(resolveLongName('http-raw-body'), 'http-raw-body');
});

test('options made by declare-option are known from the moment they are declared', () => {
  const custom = new Map([['to-static', 'static-map=$1=$2'], ['quiet', 'disable-logging=true']]);
  assert.deepEqual(parseArgv(['--to-static', '/s /srv', '--quiet', '--to-st', '/t /x'], { customOptions: custom }).options, [
    { key: 'to-static', value: '/s /srv' },
    { key: 'quiet', value: null }, // no $1..$3 in the template: no value, as uWSGI builds it
    { key: 'to-static', value: '/t /x' }, // a unique prefix, as getopt
  ]);
  assert.throws(() => parseArgv(['--to-static', 'x']), /unrecognized option '--to-static'/);
});

test('each option reaches onOption before the next one is parsed', () => {
  const custom = new Map<string, string>();
  const seen: string[] = [];
  parseArgv(['--declare-option', 'later=master=$1', '--later', 'x'], {
    customOptions: custom,
    onOption: (option) => {
      seen.push(option.key);
      if (option.key === 'declare-option') custom.set('later', 'master=$1');
    },
  });
  assert.deepEqual(seen, ['declare-option', 'later']);
});
