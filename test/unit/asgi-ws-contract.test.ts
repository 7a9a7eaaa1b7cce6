// ASGI WebSockets' byte contract lives in two languages: python/_nuwsgi_asgi_ws.py
// and src/worker/asgi/ws-contract.ts. This pins one to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server';
import { ASGI_CMD, ASGI_EV } from '../../src/worker/asgi/protocol';
import { WS_CMD, WS_EV, WS_FLAG_MORE, WS_IN, WS_IN_DATA, WS_IN_HEADER, WS_OUT } from '../../src/worker/asgi/ws-contract';
import { DATA_ADDRESS, HEADER_SIZE } from '../../src/worker/python/meta';

const source = (file: string): string => readFileSync(join(repoRoot(), 'python', file), 'utf8');

function pyConstant(name: string, file = '_nuwsgi_asgi_ws.py'): number {
  const m = new RegExp(`^${name} = (\\d+)`, 'm').exec(source(file));
  assert.ok(m !== null, `${name} in ${file}`);
  return Number(m[1]);
}

test('commands and events have the same numbers on both sides, above the HTTP ones', () => {
  assert.equal(pyConstant('CMD_WS_CONNECT'), WS_CMD.CONNECT);
  assert.equal(pyConstant('CMD_WS_RECEIVE'), WS_CMD.RECEIVE);
  assert.equal(pyConstant('CMD_WS_SENT'), WS_CMD.SENT);
  assert.equal(pyConstant('CMD_WS_FIRST', '_nuwsgi_asgi.py'), Math.min(...Object.values(WS_CMD)));
  assert.equal(pyConstant('EV_WS_OUT'), WS_EV.OUT);
  assert.equal(pyConstant('EV_WS_TAKEN'), WS_EV.TAKEN);
  assert.ok(Math.max(...Object.values(ASGI_CMD)) < WS_CMD.CONNECT);
  assert.ok(Math.max(...Object.values(ASGI_EV)) < WS_EV.OUT);
});

test('message kinds, flags and region offsets agree', () => {
  for (const [name, value] of Object.entries(WS_OUT)) assert.equal(pyConstant(`OUT_${name}`), value, name);
  for (const [name, value] of Object.entries(WS_IN)) assert.equal(pyConstant(`IN_${name}`), value, name);
  assert.equal(pyConstant('FLAG_MORE'), WS_FLAG_MORE);
  assert.equal(pyConstant('IN_HEADER'), WS_IN_HEADER);
  assert.equal(pyConstant('IN_DATA'), WS_IN_DATA);
  // OUT's data travels at the answers' address fields; IN stays clear of the whole meta header.
  assert.match(source('_nuwsgi_asgi_ws.py'), /_w\._DATA\.pack_into\(core\.mem, 48,/);
  assert.equal(DATA_ADDRESS, 48);
  assert.ok(WS_IN_HEADER >= HEADER_SIZE);
  assert.ok(WS_IN_DATA >= WS_IN_HEADER + 16);
});
