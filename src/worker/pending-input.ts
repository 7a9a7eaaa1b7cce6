/**
 * Whether a connection has input waiting in the kernel that the loop has not
 * read yet. With threads = 1 the app runs on the loop, so after a long request
 * the deadline sweep (a timer: libuv runs timers before it polls) can reach an
 * idle connection whose next request arrived meanwhile; closing it then would
 * reset a request the client already sent.
 */
import { socketCalls } from '../util/socket-calls';

const MSG_PEEK = 0x2;
const MSG_DONTWAIT = 0x40;
const peekByte = Buffer.alloc(1);

/** True when at least one byte (not EOF) can be read from `fd` now; false for -1 (TLS: bytes go through Node's stream). */
export function inputWaiting(fd: number): boolean {
  if (fd < 0) return false;
  return socketCalls().recv(fd, peekByte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}
