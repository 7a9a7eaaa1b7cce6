import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envEntries, envNameToKey } from '../../src/config/env';

test('UWSGI_ names become keys: lowercased, _ to -', () => {
  assert.deepEqual(envNameToKey('UWSGI_DEB_CONFNAME'), { key: 'deb-confname', prefix: 'UWSGI_' });
  assert.deepEqual(envNameToKey('NUWSGI_HTTP_SOCKET'), { key: 'http-socket', prefix: 'NUWSGI_' });
  assert.equal(envNameToKey('PATH'), undefined);
  assert.equal(envNameToKey('UWSGI_'), undefined);
});

test("uWSGI's plumbing variables are excluded", () => {
  for (const name of ['RELOADS', 'VASSALS_DIR', 'EMPEROR_FD', 'EMPEROR_FD_CONFIG', 'EMPEROR_PROXY', 'BROODLORD_NUM', 'JAIL_PID', 'ORIGINAL_PROC_NAME']) {
    assert.equal(envNameToKey(`UWSGI_${name}`), undefined, name);
    assert.equal(envNameToKey(`NUWSGI_${name}`), undefined, name);
  }
});

test('NUWSGI_ wins over UWSGI_ for the same key; order follows the environment', () => {
  const entries = envEntries({ UWSGI_PROCESSES: '9', UWSGI_MASTER: '', NUWSGI_PROCESSES: '2', HOME: '/root' });
  assert.deepEqual(entries.map((e) => [e.key, e.value, e.envName]), [
    ['master', '', 'UWSGI_MASTER'],
    ['processes', '2', 'NUWSGI_PROCESSES'],
  ]);
  assert.equal(entries[0]?.origin.source, 'env');
});
