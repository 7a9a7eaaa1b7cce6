/**
 * --logto FILE: the log file, its reopen (--log-reopen, --touch-logreopen,
 * master FIFO 'l') and its size-based rotation (--log-maxsize,
 * --log-backupname, --touch-logrotate, master FIFO 'L').
 *
 * Every process opens the file itself with O_APPEND: the kernel then appends
 * each write(2) whole, so lines from the master and the workers never
 * interleave and no process needs to relay another's lines. With `stdioFds`
 * the file is also dup2()ed onto those descriptors (1 and 2, as uWSGI does),
 * so what CPython writes straight to stderr lands in the same file.
 */
import { closeSync, constants, fstatSync, openSync, renameSync, statSync } from 'node:fs';
import { NuwsgiError } from '../util/errors';
import { dup2 } from './dup2';
import { lineBuffer, writeAll, type LineEncoding, type LogSink } from './sink';
import { compileStrftime, ctimeFormat } from './strftime';

export interface LogFileOptions {
  /** --log-truncate: empty the file when opening it (the master, at startup only). */
  truncate?: boolean;
  /** Descriptors to point at the file too, after every (re)open: [1, 2] in a process that owns its stdio. */
  stdioFds?: readonly number[];
  /** Creation mode before the umask: uWSGI's S_IRUSR|S_IWUSR|S_IRGRP. */
  mode?: number;
}

const DEFAULT_MODE = 0o640;
const ctime = compileStrftime(ctimeFormat);

export class LogFile implements LogSink {
  readonly path: string;
  private fd: number;
  private readonly stdioFds: readonly number[];
  private readonly mode: number;

  private constructor(path: string, fd: number, opts: LogFileOptions) {
    this.path = path;
    this.fd = fd;
    this.stdioFds = opts.stdioFds ?? [];
    this.mode = opts.mode ?? DEFAULT_MODE;
  }

  /** Opens (creating 0640 minus the umask) for appending; throws E_LOG_OPEN. */
  static open(path: string, opts: LogFileOptions = {}): LogFile {
    const fd = openAppend(path, opts.mode ?? DEFAULT_MODE, opts.truncate ?? false);
    const file = new LogFile(path, fd, opts);
    file.pointStdio();
    return file;
  }

  /**
   * Wraps a descriptor this process inherited for `path` (a worker gets its
   * master's log file this way, so it can log even when it runs as a user
   * that could not open the file); reopen() still goes by path.
   */
  static adopt(path: string, fd: number, opts: LogFileOptions = {}): LogFile {
    return new LogFile(path, fd, opts);
  }

  write(line: string, encoding: LineEncoding = 'utf8'): void {
    writeAll(this.fd, lineBuffer(line, encoding));
  }

  writeLines(data: Buffer): void {
    writeAll(this.fd, data);
  }

  /** The descriptor lines are written to now (it changes on reopen and rotation). */
  get descriptor(): number {
    return this.fd;
  }

  /** Current size of the file we write to (uWSGI's "logsize"). */
  size(): number {
    return fstatSync(this.fd).size;
  }

  /**
   * Open the path again and write there from now on. With `announce` (the
   * process that received the command) uWSGI's two lines are written, the
   * first to the old file, the second to the new one. On failure the old file
   * stays in use and E_LOG_OPEN is thrown. `switched` runs once the new file
   * is in use, before the second line: whoever sees that line knows it ran.
   */
  reopen(announce = false, switched?: () => void): void {
    const now = Math.floor(Date.now() / 1000);
    if (announce) this.write(`[${now}] logsize: ${this.size()}, triggering log-reopen...\n`);
    this.replaceFd(openAppend(this.path, this.mode, false));
    switched?.();
    if (announce) this.write(`[${now}] ${this.path} reopened.\n`);
  }

  /**
   * For processes that did not move the file themselves (workers, after the
   * master rotated or logrotate renamed it): reopen when the path no longer
   * names the file we write to. One stat(2): call it on a timer, not per line.
   */
  reopenIfMoved(): boolean {
    if (this.stillAtPath()) return false;
    this.reopen(false);
    return true;
  }

  /**
   * uWSGI's rotation: note it in the old file, rename the file to
   * `backupName` (default "<path>.<epoch seconds>"), start a new one.
   * `switched` runs once the new file is in use.
   */
  rotate(backupName?: string, nowMs: number = Date.now(), switched?: () => void): string {
    const target = backupName ?? `${this.path}.${Math.floor(nowMs / 1000)}`;
    this.write(`${ctime(nowMs)} - logsize: ${this.size()}, triggering rotation to ${target}...\n`);
    try {
      renameSync(this.path, target);
    } catch (err) {
      throw new NuwsgiError('E_LOG_OPEN', `unable to rotate log ${this.path} to ${target}: ${(err as Error).message}`);
    }
    // No O_TRUNC (uWSGI truncates): a worker that saw the path vanish may already have created the new file.
    this.replaceFd(openAppend(this.path, this.mode, false));
    switched?.();
    return target;
  }

  /** --log-maxsize, checked once a second by the master: rotate when the file grew past maxSize bytes. */
  rotateIfNeeded(maxSize: number, backupName?: string, nowMs?: number): boolean {
    if (maxSize <= 0 || this.size() <= maxSize) return false;
    this.rotate(backupName, nowMs);
    return true;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private stillAtPath(): boolean {
    try {
      const onDisk = statSync(this.path);
      const ours = fstatSync(this.fd);
      return onDisk.ino === ours.ino && onDisk.dev === ours.dev;
    } catch {
      return false; // the path is gone: reopening recreates it
    }
  }

  private replaceFd(fd: number): void {
    const old = this.fd;
    this.fd = fd;
    this.pointStdio();
    if (old >= 0) closeSync(old);
  }

  private pointStdio(): void {
    for (const target of this.stdioFds) dup2(this.fd, target);
  }
}

function openAppend(path: string, mode: number, truncate: boolean): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (truncate ? constants.O_TRUNC : 0);
  try {
    return openSync(path, flags, mode);
  } catch (err) {
    throw new NuwsgiError('E_LOG_OPEN', `unable to open log file ${path}: ${(err as Error).message}`);
  }
}
