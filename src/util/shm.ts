import { ftruncateSync } from 'node:fs';
import { NuwsgiError } from './errors';
import { koffi, libc } from './libc';

const PROT_READ_WRITE = 0x3;
const MAP_SHARED = 0x1;
const MAP_FAILED = -1n;

/**
 * Memory shared by the master and its workers, as uWSGI's scoreboard: an
 * anonymous file (memfd) the master creates and the workers inherit as a
 * descriptor, mapped by each. No file is left behind, whatever happens.
 */
export function createSharedMemory(name: string, size: number): { fd: number; memory: Float64Array } {
  const fd = libc().memfd_create(name, 0);
  if (fd < 0) throw new NuwsgiError('E_INTERNAL', `memfd_create failed (errno ${libc().errno()})`);
  ftruncateSync(fd, size);
  return { fd, memory: mapSharedMemory(fd, size) };
}

/** Map an inherited shared-memory descriptor (in a worker). */
export function mapSharedMemory(fd: number, size: number): Float64Array {
  const ptr = libc().mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
  if (ptr === null || koffi.address(ptr) === BigInt.asUintN(64, MAP_FAILED)) {
    throw new NuwsgiError('E_INTERNAL', `mmap of the scoreboard failed (errno ${libc().errno()})`);
  }
  // Aligned 64-bit stores are single instructions on the platforms we run on:
  // a reader in another process sees the old value or the new one, never half.
  return new Float64Array(koffi.view(ptr, size));
}
