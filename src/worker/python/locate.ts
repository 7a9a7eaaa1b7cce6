import { execFile, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { NuwsgiError } from '../../util/errors';

/** What a worker needs to embed one interpreter. Serializable: the master finds it once. */
export interface InterpreterInfo {
  /** The interpreter binary whose libpython we load (the venv's python under --home). */
  executable: string;
  /** Passed to Py_SetProgramName: makes CPython find the venv's pyvenv.cfg like `venv/bin/python` would. */
  programName: string;
  /** Absolute path of libpython3.X.so. */
  libpython: string;
  version: string; // "3.11.7"
  home: string | undefined;
}

// Asks the interpreter itself where its shared library is: sysconfig knows it
// for every build (Debian's, pyenv's, python.org's), no guessing from paths.
const PROBE = `
import json, sys, sysconfig
v = sysconfig.get_config_var
print(json.dumps({
  "version": "%d.%d.%d" % sys.version_info[:3],
  "shared": bool(v("Py_ENABLE_SHARED")),
  "libdir": v("LIBDIR") or "",
  "multiarch": v("MULTIARCH") or "",
  "names": [n for n in (v("INSTSONAME"), v("LDLIBRARY")) if n],
  "base_prefix": getattr(sys, "base_prefix", sys.prefix),
  "executable": sys.executable,
}))
`;

interface ProbeResult {
  version: string;
  shared: boolean;
  libdir: string;
  multiarch: string;
  names: string[];
  base_prefix: string;
  executable: string;
}

export interface LocateRequest {
  /** --python: an interpreter path or a name looked up on PATH. */
  python?: string | undefined;
  /** --home/--virtualenv: a virtualenv (or a Python prefix) to run the app in. */
  home?: string | undefined;
}

/** Find the interpreter and its libpython; throws a NuwsgiError that tells the user what to do. */
export function locateInterpreter(req: LocateRequest): InterpreterInfo {
  const home = homeOf(req);
  const executable = pickExecutable(req.python, home);
  return interpreterInfo(executable, home, cachedProbe(executable) ?? remember(executable, probeInterpreter(executable)));
}

/**
 * The same, with the probe run in the background: a master starting up binds
 * its sockets and loads its modules meanwhile (the probe is a Python start,
 * ~85 ms of CPU, on the path of an on-demand vassal's first request).
 */
export async function locateInterpreterAsync(req: LocateRequest): Promise<InterpreterInfo> {
  const home = homeOf(req);
  const executable = pickExecutable(req.python, home);
  return interpreterInfo(executable, home, cachedProbe(executable) ?? remember(executable, await probeInterpreterAsync(executable)));
}

function homeOf(req: LocateRequest): string | undefined {
  return req.home !== undefined && req.home !== '' ? path.resolve(req.home) : undefined;
}

/**
 * Probes by interpreter, for a master's reloads (SIGHUP re-reads the
 * configuration): the same binary (path, and the mtime, size and inode of what
 * it resolves to) answers the same; a replaced interpreter is probed again.
 */
const probes = new Map<string, { identity: string; probe: ProbeResult }>();

function identityOf(executable: string): string | undefined {
  try {
    const st = statSync(executable);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function cachedProbe(executable: string): ProbeResult | undefined {
  const hit = probes.get(executable);
  return hit !== undefined && hit.identity === identityOf(executable) ? hit.probe : undefined;
}

function remember(executable: string, probe: ProbeResult): ProbeResult {
  const identity = identityOf(executable);
  if (identity !== undefined) probes.set(executable, { identity, probe });
  return probe;
}

function interpreterInfo(executable: string, home: string | undefined, probe: ProbeResult): InterpreterInfo {
  const libpython = findLibpython(probe);
  if (libpython === undefined) {
    throw new NuwsgiError(
      'E_PYTHON_NO_SHARED_LIB',
      `${executable} (Python ${probe.version}) has no shared libpython: it was built without --enable-shared. ` +
        `nuwsgi embeds CPython in each worker and needs libpython${probe.version.split('.').slice(0, 2).join('.')}.so. ` +
        `On Debian/Ubuntu: apt-get install libpython${probe.version.split('.').slice(0, 2).join('.')} (or libpython3-dev); ` +
        'or rebuild the interpreter with --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install ' +
        `${probe.version}), or pick another interpreter with --python / --home.`,
    );
  }
  // A pyenv shim is a shell script: embed the real binary it runs. Inside a
  // virtualenv keep the venv's own path, which is how CPython finds pyvenv.cfg.
  const programName = home !== undefined ? executable : probe.executable || executable;
  return { executable: programName, programName, libpython, version: probe.version, home };
}

function pickExecutable(python: string | undefined, home: string | undefined): string {
  if (home !== undefined) {
    if (!existsSync(home) || !statSync(home).isDirectory()) {
      throw new NuwsgiError('E_PYTHON_NOT_FOUND', `home/virtualenv ${home} is not a directory`);
    }
    for (const name of ['python3', 'python']) {
      const candidate = path.join(home, 'bin', name);
      if (existsSync(candidate)) return candidate;
    }
    throw new NuwsgiError('E_PYTHON_NOT_FOUND', `no bin/python3 in home/virtualenv ${home}`);
  }
  const wanted = python !== undefined && python !== '' ? python : 'python3';
  return wanted.includes('/') ? path.resolve(wanted) : whichOnPath(wanted);
}

function whichOnPath(name: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new NuwsgiError('E_PYTHON_NOT_FOUND', `${name} not found on PATH; name an interpreter with --python`);
}

// -S: no site.py (its .pth files): nothing probed depends on it (getpath sets base_prefix and
// executable, venvs included), and it saves ~45 ms of CPU on every master start.
const PROBE_ARGS = ['-I', '-S', '-c', PROBE];

function probeInterpreter(executable: string): ProbeResult {
  let out: string;
  try {
    out = execFileSync(executable, PROBE_ARGS, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw cannotRun(executable, err);
  }
  return JSON.parse(out) as ProbeResult;
}

function probeInterpreterAsync(executable: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    execFile(executable, PROBE_ARGS, { encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) return reject(cannotRun(executable, err));
      try {
        resolve(JSON.parse(stdout) as ProbeResult);
      } catch (parseErr) {
        reject(cannotRun(executable, parseErr));
      }
    });
  });
}

function cannotRun(executable: string, err: unknown): NuwsgiError {
  return new NuwsgiError('E_PYTHON_NOT_FOUND', `cannot run ${executable}: ${(err as Error).message.split('\n')[0]}`);
}

function findLibpython(probe: ProbeResult): string | undefined {
  const dirs = [probe.libdir, path.join(probe.libdir, probe.multiarch), path.join(probe.base_prefix, 'lib')];
  for (const dir of dirs) {
    for (const name of probe.names) {
      if (!name.endsWith('.a')) {
        const candidate = path.join(dir, name);
        if (existsSync(candidate)) return candidate;
      }
    }
  }
  return undefined;
}
