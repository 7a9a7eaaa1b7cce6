/**
 * dup2(2), which Node does not expose. The log file must sit on fds 1 and 2
 * themselves, as uWSGI puts it there: the embedded CPython writes tracebacks
 * and print() output straight to those descriptors, not through Node.
 */
import { koffi } from '../util/libc';
import { NuwsgiError } from '../util/errors';

let dup2Fn: ((oldFd: number, newFd: number) => number) | undefined;

export function dup2(oldFd: number, newFd: number): void {
  if (dup2Fn === undefined) dup2Fn = koffi.load('libc.so.6').func('int dup2(int, int)') as (a: number, b: number) => number;
  if (dup2Fn(oldFd, newFd) < 0) throw new NuwsgiError('E_LOG_OPEN', `dup2(${oldFd}, ${newFd}) failed: errno ${koffi.errno()}`);
}
