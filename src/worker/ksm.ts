/**
 * --ksm: offer the worker's anonymous memory to Linux's Kernel Samepage
 * Merging (madvise MADV_MERGEABLE), as uWSGI's uwsgi_linux_ksm_map does.
 * Workers of one app hold many identical pages (the interpreter's and the
 * app's objects after import, V8's builtins); where KSM runs
 * (/sys/kernel/mm/ksm/run = 1) the kernel merges them copy-on-write.
 *
 * uWSGI re-scans after every N requests; nuwsgi every N seconds (a timer that
 * never keeps the worker alive), and only when /proc/self/maps changed.
 */
import { readFileSync } from 'node:fs';
import { koffi } from '../util/libc';

const MADV_MERGEABLE = 12;
/** Private, writable, not backed by a file: the only mappings KSM takes. */
const ANONYMOUS_RW = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0(?:\s|$)/;

type Madvise = (addr: bigint, length: bigint, advice: number) => number;

let madvise: Madvise | undefined;

/** Marks every anonymous writable mapping mergeable; returns how many calls failed. */
export function markMergeable(maps: string): { marked: number; failed: number } {
  madvise ??= koffi.load('libc.so.6').func('int madvise(uintptr_t, size_t, int)') as Madvise;
  let marked = 0;
  let failed = 0;
  for (const line of maps.split('\n')) {
    const m = ANONYMOUS_RW.exec(line);
    if (m === null) continue;
    const start = BigInt(`0x${m[1] as string}`);
    const end = BigInt(`0x${m[2] as string}`);
    if (madvise(start, end - start, MADV_MERGEABLE) === 0) marked++;
    else failed++;
  }
  return { marked, failed };
}

export function startKsm(everySeconds: number, log: (line: string) => void): void {
  let last = '';
  const scan = (): void => {
    const maps = readFileSync('/proc/self/maps', 'latin1');
    if (maps === last) return;
    last = maps;
    const { marked, failed } = markMergeable(maps);
    if (marked === 0 && failed > 0) log('[uwsgi-KSM] unable to share pages');
  };
  scan();
  setInterval(scan, Math.max(1, everySeconds) * 1000).unref();
}
