// Static files: options → StaticConfig (what the master passes to workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResolvedOptions, type ResolvedEntry } from '../../src/config/options-impl';
import { staticConfigFromOptions } from '../../src/worker/static/config';

const options = (pairs: Array<[string, string | null]>): ResolvedOptions =>
  new ResolvedOptions(pairs.map(([key, value], i): ResolvedEntry => ({ key, value, origin: { source: 'file', file: 'app.ini', line: i + 1 } })));

test('nothing mapped: no static server at all', () => {
  assert.equal(staticConfigFromOptions(options([['static-index', 'index.html']]), '/srv'), undefined);
});

test('maps: check-static first, then the longest mountpoint; relative dirs from the base; uWSGI defaults', () => {
  const c = staticConfigFromOptions(
    options([['static-map', '/s=static'], ['static-map2', '/s/deep=/abs'], ['static-check', 'public'], ['static-expires-type', 'text/css=60'], ['static-expires-uri-mtime', '^/s/ 3600'], ['static-gzip-suffix', '.css'], ['static-cache-paths', '30'], ['add-header', 'X-A: 1']]),
    '/srv/app',
  );
  assert.ok(c);
  assert.deepEqual(c.mounts.map((m) => [m.option, m.mount, m.root, m.mode]), [
    ['check-static', '', '/srv/app/public', 'append'],
    ['static-map2', '/s/deep', '/abs', 'append'],
    ['static-map', '/s', '/srv/app/static', 'strip'],
  ]);
  assert.deepEqual(c.mimeFiles, ['/etc/mime.types']);
  assert.deepEqual(c.expires, [
    { subject: 'uri', pattern: '^/s/', seconds: 3600, fromMtime: true },
    { subject: 'type', pattern: 'text/css', seconds: 60, fromMtime: false },
  ]);
  assert.deepEqual(c.gzip.exts, ['.css']);
  assert.equal(c.cachePathsSeconds, 30);
  assert.deepEqual(c.addHeaders, ['X-A: 1']);
});

test('malformed values fail at startup, naming the option, even with nothing mapped', () => {
  assert.throws(() => staticConfigFromOptions(options([['static-map', '/s=']]), '/'), /static-map "\/s=": invalid document root/);
  assert.throws(() => staticConfigFromOptions(options([['static-expires', '( 10']]), '/'), /static-expires: invalid regular expression/);
  assert.throws(() => staticConfigFromOptions(options([['static-expires-path-info', '^/x']]), '/'), /static-expires-path-info "\^\/x": invalid dictionary syntax/);
  assert.throws(() => staticConfigFromOptions(options([['static-expires-type-mtime', 'image/png=soon']]), '/'), /"soon" is not a number of seconds/);
});

test('check-static-docroot alone starts the static server; file-serve-mode takes uWSGI\'s names (any case) and refuses others', () => {
  const d = staticConfigFromOptions(options([['check-static-docroot', null]]), '/srv');
  assert.ok(d);
  assert.equal(d.checkDocroot, true);
  assert.equal(d.fileServeMode, 'raw');
  const mode = (v: string): string | undefined => staticConfigFromOptions(options([['static-map', '/s=/x'], ['file-serve-mode', v]]), '/srv')?.fileServeMode;
  assert.equal(mode('x-accel-redirect'), 'X-Accel-Redirect');
  assert.equal(mode('NGINX'), 'X-Accel-Redirect');
  assert.equal(mode('xaccelredirect'), 'X-Accel-Redirect');
  assert.equal(mode('X-Sendfile'), 'X-Sendfile');
  assert.equal(mode('xsendfile'), 'X-Sendfile');
  assert.equal(staticConfigFromOptions(options([['static-map', '/s=/x'], ['fileserve-mode', 'nginx']]), '/srv')?.fileServeMode, 'X-Accel-Redirect');
  assert.throws(() => mode('apache'), /file-serve-mode "apache": unknown mode/);
});

test('static-cache-paths-name: the name is not looked up (no named caches); it changes nothing, and says so once', () => {
  const lines: string[] = [];
  const withCache = staticConfigFromOptions(options([['static-map', '/s=static'], ['static-cache-paths', '30'], ['static-cache-paths-name', 'paths']]), '/srv', (l) => lines.push(l));
  assert.equal(withCache?.cachePathsSeconds, 30);
  assert.deepEqual(lines, ['static-cache-paths-name "paths": nuwsgi has no named caches, the name is not looked up; static-cache-paths 30 keeps real paths in each worker\'s memory instead']);
  lines.length = 0;
  // uWSGI reads the name only when static-cache-paths is set: alone it caches nothing.
  const alone = staticConfigFromOptions(options([['static-map', '/s=static'], ['static-cache-paths-name', 'paths']]), '/srv', (l) => lines.push(l));
  assert.equal(alone?.cachePathsSeconds, 0);
  assert.deepEqual(lines, ['static-cache-paths-name "paths": nuwsgi has no named caches, the name is not looked up; without static-cache-paths it turns nothing on, as in uWSGI']);
  lines.length = 0;
  staticConfigFromOptions(options([['static-map', '/s=static']]), '/srv', (l) => lines.push(l));
  assert.deepEqual(lines, []);
});
