import v8 from 'node:v8';
import vm from 'node:vm';
import { koffi } from './libc';

/**
 * The two ways a process gives memory back: a full V8 collection (what only
 * JS wrappers kept alive is freed) and malloc_trim(3) (glibc returns freed
 * pages it would otherwise keep in its arenas). Used by the worker after
 * startup and after bursts of big bodies (src/worker/memory-trim.ts) and by
 * the master under worker churn (src/master/reclaim.ts).
 */

export type Gc = (options?: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => Promise<void> | undefined;
let gc: Gc | null | undefined;

/**
 * V8's gc(): the global one where the process was started with --expose-gc
 * (workers are, src/util/node-flags.ts), else made reachable from a new
 * context (which itself keeps ~0.5 MB, so only as a fallback, made once).
 */
export function fullGc(): Gc | null {
  if (gc !== undefined) return gc;
  const global = (globalThis as { gc?: Gc }).gc;
  if (typeof global === 'function') return (gc = global);
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as Gc;
  } catch {
    gc = null;
  }
  return gc;
}

/**
 * A full collection whose garbage is back in malloc when this returns; false
 * where there is no gc(). One gc() is not enough: V8 frees the backing stores
 * of the dead ArrayBuffers (every Buffer's bytes: socket reads, body chunks)
 * on a helper thread after the collection returns (concurrent array-buffer
 * sweeping), so a malloc_trim(3) right after it missed them. Measured after
 * 300 uploads (asgi-bodies.test.ts): 32-56 MiB of Buffers still allocated
 * when gc() returned, gone 50 ms later, and kept resident by glibc until the
 * next trim. A second collection starts by finishing the first one's sweep
 * (it waits for the helper or does the rest itself): then all of it is freed.
 * It finds nothing new to collect, so on an idle worker's small heap it costs
 * a few milliseconds.
 */
export function collectAllGarbage(): boolean {
  const collect = fullGc();
  if (collect === null) return false;
  collect();
  collect();
  return true;
}

let trim: ((pad: number) => number) | null | undefined;

/** glibc's malloc_trim, or null where libc is not glibc. */
export function mallocTrim(): ((pad: number) => number) | null {
  if (trim !== undefined) return trim;
  try {
    trim = koffi.load('libc.so.6').func('int malloc_trim(size_t)') as (pad: number) => number;
  } catch {
    trim = null; // not glibc
  }
  return trim;
}
