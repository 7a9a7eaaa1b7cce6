// The response framing lives in two languages: python/_nuwsgi.py packs it,
// src/worker/python/meta.ts reads it. This pins one to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server';
import { CMD_ABORT, CMD_HANDLE, CMD_PULL, DATA_ADDRESS, DATA_LENGTH, FLAG_APP_CHUNKED, FLAG_BODY_RETURNED, FLAG_CONNECTION_CLOSE, HEADER_SIZE, META_FIELDS, ResponseKind } from '../../src/worker/python/meta';

const loader = (): string => readFileSync(join(repoRoot(), 'python', '_nuwsgi.py'), 'utf8');

function pyConstant(name: string): number {
  const m = new RegExp(`^${name} = (\\d+)`, 'm').exec(loader());
  assert.ok(m !== null, `${name} in _nuwsgi.py`);
  return Number(m[1]);
}

/** Offsets and types of a little-endian struct format ("<IIq"): no padding with "<". */
function structFields(name: string, start: number): Array<[number, 'u32' | 'i64']> {
  const m = new RegExp(`^${name} = struct\\.Struct\\("<([A-Za-z]+)"\\)`, 'm').exec(loader());
  assert.ok(m !== null, `${name} in _nuwsgi.py`);
  const fields: Array<[number, 'u32' | 'i64']> = [];
  let offset = start;
  for (const c of m[1] as string) {
    assert.ok(c === 'I' || c === 'q', `format char ${c} is one meta.ts reads`);
    fields.push([offset, c === 'I' ? 'u32' : 'i64']);
    offset += c === 'I' ? 4 : 8;
  }
  return fields;
}

test('the meta header packed by _HEADER and _DATA is the one meta.ts reads, field by field', () => {
  const packed = [...structFields('_HEADER', 0), ...structFields('_DATA', DATA_ADDRESS)];
  assert.deepEqual(
    packed,
    META_FIELDS.map(([, offset, type]) => [offset, type]),
  );
  assert.equal(DATA_LENGTH, DATA_ADDRESS + 8);
  const last = META_FIELDS[META_FIELDS.length - 1] as (typeof META_FIELDS)[number];
  assert.equal(HEADER_SIZE, last[1] + 8, 'the head starts right after the last field');
  assert.equal(pyConstant('HEADER_SIZE'), HEADER_SIZE);
});

test('the docstring layout names the same offsets', () => {
  const doc = [...loader().matchAll(/^ {4}offset (\d+) +(u32|i64) /gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(doc, META_FIELDS.map(([, offset, type]) => [offset, type]));
  assert.match(loader(), new RegExp(`^ {4}offset ${HEADER_SIZE} +head bytes`, 'm'));
});

test('kinds, flags and core commands agree', () => {
  assert.equal(pyConstant('KIND_COMPLETE'), ResponseKind.Complete);
  assert.equal(pyConstant('KIND_STREAM'), ResponseKind.Stream);
  assert.equal(pyConstant('KIND_ERROR'), ResponseKind.Error);
  assert.equal(pyConstant('KIND_FILE'), ResponseKind.File);
  assert.equal(pyConstant('KIND_END'), ResponseKind.End);
  assert.equal(pyConstant('KIND_BROKEN'), ResponseKind.Broken);
  assert.equal(pyConstant('FLAG_CONNECTION_CLOSE'), FLAG_CONNECTION_CLOSE);
  assert.equal(pyConstant('FLAG_APP_CHUNKED'), FLAG_APP_CHUNKED);
  assert.equal(pyConstant('FLAG_BODY_RETURNED'), FLAG_BODY_RETURNED);
  assert.equal(pyConstant('CMD_HANDLE'), CMD_HANDLE);
  assert.equal(pyConstant('CMD_PULL'), CMD_PULL);
  assert.equal(pyConstant('CMD_ABORT'), CMD_ABORT);
});
