import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affinityCpus } from '../../src/worker/cpu-affinity';

test('--cpu-affinity: CPUs per worker as uWSGI maps them (observed on Debian uWSGI 2.0.21, 2 CPUs)', () => {
  // uwsgi --processes 3 --cpu-affinity 1: "mapping worker 1 to CPUs: 0", "... 2 ...: 1", "... 3 ...: 0"
  assert.deepEqual([1, 2, 3].map((id) => affinityCpus(id, 1, 2)), [[0], [1], [0]]);
  // uwsgi --processes 2 --cpu-affinity 3: "mapping worker 1 to CPUs: 0 1 0", "mapping worker 2 to CPUs: 1 0 1"
  assert.deepEqual(affinityCpus(1, 3, 2), [0, 1, 0]);
  assert.deepEqual(affinityCpus(2, 3, 2), [1, 0, 1]);
  // 8 CPUs, 2 each: workers take consecutive pairs, the fifth starts over.
  assert.deepEqual([1, 2, 4, 5].map((id) => affinityCpus(id, 2, 8)), [[0, 1], [2, 3], [6, 7], [0, 1]]);
  assert.deepEqual(affinityCpus(1, 1, 1), [0]);
});
