import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventReader, encodeCommand, ASGI_CMD } from '../../src/worker/asgi/protocol';

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
