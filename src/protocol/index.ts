/** The pure protocol layer: byte-stream parsers and CGI variable building. No I/O. */
export { ProtocolError } from './errors';
export {
  Http1Parser,
  MAX_CHUNK_SIZE_HEX_DIGITS,
  MAX_CHUNK_SIZE_LINE_BYTES,
  MAX_LEADING_EMPTY_LINES,
  type HttpHead,
  type HttpLimits,
  type HttpParserHandlers,
} from './http1';
export {
  UwsgiParser,
  UWSGI_DEFAULT_BUFFER_SIZE,
  UWSGI_DEFAULT_LIMITS,
  UWSGI_DEFAULT_MAX_VARS,
  encodeUwsgiPacket,
  indexUwsgiVars,
  parseUwsgiVars,
  UwsgiVars,
  uwsgiContentLength,
  uwsgiVarSlots,
  type UwsgiHead,
  type UwsgiLimits,
  type UwsgiParserHandlers,
} from './uwsgi';
export { httpHeadToCgiVars, percentDecodeLatin1, type ConnectionInfo } from './cgi';
