import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package version, read once from package.json (one source of truth). */
function readVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nuwsgi' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: try one level up (src/ vs dist/src/)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
