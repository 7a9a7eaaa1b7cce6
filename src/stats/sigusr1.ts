/**
 * What the master prints on SIGUSR1 (and FIFO `s`), as uWSGI's stats() in
 * core/uwsgi.c: the running configuration, then per-worker, per-app request
 * counters. Observed on 2.0.21:
 *
 *   (blank line)
 *   ;uWSGI instance configuration
 *   ...
 *   ;end of configuration
 *   (blank line)
 *   \tworkers total requests: 3
 *   -----------------
 *   \tworker 1 app 0 [] requests: 1 exceptions: 1
 *   -----------------
 *   (blank line)
 */
import type { WorkerSnapshot } from './snapshot';

const RULE = '-----------------';

/**
 * @param showConfig the `--show-config` block (config/render.ts renderShowConfig), ending in a newline
 * @param totalRequests every worker's finished requests (WorkerStatsBook.totalRequests())
 */
export function renderSigusr1(showConfig: string, workers: readonly WorkerSnapshot[], totalRequests: number): string {
  return `\n${showConfig}\n${renderWorkerCounters(workers, totalRequests)}`;
}

/** The part after the configuration; ends with the blank line uWSGI prints. */
export function renderWorkerCounters(workers: readonly WorkerSnapshot[], totalRequests: number): string {
  const lines = [`\tworkers total requests: ${totalRequests}`, RULE];
  for (const worker of workers) {
    for (const app of worker.apps) {
      lines.push(`\tworker ${worker.id} app ${app.id} [${app.mountpoint}] requests: ${app.requests} exceptions: ${app.exceptions}`);
    }
    lines.push(RULE);
  }
  return `${lines.join('\n')}\n\n`;
}
