// A graceful stop must not reset connections a client has already sent its
// request on. Closing a listening socket resets whatever is in its accept
// queue, and a connection can complete its handshake in the moment between
// a worker's last accept(2) and its close(2) (on a busy machine the process
// can be preempted right there, for milliseconds). So at a stop the master
// first makes the socket ignore new connection attempts: a classic BPF
// socket filter drops segments that carry SYN without ACK, and nothing else.
// Handshakes already under way still complete (their ACK passes) and are
// accepted by the draining workers; a client whose SYN was dropped sends it
// again after a second, finds the socket closed and is refused, which a
// load balancer retries on the next server even for a POST.
import { koffi } from '../util/libc';

const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;

// struct sock_filter / struct sock_fprog (linux/filter.h).
const SockFilter = koffi.struct('nuwsgi_sock_filter', { code: 'uint16', jt: 'uint8', jf: 'uint8', k: 'uint32' });
const SockFprog = koffi.struct('nuwsgi_sock_fprog', { len: 'uint16', filter: koffi.pointer(SockFilter) });

/** The filter runs on the TCP header: byte 13 holds the flags. */
const DROP_BARE_SYN = [
  { code: 0x30, jt: 0, jf: 0, k: 13 }, // BPF_LD|BPF_B|BPF_ABS: A = flags
  { code: 0x54, jt: 0, jf: 0, k: 0x12 }, // BPF_ALU|BPF_AND|BPF_K: A &= SYN|ACK
  { code: 0x15, jt: 0, jf: 1, k: 0x02 }, // BPF_JMP|BPF_JEQ|BPF_K: SYN alone?
  { code: 0x06, jt: 0, jf: 0, k: 0 }, // BPF_RET: drop
  { code: 0x06, jt: 0, jf: 0, k: 0xffffffff }, // BPF_RET: keep the whole segment
];

type SetSockOpt = (fd: number, level: number, name: number, prog: { len: number; filter: typeof DROP_BARE_SYN }, size: number) => number;
let setsockopt: SetSockOpt | null | undefined;

/**
 * Attach the filter to a listening TCP socket; false when it cannot be
 * (the stop then works as before, with the small window described above).
 */
export function ignoreNewConnections(fd: number): boolean {
  if (setsockopt === undefined) {
    try {
      setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, _In_ nuwsgi_sock_fprog *, uint32_t)') as SetSockOpt;
    } catch {
      setsockopt = null;
    }
  }
  if (setsockopt === null) return false;
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: DROP_BARE_SYN.length, filter: DROP_BARE_SYN }, koffi.sizeof(SockFprog)) === 0;
}
