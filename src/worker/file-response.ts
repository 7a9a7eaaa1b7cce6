/**
 * wsgi.file_wrapper bodies (PEP 3333's "platform-specific file handling"):
 * the app returned a real file, Python has already closed its side, and the
 * bytes go from our own descriptor to the socket with the static server's
 * pump: sendfile(2) while the socket takes them, a chunk and a wait for drain
 * when it is full. A chunked body (no Content-Length, HTTP/1.1) keeps the
 * runner's copying pump, which frames each chunk.
 */
import type { LoggedOutcome } from './access-log';
import type { Exchange } from './exchange';
import type { Framing } from './framing';
import { pumpFile } from './static/send';

/**
 * Send `limit` bytes (Infinity: to the end of the file) from `offset`, then
 * finish the response; closes `fd`. Never rejects: a read error (EIO) cuts
 * the connection, a file shorter than its Content-Length too.
 */
export async function sendFileBody(fd: number, offset: number, limit: number, ex: Exchange, framing: Framing, outcome: LoggedOutcome, log: (line: string) => void): Promise<void> {
  try {
    const r = await pumpFile(fd, offset, limit, ex.out);
    outcome.bodyBytes += r.bytes;
    if (r.writeError) outcome.writeErrors = 1; // the client went away before the whole file was written
    else if (r.truncated && limit !== Infinity) ex.out.destroy(); // shorter than promised: only a close says so
    else ex.out.finish(framing.keepAlive);
  } catch (err) {
    log(`wsgi.file_wrapper: read error on ${ex.method} ${ex.uri}: ${(err as Error).message}\n`);
    ex.out.destroy();
  }
}
