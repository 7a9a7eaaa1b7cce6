/**
 * WebSocket close status codes (RFC 6455 §7.4, IANA "WebSocket Close Code
 * Number Registry").
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Reserved: never on the wire; "no status code was present" (report it to the app, never send it). */
  NO_STATUS_RECEIVED: 1005,
  /** Reserved: never on the wire; "the connection closed without a Close frame". */
  ABNORMAL_CLOSURE: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  /** Sent by clients only (the server did not negotiate an extension they need). */
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  /** IANA: the server is restarting (a worker draining for a reload); the client may reconnect. */
  SERVICE_RESTART: 1012,
  /** IANA: temporary overload; try again later. */
  TRY_AGAIN_LATER: 1013,
  /** IANA: a gateway got an invalid response from upstream. */
  BAD_GATEWAY: 1014,
  /** Reserved: never on the wire; TLS handshake failure. */
  TLS_HANDSHAKE: 1015,
} as const;

/**
 * Whether `code` may appear in a Close frame (received or sent).
 *
 * Valid: 1000-1003 and 1007-1011 (RFC 6455 §7.4.1), 1012-1014 (registered
 * with IANA since: service restart, try again later, bad gateway; the ws and
 * websockets libraries accept them, and the Autobahn testsuite stopped
 * counting them as invalid), and 3000-4999 (registered libraries / private
 * use). Invalid: below 1000, 1004 (reserved), 1005/1006/1015 (reserved for
 * reports, never sent), 1016-2999 (unassigned) and 5000 up.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}
