/**
 * docs/quickstart.md, run as written: every fenced block after a
 * `<!-- quickstart: APP/NAME -->` marker is extracted and used as it is, with
 * only these mechanical changes so it runs inside a temp dir:
 *
 * - absolute paths under /srv and /run move under the temp dir;
 * - nginx: the `listen`/`server_name` lines are dropped (the harness listens
 *   on a free loopback port), `include uwsgi_params`/`proxy_params` name
 *   /etc/nginx's files, and the loopback port 8001 becomes a free port
 *   (in nuwsgi.ini too);
 * - systemd: the unit is checked with `systemd-analyze verify` (ExecStart
 *   pointing at this checkout's bin/nuwsgi, as /usr/bin/nuwsgi is the
 *   package's), and its ExecStart arguments are what the test runs, with
 *   what User=/Group=/RuntimeDirectory= would do: `--uid`/`--gid` and a
 *   /run/APP directory owned by that user.
 *
 * Django comes from Debian's python3-django (`django-admin startproject` in
 * a venv with system site packages, as the page's pip install would give),
 * Flask from python3-flask.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { request } from '../helpers/http';
import { nginxSkipReason, startNginx } from '../helpers/nginx';
import { getFreePort } from '../helpers/ports';
import { nuwsgiBin, repoRoot, startNuwsgi } from '../helpers/server';
import { skipReason, which } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';
import { makeVenv } from '../helpers/venv';

const DOC = join(repoRoot(), 'docs', 'quickstart.md');

/** The snippets of docs/quickstart.md by marker name ("django/nuwsgi.ini"). */
function snippets(): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- quickstart: (\S+) -->\n```[^\n]*\n([\s\S]*?)\n```/g;
  for (const m of readFileSync(DOC, 'utf8').matchAll(re)) out.set(m[1] ?? '', `${m[2] ?? ''}\n`);
  return out;
}

function snippet(name: string): string {
  const s = snippets().get(name);
  assert.ok(s !== undefined, `docs/quickstart.md has no "quickstart: ${name}" block`);
  return s;
}

function remapPaths(text: string, root: string): string {
  return text.replace(/(^|[\s=:])(\/(?:srv|run)\/)/gm, (_m, lead: string, path: string) => `${lead}${root}${path}`);
}

/** The server block's contents, ready for the nginx harness's own server (see the header comment). */
function nginxDirectives(block: string, root: string, port: number): string[] {
  const inner = block.slice(block.indexOf('{') + 1, block.lastIndexOf('}'));
  return remapPaths(inner, root)
    .replace(/include (uwsgi_params|proxy_params);/g, 'include /etc/nginx/$1;')
    .replace(/127\.0\.0\.1:8001/g, `127.0.0.1:${port}`)
    .split('\n')
    .filter((l) => !/^\s*(listen|server_name)\s/.test(l));
}

function execStartArgs(unit: string, root: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(line !== undefined, 'the unit has no ExecStart=');
  const [bin, ...args] = remapPaths(line.slice('ExecStart='.length), root).split(/\s+/);
  assert.equal(bin, '/usr/bin/nuwsgi');
  return args;
}

function unitValue(unit: string, key: string): string | undefined {
  return unit.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
}

const systemdSkip = which('systemd-analyze') === undefined ? 'no systemd-analyze (apt-get install systemd)' : false;

function verifyUnit(name: string, unit: string, root: string): void {
  const dir = makeTempDir('nuwsgi-unit-');
  const path = join(dir, name);
  writeFileSync(path, remapPaths(unit, root).replace('/usr/bin/nuwsgi', nuwsgiBin()));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, new RegExp(name.replace('.', '\\.')), r.stderr);
}

interface AppRun {
  root: string;
  unit: string;
  nginxBlock: string;
  /** The page to fetch through nginx, and what it must contain. */
  path: string;
  expect: RegExp;
  port?: number;
}

/** Runs the unit's command as systemd would, puts nginx in front, fetches the page, stops both. */
async function serveThroughNginx(app: AppRun): Promise<void> {
  const user = unitValue(app.unit, 'User');
  const group = unitValue(app.unit, 'Group');
  const runtime = unitValue(app.unit, 'RuntimeDirectory');
  if (runtime !== undefined) {
    const dir = join(app.root, 'run', runtime);
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() === 0 && user !== undefined) {
      const id = (db: string, n: string): number => Number(spawnSync('getent', [db, n], { encoding: 'utf8' }).stdout.split(':')[2]);
      chownSync(dir, id('passwd', user), id('group', group ?? user));
    }
  }
  const asUser = process.getuid?.() === 0 && user !== undefined ? ['--uid', user, ...(group === undefined ? [] : ['--gid', group])] : [];
  const args = execStartArgs(app.unit, app.root);
  const server = await startNuwsgi([...args, ...asUser], { cwd: app.root, waitReady: false, env: { PATH: `/usr/bin:/bin:${process.env['PATH'] ?? ''}` } });
  try {
    await server.waitForLog(/WSGI app 0 \(mountpoint=''\) ready/, 60_000);
    const nginx = await startNginx({ servers: [{ locations: [], extra: nginxDirectives(app.nginxBlock, app.root, app.port ?? 0) }] });
    try {
      let res = await request(nginx.port, { path: app.path, headers: { Host: 'example.com' } });
      // Workers start one by one: a 502 right after the first is ready can only mean the socket is not served yet.
      for (let i = 0; res.status === 502 && i < 50; i++) {
        await server.waitForActivity(100);
        res = await request(nginx.port, { path: app.path, headers: { Host: 'example.com' } });
      }
      assert.equal(res.status, 200, `${res.status} ${res.text}\n${nginx.errorLog()}\n${server.logs()}`);
      assert.match(res.text, app.expect);
    } finally {
      await nginx.stop();
    }
  } finally {
    const stopped = await server.stop();
    assert.deepEqual(stopped.orphans, []);
  }
}

/** A temp root that www-data can read (the units run as www-data). */
function appRoot(): string {
  const root = makeTempDir('nuwsgi-quickstart-');
  chmodSync(root, 0o755);
  return root;
}

async function linkVenv(venvPath: string): Promise<void> {
  const venv = await makeVenv({ python: '/usr/bin/python3', systemSitePackages: true });
  chmodSync(dirname(venv.dir), 0o755);
  mkdirSync(dirname(venvPath), { recursive: true });
  symlinkSync(venv.dir, venvPath);
}

const nginxSkip = nginxSkipReason();
const djangoSkip = skipReason({ debPackages: ['python3-venv', 'python3-django'], python: { interpreter: '/usr/bin/python3', modules: ['django'] } });
const flaskSkip = skipReason({ debPackages: ['python3-venv', 'python3-flask'], python: { interpreter: '/usr/bin/python3', modules: ['flask'] } });

describe('docs/quickstart.md, as written', () => {
  test('every app has its config, nginx server block and systemd unit', () => {
    const names = [...snippets().keys()];
    for (const app of ['django', 'flask', 'plain']) {
      for (const kind of ['nuwsgi.ini', 'nginx']) assert.ok(names.includes(`${app}/${kind}`), `${app}/${kind} missing`);
      assert.ok(names.some((n) => n.startsWith(`${app}/`) && n.endsWith('.service')), `${app}: no systemd unit`);
    }
  });

  test('the systemd units pass systemd-analyze verify', { skip: systemdSkip }, () => {
    const root = appRoot();
    for (const [name, text] of snippets()) if (name.endsWith('.service')) verifyUnit(name.split('/')[1] ?? name, text, root);
  });

  test('Django: startproject, the settings, nuwsgi.ini and the server block serve /admin/login/', { skip: nginxSkip ?? djangoSkip ?? false }, async () => {
    const root = appRoot();
    const project = join(root, 'srv', 'mysite');
    mkdirSync(project, { recursive: true });
    await linkVenv(join(project, 'venv'));
    const r = spawnSync('/usr/bin/python3', ['-m', 'django', 'startproject', 'mysite', project], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    appendFileSync(join(project, 'mysite', 'settings.py'), `\n${snippet('django/settings.py')}`);
    writeFileSync(join(project, 'nuwsgi.ini'), remapPaths(snippet('django/nuwsgi.ini'), root));
    await serveThroughNginx({ root, unit: snippet('django/mysite.service'), nginxBlock: snippet('django/nginx'), path: '/admin/login/', expect: /Django/ });
  });

  test('Flask: app.py, nuwsgi.ini and the server block serve /', { skip: nginxSkip ?? flaskSkip ?? false }, async () => {
    const root = appRoot();
    const dir = join(root, 'srv', 'hello');
    mkdirSync(dir, { recursive: true });
    await linkVenv(join(dir, 'venv'));
    writeFileSync(join(dir, 'app.py'), snippet('flask/app.py'));
    writeFileSync(join(dir, 'nuwsgi.ini'), remapPaths(snippet('flask/nuwsgi.ini'), root));
    await serveThroughNginx({ root, unit: snippet('flask/hello.service'), nginxBlock: snippet('flask/nginx'), path: '/', expect: /Hello from Flask/ });
  });

  test('plain WSGI file: app.py, nuwsgi.ini (http-socket) and proxy_pass serve /', { skip: nginxSkip ?? false }, async () => {
    const root = appRoot();
    const dir = join(root, 'srv', 'plain');
    mkdirSync(dir, { recursive: true });
    const port = await getFreePort();
    writeFileSync(join(dir, 'app.py'), snippet('plain/app.py'));
    writeFileSync(join(dir, 'nuwsgi.ini'), remapPaths(snippet('plain/nuwsgi.ini'), root).replace('127.0.0.1:8001', `127.0.0.1:${port}`));
    await serveThroughNginx({ root, unit: snippet('plain/plain.service'), nginxBlock: snippet('plain/nginx'), path: '/', expect: /plain WSGI app/, port });
  });
});
