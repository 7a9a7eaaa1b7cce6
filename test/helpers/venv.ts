// Virtualenvs for --home tests. Creating one takes a few seconds, so each
// test process creates at most one per (interpreter, options) and removes it
// at exit (it lives in a temp dir registered with tmp.ts).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { makeTempDir } from './tmp';

const execFileAsync = promisify(execFile);

export interface VenvOptions {
  /** See the interpreter's site-packages (Debian's flask, django). Default true. */
  systemSitePackages?: boolean;
  /** The interpreter the venv is made from. Default Debian's /usr/bin/python3. */
  python?: string;
}

export interface Venv {
  /** The venv root: what --home takes. */
  dir: string;
  /** dir/bin/python3 */
  python: string;
  bin: string;
}

const venvs = new Map<string, Promise<Venv>>();

async function createVenv(python: string, systemSitePackages: boolean): Promise<Venv> {
  const dir = join(makeTempDir('nuwsgi-venv-'), 'venv');
  // --without-pip: ensurepip needs network or wheels; tests only need the layout.
  const args = ['-m', 'venv', '--without-pip', ...(systemSitePackages ? ['--system-site-packages'] : []), dir];
  try {
    await execFileAsync(python, args, { timeout: 120_000 });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`${python} -m venv failed (is python3-venv installed?): ${detail}`);
  }
  const bin = join(dir, 'bin');
  return { dir, bin, python: join(bin, 'python3') };
}

/** A virtualenv, created once per test process for the same options. */
export function makeVenv(opts: VenvOptions = {}): Promise<Venv> {
  const python = opts.python ?? '/usr/bin/python3';
  const ssp = opts.systemSitePackages ?? true;
  const key = `${python}\0${ssp}`;
  let v = venvs.get(key);
  if (v === undefined) {
    v = createVenv(python, ssp);
    // A failed creation should not be cached: a later call may retry.
    v.catch(() => venvs.delete(key));
    venvs.set(key, v);
  }
  return v;
}
