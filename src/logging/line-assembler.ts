/**
 * Cuts a byte stream (a worker's stdout or stderr, read by the master) into
 * whole lines, so each line can be written with one write(2) and never be
 * split by another process's line.
 *
 * Python writes a long line in pieces (a 10 KB print() reaches the pipe as an
 * 8 KB buffer flush and the rest; a traceback is many small writes): the
 * pieces are held until the newline arrives. A line that never ends is cut at
 * `maxLine` bytes (and at the end of the stream) with a "\n" added, so memory
 * stays bounded and the log stays line-oriented.
 */
const NEWLINE = 0x0a;

/** 1 MiB: far above any real log line, small enough to hold per worker stream. */
export const DEFAULT_MAX_LINE = 1 << 20;

export class LineAssembler {
  private readonly maxLine: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(maxLine = DEFAULT_MAX_LINE) {
    this.maxLine = maxLine;
  }

  /** Bytes of a line still waiting for its newline. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Feed a chunk; returns the complete lines it finished (one buffer ending
   * in "\n", possibly several lines), or undefined when none is complete.
   */
  push(chunk: Buffer): Buffer | undefined {
    if (chunk.length === 0) return undefined;
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline < 0) return this.hold(chunk);
    const complete = chunk.subarray(0, lastNewline + 1);
    const out = this.pendingBytes === 0 ? complete : Buffer.concat([...this.pending, complete]);
    this.pending = [];
    this.pendingBytes = 0;
    if (lastNewline + 1 < chunk.length) this.keep(chunk.subarray(lastNewline + 1));
    return out;
  }

  /** The stream ended: what is left of an unterminated line, with a "\n" added. */
  end(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    return this.takePending();
  }

  private hold(chunk: Buffer): Buffer | undefined {
    this.keep(chunk);
    return this.pendingBytes >= this.maxLine ? this.takePending() : undefined;
  }

  private keep(piece: Buffer): void {
    // A copy: the chunk's memory is the stream's, and a short tail must not pin a 64 KB read buffer.
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private takePending(): Buffer {
    const out = Buffer.concat([...this.pending, Buffer.from('\n')]);
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }
}
