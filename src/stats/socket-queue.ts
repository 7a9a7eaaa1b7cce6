/**
 * How many connections wait in a listening socket's accept queue, asked of the
 * socket itself, as uWSGI does: the cost is a syscall or two per socket, not a
 * pass over every socket of the host (/proc/net/tcp and /proc/net/unix grow
 * with the host's connections: 15k lines cost the master 2.5% of a core and
 * up to 150 MB of RSS a second).
 *
 * - TCP: getsockopt(TCP_INFO) on the listener; for a LISTEN socket the kernel
 *   puts the queue in tcpi_unacked (and the backlog in tcpi_sacked).
 * - UNIX: no socket option has it; sock_diag (the netlink interface `ss` uses)
 *   answers for one socket by its inode with UNIX_DIAG_RQLEN, whose rqueue is
 *   the queue of a listener.
 *
 * Either returns undefined when the kernel does not say (another OS, sock_diag
 * not built in): the caller shows 0, as uWSGI does for UNIX sockets.
 */
import { fstatSync } from 'node:fs';
import { socketCalls } from '../util/socket-calls';

export interface QueueRef {
  kind: 'tcp' | 'unix';
  /** The listening descriptor, held by this process. */
  fd: number;
}

/** The accept queue of each listener (undefined where the kernel does not say). */
export function readListenQueues(refs: readonly QueueRef[]): Array<number | undefined> {
  return refs.map((ref) => (ref.kind === 'tcp' ? tcpListenQueue(ref.fd) : unixListenQueue(ref.fd)));
}

const SOL_TCP = 6;
const TCP_INFO = 11;
/** struct tcp_info: 8 one-byte fields, then u32 rto, ato, snd_mss, rcv_mss, unacked. */
const TCPI_UNACKED_OFFSET = 24;
const TCP_INFO_SIZE = 104;

export function tcpListenQueue(fd: number): number | undefined {
  const info = Buffer.alloc(TCP_INFO_SIZE);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(TCP_INFO_SIZE);
  if (socketCalls().getsockopt(fd, SOL_TCP, TCP_INFO, info, length) !== 0) return undefined;
  if (length.readUInt32LE() < TCPI_UNACKED_OFFSET + 4) return undefined;
  return info.readUInt32LE(TCPI_UNACKED_OFFSET);
}

// Netlink and sock_diag constants (linux/netlink.h, linux/sock_diag.h, linux/unix_diag.h).
const AF_NETLINK = 16;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 1;
const NLMSG_HDR = 16;
const UNIX_DIAG_REQ = 24;
const UNIX_DIAG_MSG = 16;
const UDIAG_SHOW_RQLEN = 0x10;
const UNIX_DIAG_RQLEN = 4;
const ALL_STATES = 0xffffffff;
const NO_COOKIE = 0xffffffff;

/** One exact sock_diag query for the UNIX socket with this descriptor's inode. */
export function unixListenQueue(fd: number): number | undefined {
  let inode: number;
  try {
    inode = fstatSync(fd).ino;
  } catch {
    return undefined;
  }
  const c = socketCalls();
  const nl = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return undefined;
  try {
    const request = unixDiagRequest(inode);
    if (c.send(nl, request, request.length, 0) !== request.length) return undefined;
    const reply = Buffer.alloc(1024);
    const n = c.recv(nl, reply, reply.length, 0);
    return n > 0 ? parseUnixDiagReply(reply.subarray(0, n)) : undefined;
  } finally {
    c.close(nl);
  }
}

/** nlmsghdr + unix_diag_req asking for one inode's receive-queue lengths. */
export function unixDiagRequest(inode: number): Buffer {
  const b = Buffer.alloc(NLMSG_HDR + UNIX_DIAG_REQ);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  b.writeUInt16LE(NLM_F_REQUEST, 6);
  b.writeUInt32LE(1, 8); // sequence
  b.writeUInt32LE(0, 12); // port id: the kernel's
  b.writeUInt8(AF_UNIX, 16);
  b.writeUInt32LE(ALL_STATES, 20);
  b.writeUInt32LE(inode >>> 0, 24);
  b.writeUInt32LE(UDIAG_SHOW_RQLEN, 28);
  b.writeUInt32LE(NO_COOKIE, 32);
  b.writeUInt32LE(NO_COOKIE, 36);
  return b;
}

/** The rqueue of UNIX_DIAG_RQLEN in a SOCK_DIAG_BY_FAMILY reply; undefined for an error reply. */
export function parseUnixDiagReply(reply: Buffer): number | undefined {
  if (reply.length < NLMSG_HDR + UNIX_DIAG_MSG || reply.readUInt16LE(4) !== SOCK_DIAG_BY_FAMILY) return undefined;
  const end = Math.min(reply.length, reply.readUInt32LE(0));
  let off = NLMSG_HDR + UNIX_DIAG_MSG;
  while (off + 4 <= end) {
    const length = reply.readUInt16LE(off);
    if (length < 4) return undefined;
    if (reply.readUInt16LE(off + 2) === UNIX_DIAG_RQLEN && length >= 12) return reply.readUInt32LE(off + 4);
    off += (length + 3) & ~3;
  }
  return undefined;
}
