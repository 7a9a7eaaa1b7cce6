import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BridgeBody } from './python/bridge';

/** How a body is buffered (--post-buffering and --post-buffering-bufsize). */
export interface SpoolPolicy {
  /** Bodies of at least this many bytes go to a temporary file (uWSGI: CONTENT_LENGTH >= post-buffering). */
  spoolAtBytes: number;
  /** Spooled data is written in pieces of at least this size (fewer write(2)s for small input chunks). */
  spoolWriteBytes: number;
  /** The worker's budget for bodies held in memory, shared by all its connections. */
  budget?: BodyBudget;
}

/**
 * What all of a worker's in-memory request bodies may hold together
 * (--body-buffer-budget). Beyond it, a body being collected goes to a
 * temporary file whatever its size, so a thousand slow uploads cost disk,
 * not RAM (docs/hardening.md).
 */
export class BodyBudget {
  readonly limitBytes: number;
  usedBytes = 0;
  /** The most held at once since the memory was last trimmed (src/worker/memory-trim.ts). */
  peakBytes = 0;
  /** Every body byte received, in memory or to disk (the trimmer watches it). */
  throughBytes = 0;
  /** Bodies sent to disk because the budget was spent (tests and stats read it). */
  overflows = 0;
  /** ASGI streamed bodies that stopped reading early because the budget was spent (src/worker/asgi/body-stream.ts). */
  streamHolds = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  get exceeded(): boolean {
    return this.limitBytes > 0 && this.usedBytes > this.limitBytes;
  }
}

/**
 * Collects a request body before the app runs, so a slow upload never holds
 * the Python side: in memory below `spoolAtBytes`, then in a temporary file
 * that Python opens as wsgi.input (and that we delete when the request ends).
 */
export class BodyCollector {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes of this body counted in the worker's budget (held in memory, not yet handed on). */
  private charged = 0;
  private fd = -1;
  private spoolPath: string | undefined;
  private readonly policy: SpoolPolicy;
  /** Spooled bytes not written yet, and how many. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** write(2)s to the temporary file so far (tests check the batching). */
  spoolWrites = 0;
  /**
   * False while the body may still stream to an ASGI app (src/worker/asgi/body-stream.ts):
   * then this collector gets only the first read, and a spent budget must not
   * send it to disk (a spooled body cannot stream; the stream has its own backpressure).
   */
  spillsOverBudget = true;

  constructor(policy: SpoolPolicy) {
    this.policy = policy;
  }

  /** True once the body went to a temporary file. */
  get spooled(): boolean {
    return this.spoolPath !== undefined;
  }

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.policy.budget !== undefined) this.policy.budget.throughBytes += chunk.length;
    if (this.fd >= 0) {
      this.spool(chunk);
      return;
    }
    // The parser may hand us views of its input buffer: keep our own copy.
    this.chunks.push(Buffer.from(chunk));
    this.charge(chunk.length);
    if (this.size >= this.policy.spoolAtBytes) {
      this.spill();
    } else if (this.policy.budget?.exceeded === true && this.spillsOverBudget) {
      this.policy.budget.overflows++;
      this.spill();
    }
  }

  private charge(bytes: number): void {
    const budget = this.policy.budget;
    if (budget === undefined) return;
    budget.usedBytes += bytes;
    if (budget.usedBytes > budget.peakBytes) budget.peakBytes = budget.usedBytes;
    this.charged += bytes;
  }

  /** Give this body's share of the budget back (spilled, handed to Python, or dropped). */
  private release(): void {
    if (this.charged === 0) return;
    const budget = this.policy.budget as BodyBudget;
    budget.usedBytes -= this.charged;
    this.charged = 0;
  }

  /** The body as the bridge takes it. Call once, after the last push. */
  finish(): BridgeBody {
    if (this.fd >= 0) {
      this.flushSpool();
      closeSync(this.fd);
      this.fd = -1;
      return { spooledPath: this.spoolPath as string };
    }
    this.release();
    if (this.size === 0) return null;
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    return body;
  }

  /** Remove the spool file, if any. Safe to call more than once. */
  dispose(): void {
    this.release();
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    if (this.spoolPath !== undefined) {
      try {
        unlinkSync(this.spoolPath);
      } catch {
        // already gone
      }
      this.spoolPath = undefined;
    }
    this.chunks = [];
    this.pending = [];
    this.pendingBytes = 0;
  }

  private spill(): void {
    // node:crypto is loaded here, by the first body that spills, not by every worker's boot (~5 ms).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
    this.spoolPath = path.join(os.tmpdir(), `nuwsgi-body-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.fd = openSync(this.spoolPath, 'wx', 0o600);
    const chunks = this.chunks;
    this.chunks = [];
    this.release();
    for (const chunk of chunks) this.spool(chunk, true);
  }

  /**
   * Gather small pieces; write once at least spoolWriteBytes are waiting.
   * `owned`: the chunk is our copy already (not a view of the parser's input).
   */
  private spool(chunk: Buffer, owned = false): void {
    if (this.pendingBytes === 0 && chunk.length >= this.policy.spoolWriteBytes) {
      this.write(chunk);
      return;
    }
    this.pending.push(owned ? chunk : Buffer.from(chunk));
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.policy.spoolWriteBytes) this.flushSpool();
  }

  private flushSpool(): void {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.write(data);
  }

  private write(data: Buffer): void {
    writeAll(this.fd, data);
    this.spoolWrites++;
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}
