// Installing the Debian packages the tests and benchmarks need, only where
// missing: `npm test` and `npm run bench` must work on a fresh Debian 12
// machine, where nothing but Node and python3 can be assumed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** True if dpkg reports the package as fully installed. */
export function debInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

/**
 * The runtime package of Debian's libpython for /usr/bin/python3 (e.g.
 * libpython3.11): Debian's python3 binary is static, so the shared library
 * nuwsgi loads is a separate package.
 */
export function debianLibpythonPackage() {
  if (!existsSync('/usr/bin/python3')) return undefined;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys; print("libpython%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptGet(args) {
  // Wait for another apt/dpkg (another engineer, unattended upgrades) instead of failing on its lock.
  const full = ['-o', 'DPkg::Lock::Timeout=600', ...args];
  console.error(`$ apt-get ${full.join(' ')}`);
  const r = spawnSync('apt-get', full, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0;
}

/**
 * Installs whichever of `packages` are missing (apt-get update once first).
 * Returns the packages still missing afterwards. When not root, prints what
 * is missing and returns it: the callers skip what needs them.
 */
export function ensureDebPackages(packages, { label = 'packages' } = {}) {
  const missing = packages.filter((p) => !debInstalled(p));
  if (missing.length === 0) {
    console.error(`${label}: all present (${packages.join(' ')})`);
    return [];
  }
  if (!existsSync('/usr/bin/apt-get') && !existsSync('/bin/apt-get')) {
    console.error(`${label}: missing ${missing.join(' ')}, and no apt-get here: tests that need them will skip`);
    return missing;
  }
  if (!isRoot()) {
    console.error(`${label}: missing ${missing.join(' ')}; not root, so not installing them.`);
    console.error(`  install with: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`);
    console.error('  tests that need them will skip.');
    return missing;
  }
  console.error(`${label}: installing ${missing.join(' ')}`);
  // A failed update (a mirror hiccup) may still leave usable lists: try the install anyway.
  if (!aptGet(['update'])) console.error(`${label}: apt-get update failed; trying the install anyway`);
  if (!aptGet(['install', '-y', '--no-install-recommends', ...missing])) console.error(`${label}: apt-get install failed`);
  return missing.filter((p) => !debInstalled(p));
}
