// What the machine has: commands, Debian packages, Python modules. Tests use
// skipReason() so a missing dependency skips with a clear message instead of
// failing obscurely (scripts/test.mjs installs them where it can).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH, like `command -v`. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const debCache = new Map<string, boolean>();

/** True if dpkg reports the package as installed. */
export function debPackageInstalled(name: string): boolean {
  const cached = debCache.get(name);
  if (cached !== undefined) return cached;
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  const ok = r.status === 0 && r.stdout.trim() === 'install ok installed';
  debCache.set(name, ok);
  return ok;
}

/** True if `python -c "import m1, m2"` succeeds. */
export function pythonHasModules(python: string, modules: readonly string[]): boolean {
  const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

export interface Requirements {
  commands?: readonly string[];
  debPackages?: readonly string[];
  /** Modules that must import in the given interpreter. */
  python?: { interpreter: string; modules: readonly string[] };
}

/**
 * undefined when everything is there, else a message for `{ skip: ... }`
 * naming what is missing and how to get it.
 */
export function skipReason(req: Requirements): string | undefined {
  const missing: string[] = [];
  for (const c of req.commands ?? []) if (which(c) === undefined) missing.push(`command ${c}`);
  const debs = (req.debPackages ?? []).filter((p) => !debPackageInstalled(p));
  if (debs.length > 0) missing.push(`Debian packages ${debs.join(' ')} (apt-get install ${debs.join(' ')})`);
  if (req.python !== undefined && !pythonHasModules(req.python.interpreter, req.python.modules)) {
    missing.push(`python modules ${req.python.modules.join(', ')} in ${req.python.interpreter}`);
  }
  return missing.length === 0 ? undefined : `missing ${missing.join('; ')}`;
}

/** Skip reason for tests that use Debian's uWSGI as the oracle. */
export function uwsgiSkipReason(): string | undefined {
  return skipReason({ commands: ['uwsgi'], debPackages: ['uwsgi', 'uwsgi-plugin-python3'] });
}
