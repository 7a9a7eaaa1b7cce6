// Real frameworks in a real virtualenv, app-load failures, and PEP 3333
// checked by wsgiref's validator under concurrent load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../helpers/http';
import { startNuwsgi, repoRoot } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';
import { makeVenv } from '../helpers/venv';

const root = (): string => repoRoot();
const fixture = (name: string): string => join(root(), 'test', 'fixtures', 'apps', name);

const frameworkSkip = skipReason({
  debPackages: ['python3-venv', 'python3-flask', 'python3-django'],
  python: { interpreter: '/usr/bin/python3', modules: ['flask', 'django'] },
});

describe('frameworks inside a virtualenv (--home)', { skip: frameworkSkip ?? false }, () => {
  test('Flask app through --home and --module', async () => {
    const venv = await makeVenv({ python: '/usr/bin/python3', systemSitePackages: true });
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--home', venv.dir, '--chdir', join(root(), 'examples'),
      '--module', 'flask_app:app', '--master', '--processes', '2',
    ]);
    try {
      const port = server.httpPort as number;
      const res = await request(port, { path: '/' });
      assert.equal(res.status, 200);
      const json = await request(port, { path: '/json' });
      assert.equal(json.status, 200);
      assert.match(json.headers['content-type'] ?? '', /application\/json/);
      const echo = await request(port, { method: 'POST', path: '/echo', body: 'ping', headers: { 'Content-Type': 'text/plain' } });
      assert.equal(echo.body.toString(), 'ping');
      assert.equal((await request(port, { path: '/does-not-exist' })).status, 404);
    } finally {
      await server.stop();
    }
  });

  test('the app sees the virtualenv as its prefix', async () => {
    const venv = await makeVenv({ python: '/usr/bin/python3', systemSitePackages: true });
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'where.py'),
      'import sys\n' +
        'def application(environ, start_response):\n' +
        '    body = ("%s|%s|%s" % (sys.prefix, sys.executable, "flask" in sys.modules or __import__("flask") is not None)).encode()\n' +
        '    start_response("200 OK", [("Content-Type", "text/plain")])\n' +
        '    return [body]\n',
    );
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--home', venv.dir, '--wsgi-file', join(dir, 'where.py')]);
    try {
      const [prefix, executable, flask] = (await request(server.httpPort as number, { path: '/' })).body.toString().split('|');
      assert.equal(prefix, venv.dir);
      assert.equal(executable, join(venv.dir, 'bin', 'python3'));
      assert.equal(flask, 'True', 'system site-packages visible through --system-site-packages');
    } finally {
      await server.stop();
    }
  });

  test('Django project through --home', async () => {
    const venv = await makeVenv({ python: '/usr/bin/python3', systemSitePackages: true });
    const server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--home', venv.dir, '--chdir', join(root(), 'examples'),
      '--module', 'django_project.wsgi:application', '--env', 'DJANGO_SETTINGS_MODULE=django_project.settings',
    ]);
    try {
      const port = server.httpPort as number;
      const res = await request(port, { path: '/' });
      assert.equal(res.status, 200);
      const post = await request(port, {
        method: 'POST',
        path: '/form',
        body: 'name=nuwsgi',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(post.status, 200);
      assert.match(post.body.toString(), /nuwsgi/);
    } finally {
      await server.stop();
    }
  });
});

describe('app loading failures', () => {
  test('an ImportError stops start-up with the traceback and exit code 22', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', fixture('broken_import.py')], { waitReady: false });
    const exit = await server.waitForExit(30_000);
    assert.equal(exit.code, 22);
    assert.match(server.logs(), /ModuleNotFoundError: No module named 'this_module_does_not_exist'/);
    assert.match(server.logs(), /\*\*\* no app loaded\. GAME OVER \*\*\*/);
  });

  test('with a master and workers, a broken app still exits 22, leaving nothing behind', async () => {
    const server = await startNuwsgi(
      ['--http-socket', '127.0.0.1:0', '--wsgi-file', fixture('broken_import.py'), '--master', '--processes', '2'],
      { waitReady: false },
    );
    const exit = await server.waitForExit(30_000);
    assert.equal(exit.code, 22);
    const stopped = await server.stop();
    assert.deepEqual(stopped.orphans, []);
  });

  test('a missing callable exits 22 and says so', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', fixture('sink.py'), '--callable', 'nope'], { waitReady: false });
    assert.equal((await server.waitForExit(30_000)).code, 22);
    assert.match(server.logs(), /unable to load app 0 \(mountpoint=''\) \(callable not found\)/);
  });

  test('an interpreter without a shared libpython is refused with what to do', async () => {
    // A stand-in interpreter whose sysconfig says "built without --enable-shared".
    const dir = makeTempDir();
    const fake = join(dir, 'python3');
    writeFileSync(
      fake,
      '#!/bin/sh\necho \'{"version": "3.11.0", "shared": false, "libdir": "/nonexistent", "multiarch": "", "names": ["libpython3.11.a"], "base_prefix": "/nonexistent", "executable": "/nonexistent/python3"}\'\n',
    );
    chmodSync(fake, 0o755);
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', fixture('sink.py'), '--python', fake], { waitReady: false });
    const exit = await server.waitForExit(30_000);
    assert.notEqual(exit.code, 0);
    assert.match(server.logs(), /has no shared libpython/);
    assert.match(server.logs(), /--enable-shared/);
  });
});

describe('PEP 3333 under load: wsgiref.validate', () => {
  test('the validated app sees no violation across concurrent requests', async () => {
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--wsgi-file', fixture('validated.py'), '--master', '--processes', '2']);
    try {
      const port = server.httpPort as number;
      const paths = ['/', '/environ', '/stream?count=3&size=10', '/writer', '/ticks'];
      const requests: Array<Promise<number>> = [];
      for (let i = 0; i < 200; i++) {
        const path = paths[i % paths.length] as string;
        requests.push(request(port, { path }).then((r) => r.status));
      }
      const posts = Array.from({ length: 20 }, (_, i) =>
        request(port, { method: 'POST', path: '/echo?chunks', body: `body ${i}` }).then((r) => r.status),
      );
      const statuses = await Promise.all([...requests, ...posts]);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
      assert.doesNotMatch(server.logs(), /AssertionError|WSGIWarning|Traceback/);
    } finally {
      await server.stop();
    }
  });
});
