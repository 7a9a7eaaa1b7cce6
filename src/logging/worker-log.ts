/**
 * A worker's way into the log (see master-log.ts for the whole design): the
 * descriptor its master handed it, its own UDP socket, or its stderr pipe to
 * the master.
 */
import { LogFile } from './log-file';
import { UdpLog } from './log-udp';
import type { WorkerLogTarget } from './master-log';
import { FdSink, type LineEncoding, type LogSink } from './sink';

/** The worker's stderr: a pipe its master reads (master-log.ts). */
const STDERR = 2;

/** Opens what `target` names; without one (a worker started by hand) the log is stderr. */
export async function openWorkerLog(target: WorkerLogTarget | undefined): Promise<LogSink> {
  if (target === undefined || target.kind === 'master') return new FdSink(STDERR);
  if (target.kind === 'udp') return UdpLog.open(target.address, target.port);
  if (target.path === undefined) return new FdSink(target.fd);
  return new WorkerLogFile(LogFile.adopt(target.path, target.fd));
}

/** With a req-logger, request lines have a pipe of their own to the master (uWSGI's request log pipe). */
export function workerRequestLog(target: WorkerLogTarget | undefined): LogSink | undefined {
  if (target?.kind !== 'master' || target.requestFd === undefined) return undefined;
  return new FdSink(target.requestFd);
}

/**
 * The log file a worker writes to directly. When the master reopened or
 * rotated it, reopen() follows by path; when this worker may not open the
 * file (it runs as another user than the one that created it), its lines go
 * through the master's pipe from then on instead of to the old file.
 */
class WorkerLogFile implements LogSink {
  private sink: LogSink;
  private readonly file: LogFile;

  constructor(file: LogFile) {
    this.file = file;
    this.sink = file;
  }

  write(line: string, encoding?: LineEncoding): void {
    this.sink.write(line, encoding);
  }

  writeLines(data: Buffer): void {
    this.sink.writeLines(data);
  }

  reopen(): void {
    if (this.sink !== this.file) return;
    try {
      this.file.reopen(false);
    } catch (err) {
      this.file.close();
      this.sink = new FdSink(STDERR);
      this.sink.write(`worker ${process.pid}: ${(err as Error).message}: logging through the master from now on\n`);
    }
  }

  close(): void {
    this.sink.close();
  }
}
