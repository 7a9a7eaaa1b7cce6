/**
 * The open-file limit a server runs with. A login shell's soft limit is often
 * 1024 while the hard limit allows far more; a server that kept the soft one
 * would run out of descriptors at ~1000 clients although nothing stops it from
 * having more. Node itself raises its soft limit to the hard one when it
 * starts (uWSGI does not), so every nuwsgi process already has that;
 * `--max-fd N` sets soft and hard to N, as uWSGI's does (raising the hard
 * limit needs root). Workers inherit the master's limit.
 */
import { koffi, libc } from './libc';

const RLIMIT_NOFILE = 7;

export interface FdLimit {
  soft: number;
  hard: number;
}

interface RlimitCalls {
  getrlimit(resource: number, limit: { rlim_cur: bigint | number; rlim_max: bigint | number }): number;
  setrlimit(resource: number, limit: { rlim_cur: bigint | number; rlim_max: bigint | number }): number;
}

let calls: RlimitCalls | undefined;

function rlimitCalls(): RlimitCalls {
  if (calls !== undefined) return calls;
  const lib = koffi.load('libc.so.6');
  koffi.struct('nuwsgi_rlimit', { rlim_cur: 'uint64_t', rlim_max: 'uint64_t' }); // named for the prototypes below
  calls = {
    getrlimit: lib.func('int getrlimit(int, _Out_ nuwsgi_rlimit*)'),
    setrlimit: lib.func('int setrlimit(int, const nuwsgi_rlimit*)'),
  };
  return calls;
}

/** RLIM_INFINITY and anything past 2^53 read as Infinity. */
function toNumber(v: bigint | number): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  return n >= Number.MAX_SAFE_INTEGER ? Infinity : n;
}

export function readFdLimit(): FdLimit | undefined {
  const out = { rlim_cur: 0, rlim_max: 0 };
  if (rlimitCalls().getrlimit(RLIMIT_NOFILE, out) !== 0) return undefined;
  return { soft: toNumber(out.rlim_cur), hard: toNumber(out.rlim_max) };
}

function setFdLimit(soft: number, hard: number): string | undefined {
  const toC = (n: number): bigint => (n === Infinity ? 0xffffffffffffffffn : BigInt(n));
  if (rlimitCalls().setrlimit(RLIMIT_NOFILE, { rlim_cur: toC(soft), rlim_max: toC(hard) }) === 0) return undefined;
  return libc().strerror(libc().errno());
}

/**
 * Applies --max-fd and logs uWSGI's "detected max file descriptor number"
 * line with the limit in force.
 */
export function applyFdLimit(maxFd: number | undefined, log: (line: string) => void): FdLimit | undefined {
  const before = readFdLimit();
  if (before === undefined) return undefined;
  if (maxFd !== undefined && maxFd > 0) {
    const error = setFdLimit(maxFd, maxFd);
    if (error !== undefined) log(`setrlimit(): ${error} (--max-fd ${maxFd})`);
  }
  const now = readFdLimit() ?? before;
  log(`detected max file descriptor number: ${now.soft === Infinity ? 'unlimited' : now.soft}`);
  return now;
}
