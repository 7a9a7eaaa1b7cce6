// The Python interpreters tests run the server against: the `python3` first
// on PATH (pyenv's on the dev machines) and Debian's /usr/bin/python3, which
// differ in version, prefix and where libpython lives.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

import { which } from './system';

export interface PythonInterpreter {
  /** How it was found: "python3 on PATH" or "/usr/bin/python3". */
  label: string;
  /** What to pass to --python or run directly (the real binary, not a pyenv shim). */
  executable: string;
  /** e.g. "3.11.7" */
  version: string;
  /** The shared libpython nuwsgi loads, if the interpreter was built with one. */
  sharedLib: string | undefined;
}

const PROBE = [
  'import json, os, sys, sysconfig',
  'v = sysconfig.get_config_var',
  'lib = os.path.join(v("LIBDIR") or "", v("INSTSONAME") or "") if v("Py_ENABLE_SHARED") else ""',
  'print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "lib": lib}))',
].join('\n');

interface ProbeResult {
  executable: string;
  version: string;
  lib: string;
}

function probe(command: string): ProbeResult | undefined {
  const r = spawnSync(command, ['-c', PROBE], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as ProbeResult;
  } catch {
    return undefined;
  }
}

/** Finds the shared library, also under the multiarch dir Debian uses. */
function findSharedLib(lib: string): string | undefined {
  if (lib === '') return undefined;
  if (existsSync(lib)) return lib;
  const multiarch = join(lib, '..', 'x86_64-linux-gnu', lib.split('/').pop() ?? '');
  return existsSync(multiarch) ? multiarch : undefined;
}

let cached: PythonInterpreter[] | undefined;

/** The interpreters to test against; missing ones are left out, duplicates merged. */
export function pythonInterpreters(): PythonInterpreter[] {
  if (cached !== undefined) return cached;
  const candidates: Array<[string, string | undefined]> = [
    ['python3 on PATH', which('python3')],
    ['/usr/bin/python3', existsSync('/usr/bin/python3') ? '/usr/bin/python3' : undefined],
  ];
  const seen = new Set<string>();
  cached = [];
  for (const [label, command] of candidates) {
    if (command === undefined) continue;
    const p = probe(command);
    if (p === undefined) continue;
    const real = realpathSync(p.executable);
    if (seen.has(real)) continue; // PATH's python3 may be Debian's own
    seen.add(real);
    cached.push({ label, executable: p.executable, version: p.version, sharedLib: findSharedLib(p.lib) });
  }
  return cached;
}
