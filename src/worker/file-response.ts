/**
 * wsgi.file_wrapper bodies (PEP 3333's "platform-specific file handling"):
 * the app returned a real file, Python has already closed its side, and the
 * bytes go from our own descriptor to the socket with the static server's
 * pump: sendfile(2) while the socket takes them, a chunk and a wait for drain
 * when it is full.
 *
 * A body without Content-Length to an HTTP/1.1 client is chunked. uWSGI sends
 * such a file as the st_size bytes fstat(2) gives when sending starts, and
 * adds no Content-Length; so do we, as one chunk of that many bytes: its
 * header, sendfile(2) of the range, CRLF and the last chunk. Only a file whose
 * fstat size is 0 (procfs and sysfs files have content and no size) is copied
 * to its end instead, chunk by chunk, by the runner.
 */
import { fstatSync } from 'node:fs';
import type { LoggedOutcome } from './access-log';
import type { Exchange } from './exchange';
import type { Framing } from './framing';
import { pumpFile } from './static/send';

/**
 * The one chunk a chunked file body is sent as: the bytes from `offset` to
 * the end as fstat(2) sees the file now (0 when the offset is past it), or
 * undefined when the size says nothing (0: copy to EOF instead).
 */
export function fileChunkLength(fd: number, offset: number): number | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  return Math.max(0, size - offset);
}

/** The chunk header that goes out right after the response head; nothing for an empty body. */
export function fileChunkHeader(length: number): Buffer[] {
  return length > 0 ? [Buffer.from(`${length.toString(16)}\r\n`, 'latin1')] : [];
}

const END_OF_CHUNK_AND_BODY = Buffer.from('\r\n0\r\n\r\n', 'latin1');
const EMPTY_CHUNKED_BODY = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * Send `limit` bytes (Infinity: to the end of the file) from `offset`, then
 * finish the response; closes `fd`. `chunk`: the body is one chunk of
 * `limit` bytes whose header is already written; it is closed after them.
 * Never rejects: a read error (EIO) cuts the connection, a file shorter than
 * its Content-Length (or its chunk) too.
 */
export async function sendFileBody(fd: number, offset: number, limit: number, ex: Exchange, framing: Framing, outcome: LoggedOutcome, log: (line: string) => void, chunk = false): Promise<void> {
  try {
    const r = await pumpFile(fd, offset, limit, ex.out);
    outcome.bodyBytes += r.bytes;
    if (r.writeError) outcome.writeErrors = 1; // the client went away before the whole file was written
    else if (r.truncated && limit !== Infinity) ex.out.destroy(); // shorter than promised: only a close says so
    else {
      if (chunk) ex.out.write([limit > 0 ? END_OF_CHUNK_AND_BODY : EMPTY_CHUNKED_BODY]);
      ex.out.finish(framing.keepAlive);
    }
  } catch (err) {
    log(`wsgi.file_wrapper: read error on ${ex.method} ${ex.uri}: ${(err as Error).message}\n`);
    ex.out.destroy();
  }
}
