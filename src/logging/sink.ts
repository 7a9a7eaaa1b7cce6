/**
 * Where log lines go: stderr, a file (--logto FILE) or UDP (--logto host:port).
 */
import { writeSync } from 'node:fs';

export type LineEncoding = 'utf8' | 'latin1';

export interface LogSink {
  /**
   * Write one line (a "\n" is added when missing) with a single write(2) or
   * datagram, so lines from several processes never interleave. Request lines
   * are latin-1 byte strings (one char per wire byte): pass 'latin1' to write
   * them back as the bytes the client sent; other lines are UTF-8 text.
   */
  write(line: string, encoding?: LineEncoding): void;
  /**
   * Write bytes made of whole lines, each ending in "\n" (lines relayed from a
   * worker, or several request lines at once): one write(2) on a descriptor,
   * one datagram per line on UDP.
   */
  writeLines(data: Buffer): void;
  /** Reopen by path (logrotate moved the file); a no-op where nothing can move. */
  reopen(): void;
  close(): void;
}

export function lineBuffer(line: string, encoding: LineEncoding): Buffer {
  return Buffer.from(line.endsWith('\n') ? line : line + '\n', encoding);
}

/** write(2) until the whole buffer is out; a descriptor that fails is given up on (nowhere left to report it). */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return;
    }
  }
}

/** The default sink: a descriptor we did not open (stderr), never reopened or closed. */
export class FdSink implements LogSink {
  private readonly fd: number;

  constructor(fd = 2) {
    this.fd = fd;
  }

  write(line: string, encoding: LineEncoding = 'utf8'): void {
    writeAll(this.fd, lineBuffer(line, encoding));
  }

  writeLines(data: Buffer): void {
    writeAll(this.fd, data);
  }

  /** The descriptor lines are written to (a master passes it on to its workers). */
  get descriptor(): number {
    return this.fd;
  }

  reopen(): void {}

  close(): void {}
}
