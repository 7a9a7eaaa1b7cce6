/**
 * What is logged when a client goes away while its response is being written,
 * as uWSGI 2.0 logs it (core/writer.c, core/uwsgi.c's SIGPIPE handler, the
 * python plugin's "write error" exception), and the three options that
 * silence each part: --ignore-sigpipe, --ignore-write-errors,
 * --disable-write-exception.
 */
import { writeLogVerbose } from '../util/log';

export interface WriteErrorPolicy {
  ignoreSigpipe: boolean;
  ignoreWriteErrors: boolean;
  disableWriteException: boolean;
}

/** The request, as the lines name it. */
export interface WriteErrorRequest {
  method: string;
  uri: string;
  remoteAddr: string;
}

/** uWSGI's writer function names: a stream's body, or a file (wsgi.file_wrapper). */
export type WriteKind = 'uwsgi_response_write_body_do' | 'uwsgi_response_sendfile_do';

/** strerror(3) of the errors a vanished client causes. */
const STRERROR: Record<string, string> = {
  EPIPE: 'Broken pipe',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  ETIMEDOUT: 'Connection timed out',
  EIO: 'Input/output error',
};

/**
 * The lines for one failed response, in uWSGI's order; empty when every part
 * is silenced. `failure` is the errno name the transport saw (undefined: the
 * connection was closed without one, e.g. while the worker stopped).
 */
export function writeErrorLines(
  policy: WriteErrorPolicy,
  req: WriteErrorRequest,
  failure: string | undefined,
  kind: WriteKind,
): Array<{ verbose: boolean; text: string }> {
  const lines: Array<{ verbose: boolean; text: string }> = [];
  const code = failure ?? 'EPIPE';
  if (code === 'EPIPE' && !policy.ignoreSigpipe) {
    // nuwsgi gets EPIPE rather than the signal; the line is uWSGI's SIGPIPE handler's.
    lines.push({
      verbose: true,
      text: `SIGPIPE: writing to a closed pipe/socket/fd (probably the client disconnected) on request ${req.uri} (ip ${req.remoteAddr}) !!!\n`,
    });
  }
  if (!policy.ignoreWriteErrors) {
    if (code === 'ETIMEDOUT') lines.push({ verbose: false, text: `${kind}() TIMEOUT !!!\n` });
    else lines.push({ verbose: true, text: `${kind}(): ${STRERROR[code] ?? code} during ${req.method} ${req.uri} (${req.remoteAddr})\n` });
  }
  if (!policy.disableWriteException) lines.push({ verbose: false, text: 'OSError: write error\n' });
  return lines;
}

/**
 * Log the lines for a response whose client went away. Returns true when
 * uWSGI would count an exception for it (unless --disable-write-exception).
 */
export function reportWriteError(
  policy: WriteErrorPolicy,
  req: WriteErrorRequest,
  failure: string | undefined,
  kind: WriteKind,
  log: (line: string) => void,
): boolean {
  for (const line of writeErrorLines(policy, req, failure, kind)) {
    if (line.verbose) writeLogVerbose(line.text);
    else log(line.text);
  }
  return !policy.disableWriteException;
}
