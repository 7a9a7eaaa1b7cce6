/**
 * The byte contract between the ASGI runner (Node) and the loop thread
 * (python/_nuwsgi_asgi.py): 4-byte commands in, 4-byte events out. Both are
 * written with one write(2) of 4 bytes, atomic on a pipe (< PIPE_BUF), but a
 * read may still end mid-record: EventReader keeps the remainder.
 */

/** Commands (`<BBH`: command, 0, slot). */
export const ASGI_CMD = {
  HANDLE: 1,
  PULL: 2,
  ABORT: 3,
  SHUTDOWN: 4,
  /** The slot's body area holds the answer to its EV_RECEIVE. */
  BODY: 5,
  /** The client closed or half-closed: receive() after the body says http.disconnect. */
  GONE: 6,
  /** The early hints of the slot's EV_HINT went to the client (or were dropped): the app's send() returns. */
  HINTED: 7,
} as const;

/** Events (`<HBB`: slot, event, 0). */
export const ASGI_EV = {
  /** The slot's region holds the answer to its last command. */
  ANSWER: 1,
  /** The app's task for the slot is over. */
  FREE: 2,
  /** Lifespan shutdown is over (slot 0). */
  STOPPED: 3,
  /** The app awaits receive(): Node answers with the next piece of the streamed body (CMD_BODY). */
  RECEIVE: 4,
  /**
   * http.response.early_hint: the slot's region holds a framed 103 response
   * (`<I` length at 0, the bytes at 4); Node writes it if the response has not
   * started, then answers CMD_HINTED. The region is free for it: the request
   * was read at HANDLE and the answer comes only after.
   */
  HINT: 5,
} as const;

/**
 * An answer of kind Error whose status is GONE_STATUS: the client left before
 * any response and the app stopped (nothing to write). Logged as 499, nginx's
 * "client closed request"; GONE_RAISED in its flags: the app raised (its
 * traceback is in the log) rather than returned.
 */
export const GONE_STATUS = 499;
export const GONE_RAISED = 1;

/** Where EV_HINT's bytes are in the slot's region. */
export const HINT_AT = 4;

/**
 * The body area: the last BODY_AREA bytes of a slot's region, where Node puts
 * a piece of a streamed request body (`<II`: BODY_* kind, length; then the
 * bytes). Python keeps complete responses out of it (a slot core's capacity
 * is its region minus this).
 */
export const BODY_AREA = 64 * 1024 + 8;
export const BODY_PIECE = BODY_AREA - 8;
export const BODY_KIND = { MORE: 0, LAST: 1, GONE: 2 } as const;

/** Slot ids travel as u16. */
export const MAX_SLOTS = 65535;

export function encodeCommand(command: number, slot: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out[0] = command;
  out[1] = 0;
  out.writeUInt16LE(slot, 2);
  return out;
}

/** Splits the completion pipe's bytes into (slot, event) records, whatever the read boundaries. */
const EMPTY = Buffer.alloc(0);

export class EventReader {
  private carry: Buffer = EMPTY;
  private readonly onEvent: (slot: number, event: number) => void;

  constructor(onEvent: (slot: number, event: number) => void) {
    this.onEvent = onEvent;
  }

  push(data: Buffer): void {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data;
    const usable = bytes.length - (bytes.length % 4);
    for (let i = 0; i < usable; i += 4) this.onEvent(bytes.readUInt16LE(i), bytes[i + 2] as number);
    this.carry = usable === bytes.length ? EMPTY : Buffer.from(bytes.subarray(usable)); // no allocation per read
  }
}
