// Temporary directories for tests, removed when the test process exits.
//
// Each `node --test` file runs in its own process, so an 'exit' hook per
// process is enough: nothing a test creates outlives its file, even when the
// test fails or forgets to clean up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pendingRemovals = new Set<string>();
let exitHookInstalled = false;

function removeAllNow(): void {
  for (const path of pendingRemovals) {
    // force: already gone is fine; errors here must not mask the test result.
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  }
  pendingRemovals.clear();
}

/** Registers `path` (file or directory) for recursive removal at process exit. */
export function removeOnExit(path: string): void {
  if (!exitHookInstalled) {
    // 'exit' handlers must be synchronous, hence rmSync above.
    process.on('exit', removeAllNow);
    exitHookInstalled = true;
  }
  pendingRemovals.add(path);
}

/** Creates a fresh private directory under the OS temp dir, removed at exit. */
export function makeTempDir(prefix = 'nuwsgi-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  removeOnExit(dir);
  return dir;
}

/** Removes a temp dir now (e.g. a test that wants to check cleanup itself). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  pendingRemovals.delete(dir);
}
