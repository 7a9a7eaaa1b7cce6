'use strict';
// A preload (`node -r scripts/memory-probe.cjs bin/nuwsgi ...`) that watches
// the memory of the process it is loaded into: the master or the emperor,
// never a worker (workers have _NUWSGI_WORKER_CONFIG) nor a vassal (the
// variables are removed before anything is spawned). Used by scripts/churn.mjs;
// see docs/fuzzing.md, "The master's memory under churn".
//
//   PROBE_OUT    JSON lines, one every PROBE_EVERY ms (default 5000): RSS,
//                anonymous memory, V8 heap, external, glibc's mallinfo2
//                (in use and free), active handles
//   PROBE_GC=1   a full GC before each line (shows what is retained)
//   PROBE_SNAPS  seconds (comma list) at which to write a heap snapshot into PROBE_DIR
//   PROBE_FINAL  second at which to log three lines: as is, after a full GC, after malloc_trim(0)
if (process.env._NUWSGI_WORKER_CONFIG === undefined && process.env.PROBE_OUT) {
  const fs = require('node:fs');
  const path = require('node:path');
  const v8 = require('node:v8');
  const vm = require('node:vm');
  const koffi = require('koffi');
  const env = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('PROBE_')) delete process.env[k];
  const libc = koffi.load('libc.so.6');
  const MallInfo2 = koffi.struct('mallinfo2_t', { arena: 'size_t', ordblks: 'size_t', smblks: 'size_t', hblks: 'size_t', hblkhd: 'size_t', usmblks: 'size_t', fsmblks: 'size_t', uordblks: 'size_t', fordblks: 'size_t', keepcost: 'size_t' });
  const mallinfo2 = libc.func('mallinfo2', MallInfo2, []);
  const mallocTrim = libc.func('int malloc_trim(size_t)');
  const seconds = (v) => (v ?? '').split(',').filter(Boolean).map(Number);
  const t0 = Date.now();
  let gc = globalThis.gc;
  const fullGc = () => {
    if (gc === undefined) {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc');
    }
    gc();
  };
  const anonymous = () => Number(/^Anonymous:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? 0) * 1024;
  const sample = (tag, withGc) => {
    if (withGc) fullGc();
    const m = process.memoryUsage();
    const mi = mallinfo2();
    const line = { t: Date.now() - t0, rss: m.rss, anon: anonymous(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, mallocUsed: Number(mi.uordblks) + Number(mi.hblkhd), mallocFree: Number(mi.fordblks), handles: process._getActiveHandles().length };
    fs.appendFileSync(env.PROBE_OUT, JSON.stringify(tag === undefined ? line : { tag, ...line }) + '\n');
  };
  setInterval(() => sample(undefined, env.PROBE_GC === '1'), Number(env.PROBE_EVERY ?? 5000)).unref();
  for (const s of seconds(env.PROBE_SNAPS)) {
    setTimeout(() => {
      fullGc();
      v8.writeHeapSnapshot(path.join(env.PROBE_DIR ?? '.', `heap-${s}.heapsnapshot`));
    }, s * 1000).unref();
  }
  for (const s of seconds(env.PROBE_FINAL)) {
    setTimeout(() => {
      sample('as is', false);
      sample('full gc', true);
      mallocTrim(0);
      sample('gc+malloc_trim', false);
    }, s * 1000).unref();
  }
}
