// The nginx harness (test/helpers/nginx.ts) proven against Debian's real
// uWSGI, independently of nuwsgi: if these fail, the nginx e2e tests of
// nuwsgi prove nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { request } from '../helpers/http';
import { nginxSkipReason, renderNginxConf, startNginx, type NginxInstance } from '../helpers/nginx';
import { processGroupMembers } from '../helpers/procs';
import { ServerProcess, repoRoot, startUwsgi } from '../helpers/server';
import { uwsgiSkipReason } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const skip = nginxSkipReason() ?? uwsgiSkipReason() ?? false;
const APP = join(repoRoot(), 'test', 'fixtures', 'e2e', 'app.py');

test('renderNginxConf: loopback only, everything inside the temp dir, stock uwsgi_params', () => {
  const conf = renderNginxConf(
    {
      servers: [
        { locations: [{ path: '/', uwsgiPass: 'unix:/x/s.sock', extra: ['uwsgi_param SCRIPT_NAME /app;', 'uwsgi_modifier1 30;'] }] },
        { locations: [{ path: '/', proxyPass: 'http://127.0.0.1:9' }] },
      ],
    },
    [18001, 18002],
    '/tmp/d',
  );
  assert.match(conf, /^daemon off;$/m);
  assert.match(conf, /listen 127\.0\.0\.1:18001;/);
  assert.match(conf, /listen 127\.0\.0\.1:18002;/);
  assert.doesNotMatch(conf, /listen (?!127\.0\.0\.1:)/);
  assert.match(conf, /include \/etc\/nginx\/uwsgi_params;\n\s*uwsgi_pass unix:\/x\/s\.sock;\n\s*uwsgi_param SCRIPT_NAME \/app;\n\s*uwsgi_modifier1 30;/);
  assert.match(conf, /proxy_pass http:\/\/127\.0\.0\.1:9;/);
  for (const directive of ['pid', 'error_log', 'access_log', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']) {
    assert.match(conf, new RegExp(`^\\s*${directive} /tmp/d/`, 'm'), directive);
  }
  assert.match(conf, /client_max_body_size 64m;/);
  if (process.getuid?.() !== 0) assert.doesNotMatch(conf, /^user /m);
});

describe('nginx in front of Debian\'s uWSGI (unix socket, uwsgi_pass)', { skip }, () => {
  let uwsgi: ServerProcess;
  let nginx: NginxInstance;
  let socketPath: string;

  before(async () => {
    socketPath = join(makeTempDir('nuwsgi-harness-'), 'uwsgi.sock');
    uwsgi = await startUwsgi(['--socket', socketPath, '--wsgi-file', APP, '--master', '--processes', '1'], { readyPath: '/env/' });
    nginx = await startNginx({ servers: [{ locations: [{ path: '/', uwsgiPass: `unix:${socketPath}` }] }] });
  });

  after(async () => {
    await nginx?.stop();
    await uwsgi?.stop();
  });

  test('GET through nginx: 200 with the environ nginx sent', async () => {
    const res = await request(nginx.port, { path: '/env/x?a=1&b=%20', headers: { 'X-Probe': 'yes' } });
    assert.equal(res.status, 200, nginx.logs());
    const env = JSON.parse(res.text) as Record<string, string>;
    assert.equal(env['PATH_INFO'], '/env/x');
    assert.equal(env['QUERY_STRING'], 'a=1&b=%20');
    assert.equal(env['REQUEST_URI'], '/env/x?a=1&b=%20');
    assert.equal(env['HTTP_X_PROBE'], 'yes');
    assert.equal(env['SERVER_PORT'], String(nginx.port), 'the request went through our nginx');
    // nginx writes its access log after the response: poll for the line.
    const deadline = Date.now() + 5_000;
    while (!/"GET \/env\/x\?a=1&b=%20 HTTP\/1\.1" 200 /.test(nginx.accessLog())) {
      assert.ok(Date.now() < deadline, `no access log line: ${nginx.accessLog()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  test('POST body through nginx reaches uWSGI intact', async () => {
    const body = Buffer.alloc(300_000, 'abc');
    const res = await request(nginx.port, { method: 'POST', path: '/echo', body });
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(body));
  });

  test('stop() leaves no nginx process', async () => {
    const extra = await startNginx({ servers: [{ locations: [{ path: '/', uwsgiPass: `unix:${socketPath}` }] }] });
    assert.ok(processGroupMembers(extra.pid).length >= 2, 'master and a worker');
    await extra.stop();
    assert.deepEqual(processGroupMembers(extra.pid), []);
    await assert.rejects(request(extra.port, { timeoutMs: 2_000 }));
  });
});
