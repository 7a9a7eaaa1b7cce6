import { writeSync } from 'node:fs';

/**
 * Write one log line to stderr with a single write(2): lines up to PIPE_BUF
 * (4 KiB) from several processes sharing the descriptor never interleave.
 */
export function writeLog(line: string): void {
  const data = Buffer.from(line.endsWith('\n') ? line : line + '\n', 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(2, data, off, data.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return; // stderr is gone: nothing sensible left to do with a log line
    }
  }
}
