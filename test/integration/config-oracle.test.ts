/**
 * Checks the golden --show-config files against the real uWSGI 2.0: runs
 * `uwsgi --show-config` on every fixture case and compares the result with the
 * same golden nuwsgi's unit test uses. Skipped (with a message) when uwsgi is
 * not installed.
 *
 * uWSGI prints the configuration, then goes on starting; `--chroot` to a
 * missing directory makes it exit right after printing, before it binds
 * sockets, drops privileges or daemonizes (pidfiles are written earlier: the
 * fixtures only name pidfiles in directories that do not exist).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config');
const STOP_AFTER_SHOW_CONFIG = ['--chroot', '/nonexistent-nuwsgi-oracle'];
const PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';

interface GoldenCase {
  name: string;
  dir: string;
  args: string[];
  env: Record<string, string>;
}

const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: GoldenCase[] }).cases;

function uwsgiVersion(): string | undefined {
  const result = spawnSync('uwsgi', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const version = uwsgiVersion();
const skip = version === undefined ? 'uwsgi is not installed: the goldens are not checked against the real thing' : false;

/** uWSGI needs the python plugin for python options to be options (without it they are placeholders). */
const pluginArgs = existsSync(PYTHON_PLUGIN) ? ['--plugin', 'python3'] : [];

function showConfigOfUwsgi(golden: GoldenCase): string {
  // --chroot goes first: a logic block a fixture leaves open would otherwise swallow it, and uWSGI would go on running.
  const result = spawnSync('uwsgi', [...pluginArgs, '--show-config', ...STOP_AFTER_SHOW_CONFIG, ...golden.args], {
    cwd: join(FIXTURES, golden.dir),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...golden.env },
    encoding: 'utf8',
    input: '',
    timeout: 10_000,
    killSignal: 'SIGKILL',
  });
  return extractShowConfig(`${result.stdout}${result.stderr}`);
}

/** The block between uWSGI's markers, minus what legitimately differs. */
function extractShowConfig(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.replace(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} - /, '')); // log-date prefixes
  const start = lines.indexOf(';uWSGI instance configuration');
  const end = lines.indexOf(';end of configuration');
  assert.ok(start !== -1 && end > start, `no show-config block in uWSGI's output:\n${output}`);
  const kept = lines
    .slice(start, end + 1)
    .filter((line) => line !== 'plugin = python3' && line !== `chroot = ${STOP_AFTER_SHOW_CONFIG[1] ?? ''}`);
  return normalize(`${kept.join('\n')}\n`);
}

function normalize(text: string): string {
  // %0 is the first component of the fixtures' path: it depends on where the checkout lives.
  const root0 = realpathSync(FIXTURES).split('/')[1] ?? '';
  return text
    .split(realpathSync(FIXTURES)).join('@FIXTURES@').split(FIXTURES).join('@FIXTURES@').split(version ?? '@VERSION@').join('@VERSION@')
    .split(` 0=${root0} `).join(' 0=@ROOT0@ ');
}

for (const golden of cases) {
  test(`uWSGI agrees with the golden: ${golden.name}`, { skip }, () => {
    const expected = readFileSync(join(FIXTURES, `${golden.name}.show-config`), 'utf8');
    assert.equal(showConfigOfUwsgi(golden), expected);
  });
}
