import v8 from 'node:v8';
import vm from 'node:vm';
import { koffi } from './libc';

/**
 * The ways a process gives memory back: a full V8 collection (what only
 * JS wrappers kept alive is freed), malloc_trim(3) (glibc returns freed
 * pages it would otherwise keep in its arenas), and dropPages (pages of
 * memory still allocated but idle). Used by the worker after startup and
 * after bursts of big bodies (src/worker/memory-trim.ts) and by the master
 * under worker churn (src/master/reclaim.ts).
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

/** madvise(2) advice: the pages go back to the system at once; the next touch maps zeroed ones. */
const MADV_DONTNEED = 4;

interface PageCalls {
  pageSize: bigint;
  madvise: (addr: bigint, length: number, advice: number) => number;
}
let pageCalls: PageCalls | null | undefined;

function loadPageCalls(): PageCalls | null {
  if (pageCalls !== undefined) return pageCalls;
  try {
    const lib = koffi.load('libc.so.6');
    const getpagesize = lib.func('int getpagesize(void)') as () => number;
    pageCalls = { pageSize: BigInt(getpagesize()), madvise: lib.func('int madvise(uintptr_t, size_t, int)') as PageCalls['madvise'] };
  } catch {
    pageCalls = null;
  }
  return pageCalls;
}

/**
 * Gives the whole pages inside `memory` back to the system (madvise
 * MADV_DONTNEED): they are no longer resident, and read as zeros when next
 * touched. For memory that stays allocated but whose content is no longer
 * needed (an idle ASGI slot's region). The partial pages at either end are
 * kept: they may hold the allocator's chunk headers. False where madvise is
 * not available.
 */
export function dropPages(memory: Buffer): boolean {
  const calls = loadPageCalls();
  if (calls === null) return false;
  const mask = calls.pageSize - 1n;
  const address = koffi.address(memory) as bigint;
  const start = (address + mask) & ~mask;
  const end = (address + BigInt(memory.length)) & ~mask;
  if (end > start) calls.madvise(start, Number(end - start), MADV_DONTNEED);
  return true;
}
