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
  /** Reserved: never on the wire; TLS handshake failure. */
  TLS_HANDSHAKE: 1015,
} as const;

/**
 * Whether `code` may appear in a Close frame (received or sent).
 *
 * Valid: 1000-1003, 1007-1011 (the assigned codes that may be sent), and
 * 3000-4999 (registered libraries / private use). Invalid: below 1000, 1004
 * (reserved), 1005/1006/1015 (reserved for reports, never sent), 1012-2999
 * (unassigned or reserved for future RFCs) and 5000 up. 1012-1014 were later
 * assigned by IANA (service restart, try again later, bad gateway) but are not
 * in RFC 6455; Autobahn (7.9.x) expects them to be refused with 1002, like
 * the ws and websockets libraries do.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1011) return true;
  return code >= 3000 && code <= 4999;
}
