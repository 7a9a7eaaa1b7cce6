import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server';
import { EventReader, encodeCommand, ASGI_CMD, ASGI_EV, HINT_AT } from '../../src/worker/asgi/protocol';

test('EventReader splits (slot, event) records at any read boundary', () => {
  const records = Buffer.from([1, 0, 1, 0, 0x2c, 0x01, 2, 0, 0xff, 0xff, 3, 0]);
  for (let split = 0; split <= records.length; split++) {
    for (let second = split; second <= records.length; second++) {
      const seen: Array<[number, number]> = [];
      const reader = new EventReader((slot, event) => seen.push([slot, event]));
      reader.push(records.subarray(0, split));
      reader.push(records.subarray(split, second));
      reader.push(records.subarray(second));
      assert.deepEqual(seen, [[1, 1], [300, 2], [65535, 3]], `split at ${split}/${second}`);
    }
  }
});

test('commands are 4 bytes: command, 0, slot (u16 LE), as _nuwsgi_asgi.py unpacks "<BBH"', () => {
  assert.deepEqual([...encodeCommand(ASGI_CMD.PULL, 258)], [2, 0, 2, 1]);
});

test('HTTP commands, events and the hint offset have the same numbers in python/_nuwsgi_asgi.py', () => {
  const source = readFileSync(join(repoRoot(), 'python', '_nuwsgi_asgi.py'), 'utf8');
  const py = (name: string): number => {
    const m = new RegExp(`^${name} = (\\d+)`, 'm').exec(source);
    assert.ok(m !== null, name);
    return Number(m[1]);
  };
  for (const [name, value] of Object.entries(ASGI_CMD)) assert.equal(py(`CMD_${name}`), value, `CMD_${name}`);
  for (const [name, value] of Object.entries(ASGI_EV)) assert.equal(py(`EV_${name}`), value, `EV_${name}`);
  // The hint's length at 0, its bytes at HINT_AT.
  assert.match(source, /struct\.pack_into\("<I", mem, 0, len\(data\)\)\n\s+mem\[4 : 4 \+ len\(data\)\] = data/);
  assert.equal(HINT_AT, 4);
});
