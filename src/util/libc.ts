import type * as KoffiModule from 'koffi' with { 'resolution-mode': 'import' };

// koffi ships one ESM-flavoured .d.ts for both builds; we load its CommonJS
// build and borrow the types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const koffi = require('koffi') as typeof KoffiModule;

/** The few libc calls Node does not expose. Loaded on first use. */
export interface Libc {
  listen(fd: number, backlog: number): number;
  malloc(size: number): unknown;
  free(ptr: unknown): void;
  /** mkfifo(3): 0 or -1 (then errno()); Node has no API for named pipes. */
  mkfifo(path: string, mode: number): number;
  errno(): number;
  memfd_create(name: string, flags: number): number;
  mmap(addr: null, length: number, prot: number, flags: number, fd: number, offset: number): unknown;
  /** strerror(3): the C library's own wording ("No such file or directory"), which uWSGI's messages use. */
  strerror(errnum: number): string;
}

let cached: Libc | undefined;

export function libc(): Libc {
  if (cached !== undefined) return cached;
  const lib = koffi.load('libc.so.6');
  cached = {
    listen: lib.func('int listen(int, int)'),
    malloc: lib.func('void* malloc(size_t)'),
    free: lib.func('void free(void*)'),
    mkfifo: lib.func('int mkfifo(const char*, uint32_t)'),
    errno: () => koffi.errno(),
    memfd_create: lib.func('int memfd_create(const char*, unsigned int)'),
    mmap: lib.func('void* mmap(void*, size_t, int, int, int, intptr_t)'),
    strerror: lib.func('const char* strerror(int)'),
  };
  return cached;
}

/** strerror(3)'s words for a failed Node fs/process call ("No such file or directory"), as uWSGI prints them. */
export function errnoWords(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' ? libc().strerror(-errno) : (err as Error).message;
}
