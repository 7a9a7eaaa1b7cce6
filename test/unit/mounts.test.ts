import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeAppRouter } from '../../src/worker/mounts';
import type { AppSpec } from '../../src/worker/python/bridge';

const app = (mountpoint: string): AppSpec => ({ mountpoint, kind: 'module', target: 'x', callable: 'application' });
const apps = [app(''), app('/app'), app('/app/admin'), app('/other/')];

function route(manage: boolean, vars: Array<[string, string]>): [number, Record<string, string>] {
  const id = makeAppRouter(apps, manage)(vars);
  return [id, Object.fromEntries(vars)];
}

test('manage-script-name: the longest mountpoint wins and moves into SCRIPT_NAME', () => {
  assert.deepEqual(route(true, [['PATH_INFO', '/app/admin/users'], ['SCRIPT_NAME', '']]), [2, { PATH_INFO: '/users', SCRIPT_NAME: '/app/admin' }]);
  assert.deepEqual(route(true, [['PATH_INFO', '/app/x'], ['SCRIPT_NAME', '']]), [1, { PATH_INFO: '/x', SCRIPT_NAME: '/app' }]);
  assert.deepEqual(route(true, [['PATH_INFO', '/app']]), [1, { PATH_INFO: '', SCRIPT_NAME: '/app' }]);
  assert.deepEqual(route(true, [['PATH_INFO', '/other/y']]), [3, { PATH_INFO: '/y', SCRIPT_NAME: '/other' }]);
});

test('a prefix must end at a segment boundary', () => {
  assert.deepEqual(route(true, [['PATH_INFO', '/application'], ['SCRIPT_NAME', '']]), [0, { PATH_INFO: '/application', SCRIPT_NAME: '' }]);
});

test('without manage-script-name, SCRIPT_NAME from the front end names the app', () => {
  assert.deepEqual(route(false, [['PATH_INFO', '/app/x'], ['SCRIPT_NAME', '/app']]), [1, { PATH_INFO: '/app/x', SCRIPT_NAME: '/app' }]);
  assert.equal(route(false, [['PATH_INFO', '/app/x'], ['SCRIPT_NAME', '']])[0], 0);
});

test('unmatched paths go to the default app, and no mounts means app 0 always', () => {
  assert.equal(route(true, [['PATH_INFO', '/nowhere']])[0], 0);
  assert.equal(makeAppRouter([app('')], true)([['PATH_INFO', '/app']]), 0);
});
