/**
 * A real scoreboard in private memory (the same code the workers and the
 * master run, without the memfd), to feed a WorkerStatsBook in unit tests.
 */
import { ROW_BYTES, ScoreboardReader, ScoreboardWriter } from '../../src/contracts/scoreboard';
import { RequestMetrics } from '../../src/stats/request-metrics';
import type { WorkerStatsBook } from '../../src/stats/worker-book';
import type { WorkerReport } from '../../src/stats/worker-report';

const ROWS = 16;

export interface TestRequest {
  status?: number;
  durationUs?: number;
  txBytes?: number;
  exception?: boolean;
  appId?: number;
  core?: number;
}

/** One worker process's row, written as its ObserverWorker would. */
export class TestWorker {
  readonly writer: ScoreboardWriter;
  readonly metrics = new RequestMetrics();
  readonly pid: number;

  constructor(writer: ScoreboardWriter, pid: number) {
    this.writer = writer;
    this.pid = pid;
  }

  /** A whole request: entered the app, answered `durationUs` later. */
  request(r: TestRequest = {}): void {
    const core = r.core ?? 0;
    const appId = r.appId ?? 0;
    const start = 1_000_000;
    this.writer.requestStarted(core, appId, '127.0.0.1 - GET /', start);
    const us = this.writer.requestFinished(core, { appId, txBytes: r.txBytes ?? 0, exception: r.exception ?? false, writeError: false }, start + (r.durationUs ?? 0) / 1000);
    this.metrics.observe(r.status ?? 200, us);
  }

  /** A request that stays in the app (the core shows busy). */
  begin(core = 0, description = '127.0.0.1 - GET /slow', appId = 0, nowMs = Date.now()): void {
    this.writer.requestStarted(core, appId, description, nowMs);
  }

  report(): WorkerReport {
    return { m: this.metrics.serialize() };
  }
}

export class TestBoard {
  private readonly memory = new Float64Array((ROWS * ROW_BYTES) / 8);
  private readonly reader = new ScoreboardReader(this.memory);
  private nextRow = 0;

  /** A new process takes slot `id` of `book` (spawn or respawn) with its own row. */
  spawn(book: WorkerStatsBook, id: number, pid: number, cores = 1): TestWorker {
    const row = this.nextRow++ % ROWS;
    this.reader.clear(row);
    const worker = new TestWorker(new ScoreboardWriter(this.memory, row, cores), pid);
    book.spawned(id, pid, () => this.reader.read(row));
    return worker;
  }
}
