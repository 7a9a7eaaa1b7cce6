import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BridgeBody } from './python/bridge';

/**
 * Collects a request body before the app runs, so a slow upload never holds
 * the Python side: in memory up to `spoolAbove` bytes, then in a temporary file
 * that Python opens as wsgi.input (and that we delete when the request ends).
 */
export class BodyCollector {
  private chunks: Buffer[] = [];
  private size = 0;
  private fd = -1;
  private spoolPath: string | undefined;
  private readonly spoolAbove: number;

  constructor(spoolAbove: number) {
    this.spoolAbove = spoolAbove;
  }

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.fd >= 0) {
      writeAll(this.fd, chunk);
      return;
    }
    // The parser may hand us views of its input buffer: keep our own copy.
    this.chunks.push(Buffer.from(chunk));
    if (this.size > this.spoolAbove) this.spill();
  }

  /** The body as the bridge takes it. Call once, after the last push. */
  finish(): BridgeBody {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      return { spooledPath: this.spoolPath as string };
    }
    if (this.size === 0) return null;
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    return body;
  }

  /** Remove the spool file, if any. Safe to call more than once. */
  dispose(): void {
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
  }

  private spill(): void {
    this.spoolPath = path.join(os.tmpdir(), `nuwsgi-body-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.fd = openSync(this.spoolPath, 'wx', 0o600);
    for (const chunk of this.chunks) writeAll(this.fd, chunk);
    this.chunks = [];
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}
