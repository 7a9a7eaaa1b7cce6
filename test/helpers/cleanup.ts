// Leave nothing behind: what a helper started is killed when the test process
// exits or is signalled, and stopped gracefully after the file's tests.
import { after } from 'node:test';

export function registerCleanup(killAllNow: () => void, stopAll: () => Promise<void>): void {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Kill what we started, then die of the same signal as we would have.
    process.once(sig, () => {
      killAllNow();
      process.kill(process.pid, sig);
    });
  }
  // Runs after all tests of the file that imported the helper. Only in test
  // processes: in a plain script, after() would start node:test's runner.
  if (process.env['NODE_TEST_CONTEXT'] !== undefined || /\.test\.[cm]?js$/.test(require.main?.filename ?? '')) {
    after(stopAll);
  }
}
