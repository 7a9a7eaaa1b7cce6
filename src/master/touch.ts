import { statSync } from 'node:fs';

export interface TouchTarget {
  file: string;
  action: () => void;
}

/**
 * uWSGI's touch-* options: when a file's modification time changes (or the
 * file appears), run the action. Checked by the master once a second, as
 * uWSGI does; a missing file is simply "not touched yet".
 */
export class TouchWatcher {
  private readonly targets: Array<TouchTarget & { mtimeMs: number }>;

  constructor(targets: TouchTarget[]) {
    this.targets = targets.map((t) => ({ ...t, mtimeMs: mtimeOf(t.file) }));
  }

  check(): void {
    for (const t of this.targets) {
      const now = mtimeOf(t.file);
      if (now === t.mtimeMs) continue;
      const appeared = t.mtimeMs === 0 && now !== 0;
      t.mtimeMs = now;
      if (now !== 0 || appeared) t.action();
    }
  }
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
