/**
 * Typed errors. Every error nuwsgi raises on purpose carries a stable code, so
 * callers (and tests) branch on `code`, never on message text.
 */
export type ErrorCode =
  | 'E_CONFIG' // a bad option value, unknown option under --strict, missing file...
  | 'E_CONFIG_UNKNOWN_OPTION'
  | 'E_CONFIG_INCLUDE'
  | 'E_CONFIG_SYNTAX' // a config file that cannot be parsed; an unterminated or nested if/for block
  | 'E_CONFIG_EXPANSION' // an @() that cannot be read or run, a $()/%() expansion that never ends
  | 'E_CONFIG_EXIT' // the configuration's own `exit` option was read (its value is the exit status)
  | 'E_PYTHON_NOT_FOUND' // the interpreter could not be run or located
  | 'E_PYTHON_NO_SHARED_LIB' // the interpreter has no libpython3.X.so
  | 'E_PYTHON_INIT' // libpython loaded but could not be initialized
  | 'E_APP_LOAD' // the WSGI app could not be imported (exit code 22, as uWSGI's need-app)
  | 'E_BIND' // a listening socket could not be bound
  | 'E_HTTP_BAD_REQUEST' // malformed HTTP/1.x request (400)
  | 'E_HTTP_HEADER_TOO_LARGE' // request line + header fields (or trailers) above the limit (431)
  | 'E_HTTP_URI_TOO_LONG' // the request line alone above the head limit (414)
  | 'E_HTTP_BODY_TOO_LARGE' // Content-Length or de-chunked body above the limit (413)
  | 'E_HTTP_VERSION' // a well-formed HTTP version other than 1.0/1.1, e.g. the HTTP/2 preface (505)
  | 'E_HTTP_TRANSFER_CODING' // a transfer coding other than chunked (501)
  | 'E_UWSGI_PACKET' // malformed uwsgi packet: null key, truncated var, too many vars, bad CONTENT_LENGTH
  | 'E_UWSGI_BLOCK_TOO_LARGE' // uwsgi datasize above buffer-size
  | 'E_UWSGI_EMPTY' // uwsgi packet with datasize 0
  | 'E_UWSGI_BODY_TOO_LARGE' // uwsgi CONTENT_LENGTH above the limit (413)
  | 'E_WEBSOCKET' // a WebSocket frame or handshake response that must not be sent (bad close code, header, control payload)
  | 'E_STATS_FORMAT' // a stats document that is not uWSGI's stats JSON
  | 'E_STATS_BIND' // the stats or metrics server address cannot be parsed or bound
  | 'E_FIFO' // the master FIFO cannot be created or opened
  | 'E_LOG_TARGET' // a --logto value that is neither a file nor a valid host:port (UDP), or an unresolvable host
  | 'E_LOG_OPEN' // a log file that cannot be opened, reopened or rotated (rename)
  | 'E_EMPEROR' // a bad emperor setup: an unknown monitor scheme, a missing vassals directory, tyrant mode without root
  | 'E_SD_NOTIFY' // NOTIFY_SOCKET names no usable socket, or sending to it failed
  | 'E_INTERNAL';

export class NuwsgiError extends Error {
  readonly code: ErrorCode;
  /** The exit status the CLI uses when this error ends the process. */
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, exitCode = 1) {
    super(message);
    this.name = 'NuwsgiError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Where a configuration value came from, for messages like "app.ini:12". */
export interface ConfigOrigin {
  file?: string; // undefined for argv / environment
  line?: number;
  source: 'argv' | 'env' | 'file' | 'default';
}

export class ConfigError extends NuwsgiError {
  readonly origin: ConfigOrigin | undefined;
  readonly option: string | undefined;

  constructor(message: string, origin?: ConfigOrigin, option?: string, code: ErrorCode = 'E_CONFIG', exitCode = 1) {
    super(code, formatConfigMessage(message, origin, option), exitCode);
    this.name = 'ConfigError';
    this.origin = origin;
    this.option = option;
  }
}

function formatConfigMessage(message: string, origin?: ConfigOrigin, option?: string): string {
  const where = origin?.file !== undefined ? `${origin.file}${origin.line !== undefined ? `:${origin.line}` : ''}: ` : '';
  const what = option !== undefined ? `option '${option}': ` : '';
  return `${where}${what}${message}`;
}
