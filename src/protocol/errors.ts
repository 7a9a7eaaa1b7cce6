import { NuwsgiError, type ErrorCode } from '../util/errors';

/**
 * A request the client sent could not be parsed or is refused by a limit.
 *
 * `status` tells the connection layer how to answer:
 * - an HTTP status (400, 413, 431, 501, 505): write that error response, then
 *   close the connection (the byte stream cannot be trusted any more);
 * - `null`: write nothing, log and close. This is what uWSGI does on a uwsgi
 *   socket for a broken packet (behind nginx the client then sees a 502).
 *
 * `logLine` is the line to write to the request log, in uWSGI's own words where
 * uWSGI has words for the situation (operators grep for them); when absent,
 * log `message`.
 */
export class ProtocolError extends NuwsgiError {
  readonly status: number | null;
  readonly logLine: string | undefined;

  constructor(code: ErrorCode, message: string, status: number | null, logLine?: string) {
    super(code, message);
    this.name = 'ProtocolError';
    this.status = status;
    this.logLine = logLine;
  }
}
