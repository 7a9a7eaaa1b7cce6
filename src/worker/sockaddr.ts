/**
 * getpeername(2)/getsockname(2) on a bare descriptor, formatted as Node's
 * handles format them (`address`, `port`): for connections that have no libuv
 * handle (transport.ts makes one only when a connection needs the event
 * loop). IPv6 text is inet_ntop's, as Node prints it (the first longest run
 * of zero words as "::", an IPv4-mapped or -compatible address with its
 * dotted quad; checked against net.SocketAddress in test/unit/sockaddr.test.ts).
 */
import os from 'node:os';
import { koffi } from '../util/libc';

export interface SockAddress {
  address?: string;
  port?: number;
}

type NameCall = (fd: number, addr: Buffer, len: Buffer) => number;

const AF_UNIX = 1;
export const AF_INET = 2;
const AF_INET6 = 10;
const STORAGE = Buffer.alloc(128); // sizeof(struct sockaddr_storage)
const LENGTH = Buffer.alloc(4);

let calls: { getpeername: NameCall; getsockname: NameCall } | null | undefined;

function nameCalls(): typeof calls {
  if (calls !== undefined) return calls;
  try {
    // The structs are read as little-endian below.
    if (os.endianness() !== 'LE') throw new Error('big-endian');
    const lib = koffi.load('libc.so.6');
    calls = {
      getpeername: lib.func('int getpeername(int, void*, void*)') as NameCall,
      getsockname: lib.func('int getsockname(int, void*, void*)') as NameCall,
    };
  } catch {
    calls = null;
  }
  return calls;
}

/**
 * The peer's or the local address of socket `fd`: {} for a unix socket (as
 * Node reports them) or a failed call; null when it cannot be told here (no
 * koffi, a link-local IPv6 address with a scope, which Node names by its
 * interface): the caller then asks a libuv handle.
 */
export function socketAddress(fd: number, which: 'getpeername' | 'getsockname'): SockAddress | null {
  const c = nameCalls();
  if (c === null || c === undefined) return null;
  LENGTH.writeUInt32LE(STORAGE.length, 0);
  if (c[which](fd, STORAGE, LENGTH) !== 0) return {};
  return parseSockaddr(STORAGE);
}

/**
 * A `struct sockaddr_storage` as getpeername(2) or accept4(2) filled it,
 * formatted as `socketAddress` answers (null: ask a libuv handle).
 */
export function parseSockaddr(storage: Buffer): SockAddress | null {
  const family = storage.readUInt16LE(0);
  if (family === AF_INET) return { address: `${storage[4]}.${storage[5]}.${storage[6]}.${storage[7]}`, port: storage.readUInt16BE(2) };
  if (family === AF_INET6) {
    const linkLocal = storage[8] === 0xfe && ((storage[9] as number) & 0xc0) === 0x80;
    if (linkLocal && storage.readUInt32LE(24) !== 0) return null;
    return { address: formatIpv6(storage, 8), port: storage.readUInt16BE(2) };
  }
  if (family === AF_UNIX) return {};
  return null;
}

/** An IPv4 address held as a 32-bit number (network order read big-endian), as dotted quads. */
export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** The 16 bytes at `at` as inet_ntop writes them. */
export function formatIpv6(b: Buffer, at: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(at + 2 * i));
  // The longest run of two or more zero words (the first of equals) becomes "::".
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) [bestBase, bestLen] = [curBase, curLen];
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const embedsIpv4 = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
    if (i === 6 && embedsIpv4) {
      out += `${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
      return out;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}
