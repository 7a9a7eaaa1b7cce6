/**
 * The byte contract of ASGI WebSockets between Node (websocket-session.ts)
 * and the loop thread (python/_nuwsgi_asgi_ws.py, whose docstring describes
 * the flow). Commands and events travel on the ASGI runner's pipes as its
 * own do (protocol.ts); WebSocket ones are numbered from 16 so that HTTP
 * commands can grow below them. Messages travel through the slot's region,
 * one at a time in each direction:
 *
 *   OUT (Python -> Node) at 0:   u32 kind, u32 code, u32 flags; the data by
 *                                address at 48/56, as answers carry it
 *   IN  (Node -> Python) at 64:  u32 kind, u32 code, u32 flags, u32 length;
 *                                the data at 128
 */

export const WS_CMD = {
  /** The region holds the request (as for HANDLE): start the app with a websocket scope; TAKEN once it is read. */
  CONNECT: 16,
  /** The IN header and data hold a message, a piece of one (FLAG_MORE), or the disconnect. */
  RECEIVE: 17,
  /** Node has written the OUT message (and the socket drained): the next may go; a send() waiting for it returns. */
  SENT: 18,
} as const;

export const WS_EV = {
  /** The OUT header holds a message from the app. */
  OUT: 16,
  /** The request (CONNECT) is read, the IN piece is copied, or the message was taken by receive(): the next may go. */
  TAKEN: 17,
} as const;

/** OUT kinds: what the app sent. */
export const WS_OUT = {
  /** Data: the subprotocol (may be empty), CRLF, then "Name: value\r\n" lines. */
  ACCEPT: 1,
  TEXT: 2,
  BYTES: 3,
  /** code = the close code; data = the reason, UTF-8. */
  CLOSE: 4,
  /** websocket.close before accept, or websocket.http.response.start: "403 Forbidden\r\nName: value\r\n...". */
  HTTP_HEAD: 5,
  /** websocket.http.response.body; FLAG_MORE when more follows. */
  HTTP_BODY: 6,
  /** The app failed: 500 before the handshake, close 1011 after. */
  ERROR: 7,
} as const;

/** IN kinds: what the client sent. */
export const WS_IN = { TEXT: 1, BYTES: 2, DISCONNECT: 3 } as const;

export const WS_FLAG_MORE = 1;

export const WS_OUT_HEADER = 0;
export const WS_IN_HEADER = 64;
export const WS_IN_DATA = 128;
