/** The WebSocket protocol layer (RFC 6455, RFC 7692): pure, no I/O, no timers. */
export { CloseCode, isValidCloseCode } from './close-codes';
export {
  MessageDeflater,
  MessageInflater,
  negotiatePerMessageDeflate,
  PERMESSAGE_DEFLATE,
  type InflateResult,
  type MessageDeflaterOptions,
  type MessageInflaterOptions,
  type PerMessageDeflateAgreement,
  type PerMessageDeflateParams,
  type PerMessageDeflateServerOptions,
} from './deflate';
export { isToken, parseExtensionsHeader, type ExtensionOffer } from './extensions';
export {
  allocFrame,
  applyMask,
  CLOSE_CODE_WHEN_ABSENT,
  encodeBinary,
  encodeClose,
  encodeFrame,
  encodeFrameHeader,
  encodeMessage,
  encodePing,
  encodePong,
  encodeText,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  truncateUtf8,
  type FrameOptions,
  type OpcodeValue,
} from './frame';
export {
  acceptKey,
  buildHandshakeErrorResponse,
  buildHandshakeResponse,
  isWebSocketUpgrade,
  validateUpgradeRequest,
  WEBSOCKET_GUID,
  type HandshakeResponseOptions,
  type UpgradeFailure,
  type UpgradeRequest,
  type UpgradeValidation,
} from './handshake';
export { WebSocketParser, type WebSocketParserOptions, type WebSocketParserStatus, type WsEvent } from './parser';
export { Utf8Validator } from './utf8';
