// The in-process parser fuzzer (test/fuzz/, `npm run fuzz`) run briefly with
// a fixed seed, so the tool cannot rot and the parsers keep their invariants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInput, runParserFuzz } from '../fuzz/parser-fuzz';
import { Rng } from '../fuzz/mutate';
import { readResponses } from '../fuzz/response-stream';

test('60 inputs of parser fuzzing (seed 20261201) find no failure', () => {
  // A fixed amount of work, not a fixed time: on a loaded machine two seconds held as few as 20 inputs.
  const stats = runParserFuzz({ seed: 20261201, durationMs: 120_000, maxInputs: 60 });
  const failures = stats.failures.map((f) => `${f.protocol}: ${f.problem}\n${JSON.stringify(f.input.toString('latin1'))}`);
  assert.deepEqual(failures, []);
  assert.ok(stats.inputs.http > 20 && stats.inputs.uwsgi > 10, `too few inputs: ${JSON.stringify(stats.inputs)}`);
  assert.ok(Object.keys(stats.outcomes).some((k) => /^http \d request/.test(k)), 'some inputs parse as valid requests');
});

test('the split check sees a smuggling pair as one request plus an error, at every split', () => {
  const input = Buffer.from('POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'latin1');
  const { outcome, problem } = checkInput('http', input, new Rng(1));
  assert.equal(problem, null);
  assert.equal(outcome.error?.status, 400);
});

test('the response reader flags split and malformed responses', () => {
  const ok = readResponses(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n'), true);
  assert.equal(ok.malformed, null);
  assert.deepEqual(ok.responses.map((r) => r.status), [200, 404]);
  const cases = [
    'HTTP/1.1 200 OK\n\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A\n: v\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokextra',
    'HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\r\nX-Injected: 1\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
  ];
  for (const wire of cases) assert.notEqual(readResponses(Buffer.from(wire, 'latin1'), true).malformed, null, JSON.stringify(wire));
});
