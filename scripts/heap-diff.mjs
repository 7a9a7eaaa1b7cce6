#!/usr/bin/env node
// `node scripts/heap-diff.mjs A.heapsnapshot B.heapsnapshot [N]`: objects
// counted by kind and constructor (code by function) in two V8 heap snapshots,
// and the N (default 30) biggest changes from A to B in bytes. What grew
// between two snapshots taken after a full GC is what is retained.
import { readFileSync } from 'node:fs';

function census(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const named = new Set(['object', 'closure', 'native', 'code', 'hidden']);
  const counts = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]];
    const key = named.has(type) ? `${type}: ${snap.strings[snap.nodes[i + nameAt]].slice(0, 80)}` : `(${type})`;
    const c = counts.get(key) ?? { count: 0, bytes: 0 };
    c.count++;
    c.bytes += snap.nodes[i + sizeAt];
    counts.set(key, c);
  }
  return counts;
}

const [a, b, n = '30'] = process.argv.slice(2);
if (b === undefined) {
  console.error('usage: node scripts/heap-diff.mjs A.heapsnapshot B.heapsnapshot [N]');
  process.exit(2);
}
const before = census(a);
const after = census(b);
const rows = [];
for (const key of new Set([...before.keys(), ...after.keys()])) {
  const x = before.get(key) ?? { count: 0, bytes: 0 };
  const y = after.get(key) ?? { count: 0, bytes: 0 };
  if (x.count !== y.count || x.bytes !== y.bytes) rows.push({ key, count: y.count - x.count, bytes: y.bytes - x.bytes, from: x.count, to: y.count });
}
rows.sort((p, q) => Math.abs(q.bytes) - Math.abs(p.bytes));
const total = (m) => [...m.values()].reduce((s, c) => s + c.bytes, 0);
console.log(`total self size: ${total(before)} -> ${total(after)} bytes (${total(after) - total(before) >= 0 ? '+' : ''}${total(after) - total(before)})`);
console.log('   count      bytes  objects      kind: constructor');
for (const r of rows.slice(0, Number(n))) console.log(`${String(r.count).padStart(8)} ${String(r.bytes).padStart(10)}  ${`${r.from}->${r.to}`.padEnd(12)} ${r.key}`);
