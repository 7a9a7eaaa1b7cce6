/**
 * What workers write to their stdout and stderr (Python's print(), tracebacks,
 * C extensions, Node's own crash reports) reaches the master's log through
 * one pipe per worker and stream, which the master reads and writes out as
 * whole lines. Two workers printing long lines in pieces at the same time
 * therefore never interleave: each line is one write(2) by one process.
 *
 * Backpressure: the master writes synchronously, as it reads. A worker that
 * floods its output is read a bounded amount per event-loop turn (libuv reads
 * at most 32 chunks of 64 KiB from one pipe before moving on), so timers,
 * signals and the other workers' pipes are served in between;
 * when the log itself cannot keep up, the master reads no faster than it
 * writes, the pipe fills, and the flooding worker blocks in its own write():
 * the flood slows down its producer, never the master's supervision.
 */
import type { Readable } from 'node:stream';
import { LineAssembler } from './line-assembler';
import type { LogSink } from './sink';

export class OutputRelay {
  private open = 0;
  private whenClosed: Array<() => void> = [];

  /** Streams are relayed to whatever these return at the time of each write (the target can change: --logto2). */
  constructor(
    private readonly stdoutSink: () => LogSink,
    private readonly stderrSink: () => LogSink,
  ) {}

  /** Relay a child's stdout and stderr (either may be null when not piped). */
  attach(child: { stdout: Readable | null; stderr: Readable | null }): void {
    if (child.stdout !== null) this.relay(child.stdout, this.stdoutSink);
    if (child.stderr !== null) this.relay(child.stderr, this.stderrSink);
  }

  /** Relay one more stream of a child (a worker's request pipe). */
  attachStream(stream: Readable, sink: () => LogSink): void {
    this.relay(stream, sink);
  }

  /** Streams still open. */
  get active(): number {
    return this.open;
  }

  /** Resolves once every attached stream has ended (the last lines are out), or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.whenClosed.push(done);
    });
  }

  private relay(stream: Readable, sink: () => LogSink): void {
    const lines = new LineAssembler();
    this.open++;
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      const rest = lines.end();
      if (rest !== undefined) sink().writeLines(rest);
      if (--this.open === 0) this.notifyClosed();
    };
    stream.on('data', (chunk: Buffer) => {
      const complete = lines.push(chunk);
      if (complete !== undefined) sink().writeLines(complete);
    });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish); // a broken pipe is the end of that worker's output, never the master's problem
  }

  private notifyClosed(): void {
    const waiters = this.whenClosed;
    this.whenClosed = [];
    for (const w of waiters) w();
  }
}
