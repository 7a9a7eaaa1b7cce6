/**
 * The opening handshake, server side (RFC 6455 §4.2).
 *
 * `validateUpgradeRequest` checks a request the HTTP parser produced; when it
 * fails, `buildHandshakeErrorResponse` makes the HTTP error to send before
 * closing. When it succeeds, the app (ASGI) decides: accept with
 * `buildHandshakeResponse`, or refuse (an HTTP 403 in ASGI terms).
 */
import { createHash } from 'node:crypto';
import { NuwsgiError } from '../../util/errors';
import { isToken, parseExtensionsHeader, type ExtensionOffer } from './extensions';
import { trimOws } from '../ascii';

/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only version this server speaks (RFC 6455 §4.1). */
const SUPPORTED_VERSION = '13';
/** base64 of 16 bytes: 22 characters and "==" (padding bits not checked, as the ws library). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function acceptKey(secWebSocketKey: string): string {
  return createHash('sha1').update(secWebSocketKey + WEBSOCKET_GUID, 'latin1').digest('base64');
}

type HeaderList = ReadonlyArray<readonly [string, string]>;

/** What of the request the handshake looks at; an `HttpHead` from the HTTP parser fits. */
export interface UpgradeRequest {
  method: string;
  /** "1.1" is required (RFC 6455 §4.1); absent: not checked. */
  version?: string;
  /** [name, value] pairs as received; names compared case-insensitively. */
  headers: HeaderList;
}

export interface UpgradeAccepted {
  ok: true;
  key: string;
  version: 13;
  /** Sec-WebSocket-Protocol tokens, in the client's order of preference. */
  subprotocols: string[];
  /** Every Sec-WebSocket-Extensions value, joined with ", "; for `negotiatePerMessageDeflate`. */
  extensionsHeader: string | undefined;
  /** The same, parsed. */
  extensions: ExtensionOffer[];
}

export interface UpgradeFailure {
  ok: false;
  /** 400 for a malformed handshake; 426 for a missing or unsupported Sec-WebSocket-Version. */
  status: 400 | 426;
  reason: string;
  /** Headers the error response must carry (426: Sec-WebSocket-Version: 13, §4.2.2). */
  headers: Array<[string, string]>;
}

export type UpgradeValidation = UpgradeAccepted | UpgradeFailure;

/** Whether a request asks for a WebSocket: its Upgrade header lists "websocket". */
export function isWebSocketUpgrade(headers: HeaderList): boolean {
  return listTokens(headerValues(headers, 'upgrade')).includes('websocket');
}

/**
 * Checks an opening handshake (RFC 6455 §4.2.1). Accepts the request as an
 * object with method/version/headers (an `HttpHead` fits) or a bare header
 * list, in which case the method and HTTP version are the caller's to check.
 */
export function validateUpgradeRequest(request: UpgradeRequest | HeaderList): UpgradeValidation {
  const headers = isHeaderList(request) ? request : request.headers;
  if (!isHeaderList(request)) {
    if (request.method !== 'GET') return badRequest(`WebSocket handshake with method ${request.method} (GET only)`);
    if (request.version !== undefined && request.version !== '1.1') {
      return badRequest(`WebSocket handshake over HTTP/${request.version} (HTTP/1.1 only)`);
    }
  }
  if (!isWebSocketUpgrade(headers)) return badRequest('Upgrade header does not list "websocket"');
  if (!listTokens(headerValues(headers, 'connection')).includes('upgrade')) {
    return badRequest('Connection header does not list "upgrade"');
  }
  const versions = headerValues(headers, 'sec-websocket-version');
  if (versions.length !== 1 || versions[0] !== SUPPORTED_VERSION) {
    return {
      ok: false,
      status: 426,
      reason: versions.length === 0 ? 'missing Sec-WebSocket-Version' : `unsupported Sec-WebSocket-Version (${versions.join(', ')})`,
      headers: [['Sec-WebSocket-Version', SUPPORTED_VERSION]],
    };
  }
  const keys = headerValues(headers, 'sec-websocket-key');
  if (keys.length !== 1 || !KEY_PATTERN.test(keys[0]!)) {
    return badRequest('Sec-WebSocket-Key must be one base64-encoded 16-byte value');
  }
  const subprotocols = readSubprotocols(headers);
  if (subprotocols === null) return badRequest('malformed Sec-WebSocket-Protocol');
  const extensionValues = headerValues(headers, 'sec-websocket-extensions');
  const extensionsHeader = extensionValues.length === 0 ? undefined : extensionValues.join(', ');
  const extensions = extensionsHeader === undefined ? [] : parseExtensionsHeader(extensionsHeader);
  if (extensions === null) return badRequest('malformed Sec-WebSocket-Extensions');
  return { ok: true, key: keys[0]!, version: 13, subprotocols, extensionsHeader, extensions };
}

/** Comma-separated tokens, no duplicates (§4.1: each one a token, §11.3.4); null when malformed. */
function readSubprotocols(headers: HeaderList): string[] | null {
  const result: string[] = [];
  for (const value of headerValues(headers, 'sec-websocket-protocol')) {
    for (const element of value.split(',')) {
      const protocol = trimOws(element);
      if (protocol === '') continue;
      if (!isToken(protocol) || result.includes(protocol)) return null;
      result.push(protocol);
    }
  }
  return result;
}

function badRequest(reason: string): UpgradeFailure {
  return { ok: false, status: 400, reason, headers: [] };
}

function isHeaderList(request: UpgradeRequest | HeaderList): request is HeaderList {
  return Array.isArray(request);
}

function headerValues(headers: HeaderList, lowerName: string): string[] {
  const values: string[] = [];
  for (const [name, value] of headers) {
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) values.push(trimOws(value));
  }
  return values;
}

/** The lowercased elements of comma-separated header values. */
function listTokens(values: string[]): string[] {
  return values.flatMap((value) => value.split(',').map((element) => trimOws(element).toLowerCase()));
}

// ---------------------------------------------------------------------------
// Responses

export interface HandshakeResponseOptions {
  /** The client's Sec-WebSocket-Key. */
  key: string;
  /** The subprotocol the app chose (must be one the client offered; the caller checks). */
  subprotocol?: string | undefined;
  /** The Sec-WebSocket-Extensions value (e.g. from `negotiatePerMessageDeflate`). */
  extensionsHeader?: string | undefined;
  /** More headers from the app (ASGI websocket.accept "headers"), latin-1 strings. */
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

/** Headers the handshake itself sets; an app may not send them (ASGI says so for sec-websocket-protocol). */
const RESERVED_HEADERS = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
]);
/** field-value (RFC 9110 §5.5): no CR, LF or NUL (response splitting), nor other CTLs but HTAB. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The complete 101 response. Throws a NuwsgiError (E_WEBSOCKET) for an
 * invalid subprotocol or extra header — an app mistake the caller reports.
 */
export function buildHandshakeResponse(options: HandshakeResponseOptions): Buffer {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(options.key)}`,
  ];
  if (options.subprotocol !== undefined) {
    if (!isToken(options.subprotocol)) {
      throw new NuwsgiError('E_WEBSOCKET', `invalid WebSocket subprotocol ${JSON.stringify(options.subprotocol)}`);
    }
    lines.push(`Sec-WebSocket-Protocol: ${options.subprotocol}`);
  }
  if (options.extensionsHeader !== undefined) lines.push(`Sec-WebSocket-Extensions: ${options.extensionsHeader}`);
  for (const [name, value] of options.extraHeaders ?? []) {
    checkExtraHeader(name, value);
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

function checkExtraHeader(name: string, value: string): void {
  if (!isToken(name)) throw new NuwsgiError('E_WEBSOCKET', `invalid header name ${JSON.stringify(name)}`);
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new NuwsgiError('E_WEBSOCKET', `header ${name} is set by the WebSocket handshake, not by the app`);
  }
  if (!FIELD_VALUE.test(value)) {
    throw new NuwsgiError('E_WEBSOCKET', `invalid value for header ${name} (control characters)`);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
};

/**
 * An HTTP error response for a refused handshake (a failed validation, or an
 * app that closed before accepting: 403), with "Connection: close".
 */
export function buildHandshakeErrorResponse(failure: {
  status: number;
  reason: string;
  headers?: ReadonlyArray<readonly [string, string]>;
}): Buffer {
  const body = Buffer.from(`${failure.reason}\n`, 'utf8');
  const lines = [
    `HTTP/1.1 ${failure.status} ${STATUS_TEXT[failure.status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${body.length}`,
    'Connection: close',
    ...(failure.headers ?? []).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}
