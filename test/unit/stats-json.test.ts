/**
 * renderStatsJson against documents captured from a real uWSGI 2.0.21-debian
 * (`--stats`, and `--stats-minified --stats-http` with two threads): the
 * numbers are read back with readStatsJson and re-rendered; the text must come
 * out byte for byte the same, tabs and odd spots included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStatsJson } from '../../src/stats/uwsgi-json-read';
import { renderStatsJson } from '../../src/stats/uwsgi-json';
import { NuwsgiError } from '../../src/util/errors';

/** Two workers, a TCP http socket and a UNIX uwsgi socket, worker 2 in the middle of a request. */
const UWSGI_PRETTY_BUSY = [
  "{",
  "\t\"version\":\"2.0.21-debian\",",
  "\t\"listen_queue\":0,",
  "\t\"listen_queue_errors\":0,",
  "\t\"signal_queue\":0,",
  "\t\"load\":0,",
  "\t\"pid\":5959,",
  "\t\"uid\":0,",
  "\t\"gid\":0,",
  "\t\"cwd\":\"/tmp/statsdev/oracle\",",
  "\t\"locks\":[",
  "\t\t{",
  "\t\t\t\"user 0\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"signal\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"filemon\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"timer\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"rbtimer\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"cron\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"rpc\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"snmp\":0",
  "\t\t}",
  "\t],",
  "\t\"sockets\":[",
  "\t\t{",
  "\t\t\t\"name\":\"127.0.0.1:19091\",",
  "\t\t\t\"proto\":\"http\",",
  "\t\t\t\"queue\":0,",
  "\t\t\t\"max_queue\":100,",
  "\t\t\t\"shared\":0,",
  "\t\t\t\"can_offload\":0",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"name\":\"/tmp/statsdev/oracle/u.sock\",",
  "\t\t\t\"proto\":\"uwsgi\",",
  "\t\t\t\"queue\":0,",
  "\t\t\t\"max_queue\":0,",
  "\t\t\t\"shared\":0,",
  "\t\t\t\"can_offload\":0",
  "\t\t}",
  "\t],",
  "\t\"workers\":[",
  "\t\t{",
  "\t\t\t\"id\":1,",
  "\t\t\t\"pid\":5961,",
  "\t\t\t\"accepting\":1,",
  "\t\t\t\"requests\":1,",
  "\t\t\t\"delta_requests\":1,",
  "\t\t\t\"exceptions\":1,",
  "\t\t\t\"harakiri_count\":0,",
  "\t\t\t\"signals\":0,",
  "\t\t\t\"signal_queue\":0,",
  "\t\t\t\"status\":\"idle\",",
  "\t\t\t\"rss\":0,",
  "\t\t\t\"vsz\":0,",
  "\t\t\t\"running_time\":793,",
  "\t\t\t\"last_spawn\":1795474732,",
  "\t\t\t\"respawn_count\":1,",
  "\t\t\t\"tx\":0,",
  "\t\t\t\"avg_rt\":396,",
  "\t\t\t\"apps\":[",
  "\t\t\t\t{",
  "\t\t\t\t\t\"id\":0,",
  "\t\t\t\t\t\"modifier1\":0,",
  "\t\t\t\t\t\"mountpoint\":\"\",",
  "\t\t\t\t\t\"startup_time\":0,",
  "\t\t\t\t\t\"requests\":1,",
  "\t\t\t\t\t\"exceptions\":1,",
  "\t\t\t\t\t\"chdir\":\"\"",
  "\t\t\t\t}",
  "\t\t\t],",
  "\t\t\t\"cores\":[",
  "\t\t\t\t{",
  "\t\t\t\t\t\"id\":0,",
  "\t\t\t\t\t\"requests\":1,",
  "\t\t\t\t\t\"static_requests\":0,",
  "\t\t\t\t\t\"routed_requests\":0,",
  "\t\t\t\t\t\"offloaded_requests\":0,",
  "\t\t\t\t\t\"write_errors\":0,",
  "\t\t\t\t\t\"read_errors\":0,",
  "\t\t\t\t\t\"in_request\":0,",
  "\t\t\t\t\t\"vars\":[",
  "",
  "\t\t\t\t\t],",
  "\t\t\t\t\t\"req_info\":\t\t\t\t\t{",
  "",
  "\t\t\t\t\t}",
  "\t\t\t\t}",
  "\t\t\t]",
  "\t\t},",
  "\t\t{",
  "\t\t\t\"id\":2,",
  "\t\t\t\"pid\":5962,",
  "\t\t\t\"accepting\":1,",
  "\t\t\t\"requests\":1,",
  "\t\t\t\"delta_requests\":1,",
  "\t\t\t\"exceptions\":0,",
  "\t\t\t\"harakiri_count\":0,",
  "\t\t\t\"signals\":0,",
  "\t\t\t\"signal_queue\":0,",
  "\t\t\t\"status\":\"busy\",",
  "\t\t\t\"rss\":0,",
  "\t\t\t\"vsz\":0,",
  "\t\t\t\"running_time\":582,",
  "\t\t\t\"last_spawn\":1795474732,",
  "\t\t\t\"respawn_count\":1,",
  "\t\t\t\"tx\":50,",
  "\t\t\t\"avg_rt\":291,",
  "\t\t\t\"apps\":[",
  "\t\t\t\t{",
  "\t\t\t\t\t\"id\":0,",
  "\t\t\t\t\t\"modifier1\":0,",
  "\t\t\t\t\t\"mountpoint\":\"\",",
  "\t\t\t\t\t\"startup_time\":0,",
  "\t\t\t\t\t\"requests\":2,",
  "\t\t\t\t\t\"exceptions\":0,",
  "\t\t\t\t\t\"chdir\":\"\"",
  "\t\t\t\t}",
  "\t\t\t],",
  "\t\t\t\"cores\":[",
  "\t\t\t\t{",
  "\t\t\t\t\t\"id\":0,",
  "\t\t\t\t\t\"requests\":1,",
  "\t\t\t\t\t\"static_requests\":0,",
  "\t\t\t\t\t\"routed_requests\":0,",
  "\t\t\t\t\t\"offloaded_requests\":0,",
  "\t\t\t\t\t\"write_errors\":0,",
  "\t\t\t\t\t\"read_errors\":0,",
  "\t\t\t\t\t\"in_request\":1,",
  "\t\t\t\t\t\"vars\":[",
  "\"REQUEST_METHOD=GET\",",
  "\"PATH_INFO=/sleep\",",
  "\"REQUEST_URI=/sleep?q=%22a%5Cb&t=x\\\"y\\\\z\",",
  "\"QUERY_STRING=q=%22a%5Cb&t=x\\\"y\\\\z\",",
  "\"SERVER_PROTOCOL=HTTP/1.1\",",
  "\"SCRIPT_NAME=\",",
  "\"SERVER_NAME=vm\",",
  "\"SERVER_PORT=19091\",",
  "\"REMOTE_ADDR=127.0.0.1\",",
  "\"HTTP_HOST=127.0.0.1:19091\",",
  "\"HTTP_USER_AGENT=curl/7.88.1\",",
  "\"HTTP_ACCEPT=*/*\",",
  "\"HTTP_X_TAB=a\\tb\",",
  "\"\"",
  "\t\t\t\t\t],",
  "\t\t\t\t\t\"req_info\":\t\t\t\t\t{",
  "\t\t\t\t\t\t\"request_start\":1795474789",
  "\t\t\t\t\t}",
  "\t\t\t\t}",
  "\t\t\t]",
  "\t\t}",
  "\t]",
  "}",
].join('\n');

/** One worker with two cores (--threads 2), idle, minified. */
const UWSGI_MINIFIED = "{\"version\":\"2.0.21-debian\",\"listen_queue\":0,\"listen_queue_errors\":0,\"signal_queue\":0,\"load\":0,\"pid\":6672,\"uid\":0,\"gid\":0,\"cwd\":\"/tmp/statsdev/oracle\",\"locks\":[{\"user 0\":0},{\"signal\":0},{\"filemon\":0},{\"timer\":0},{\"rbtimer\":0},{\"cron\":0},{\"rpc\":0},{\"snmp\":0}],\"sockets\":[{\"name\":\"127.0.0.1:19092\",\"proto\":\"http\",\"queue\":0,\"max_queue\":100,\"shared\":0,\"can_offload\":0}],\"workers\":[{\"id\":1,\"pid\":6681,\"accepting\":1,\"requests\":0,\"delta_requests\":0,\"exceptions\":0,\"harakiri_count\":0,\"signals\":0,\"signal_queue\":0,\"status\":\"idle\",\"rss\":0,\"vsz\":0,\"running_time\":0,\"last_spawn\":1795474800,\"respawn_count\":1,\"tx\":0,\"avg_rt\":0,\"apps\":[{\"id\":0,\"modifier1\":0,\"mountpoint\":\"\",\"startup_time\":0,\"requests\":0,\"exceptions\":0,\"chdir\":\"\"}],\"cores\":[{\"id\":0,\"requests\":0,\"static_requests\":0,\"routed_requests\":0,\"offloaded_requests\":0,\"write_errors\":0,\"read_errors\":0,\"in_request\":0,\"vars\":[],\"req_info\":{}},{\"id\":1,\"requests\":0,\"static_requests\":0,\"routed_requests\":0,\"offloaded_requests\":0,\"write_errors\":0,\"read_errors\":0,\"in_request\":0,\"vars\":[],\"req_info\":{}}]}]}";

test('pretty output is byte-identical to uWSGI, in-request vars and req_info included', () => {
  const snapshot = readStatsJson(UWSGI_PRETTY_BUSY);
  assert.equal(snapshot.workers[1]?.cores[0]?.inRequest, true);
  assert.equal(snapshot.workers[1]?.cores[0]?.vars.length, 13);
  assert.equal(renderStatsJson(snapshot), UWSGI_PRETTY_BUSY);
});

test('minified output is byte-identical to uWSGI --stats-minified', () => {
  assert.equal(renderStatsJson(readStatsJson(UWSGI_MINIFIED), { minified: true }), UWSGI_MINIFIED);
});

test('minified output is the pretty document without its whitespace', () => {
  const snapshot = readStatsJson(UWSGI_PRETTY_BUSY);
  assert.equal(renderStatsJson(snapshot, { minified: true }), JSON.stringify(JSON.parse(UWSGI_PRETTY_BUSY)));
});

test('--stats-no-cores leaves out the cores list and nothing else', () => {
  const snapshot = readStatsJson(UWSGI_PRETTY_BUSY);
  const doc = JSON.parse(renderStatsJson(snapshot, { noCores: true })) as { workers: Array<Record<string, unknown>> };
  for (const worker of doc.workers) {
    assert.equal('cores' in worker, false);
    assert.ok(Array.isArray(worker['apps']));
  }
});

test('names and paths are escaped, so the document stays valid JSON (uWSGI writes them raw)', () => {
  const snapshot = readStatsJson(UWSGI_MINIFIED);
  snapshot.cwd = '/srv/we"ird\\dir\twith\u0001control';
  snapshot.sockets[0]!.name = '/run/"app".sock';
  const core = snapshot.workers[0]!.cores[0]!;
  core.inRequest = true;
  core.requestStart = 1795474789;
  core.vars = ['QUERY_STRING=a="b"', 'HTTP_X=\r\n'];
  for (const minified of [false, true]) {
    const back = readStatsJson(renderStatsJson(snapshot, { minified }));
    assert.equal(back.cwd, snapshot.cwd);
    assert.equal(back.sockets[0]?.name, '/run/"app".sock');
    assert.deepEqual(back.workers[0]?.cores[0]?.vars, core.vars);
    assert.equal(back.workers[0]?.cores[0]?.requestStart, 1795474789);
  }
});

test("numbers print as uWSGI's unsigned integers: no fractions, no negatives", () => {
  const snapshot = readStatsJson(UWSGI_MINIFIED);
  const worker = snapshot.workers[0]!;
  worker.avgRtUs = 1234.9;
  worker.rss = -5;
  worker.tx = Number.NaN;
  const text = renderStatsJson(snapshot, { minified: true });
  assert.match(text, /"avg_rt":1234[,}]/);
  assert.match(text, /"rss":0,/);
  assert.match(text, /"tx":0,/);
});

test('a document that is not stats JSON is a typed error', () => {
  assert.throws(() => readStatsJson('nope'), (err: unknown) => err instanceof NuwsgiError && err.code === 'E_STATS_FORMAT');
  assert.throws(() => readStatsJson('{"version":1}'), (err: unknown) => err instanceof NuwsgiError && err.code === 'E_STATS_FORMAT');
});
