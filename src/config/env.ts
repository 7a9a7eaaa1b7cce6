/**
 * Options from the environment, read first (before the command line), as
 * uWSGI does: `UWSGI_SOCKET=:3031` is `socket = :3031`, `UWSGI_DEB_CONFNAME=x`
 * is the placeholder `deb-confname = x`. The rest of the name is lowercased
 * and `_` becomes `-`.
 *
 * `NUWSGI_*` is nuwsgi's own prefix with the same rules; for a key set under
 * both prefixes the NUWSGI_ value wins and the UWSGI_ one is dropped.
 */
import type { RawEntry } from './entry';

/** Names uWSGI uses for its own plumbing (reloads, the emperor), never options. */
export const EXCLUDED_ENV_SUFFIXES: readonly string[] = [
  'RELOADS',
  'VASSALS_DIR',
  'EMPEROR_FD',
  'EMPEROR_FD_CONFIG',
  'EMPEROR_HEARTBEAT', // nuwsgi's own: the emperor's heartbeat tolerance, for its vassals (src/emperor/protocol.ts)
  'EMPEROR_PROXY',
  'BROODLORD_NUM',
  'JAIL_PID',
  'ORIGINAL_PROC_NAME',
];

const PREFIXES = ['NUWSGI_', 'UWSGI_'] as const;

/** The option key for an environment variable name, or undefined when it is not one. */
export function envNameToKey(name: string): { key: string; prefix: (typeof PREFIXES)[number] } | undefined {
  for (const prefix of PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    if (suffix === '' || EXCLUDED_ENV_SUFFIXES.includes(suffix)) return undefined;
    return { key: suffix.toLowerCase().replace(/_/g, '-'), prefix };
  }
  return undefined;
}

/** Entries in the environment's own order, NUWSGI_ winning over UWSGI_ for the same key. */
export function envEntries(env: NodeJS.ProcessEnv): RawEntry[] {
  const found: Array<{ key: string; value: string; name: string; ours: boolean }> = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const parsed = envNameToKey(name);
    if (parsed !== undefined) found.push({ key: parsed.key, value, name, ours: parsed.prefix === 'NUWSGI_' });
  }
  const ourKeys = new Set(found.filter((f) => f.ours).map((f) => f.key));
  return found
    .filter((f) => f.ours || !ourKeys.has(f.key))
    .map((f) => ({ key: f.key, value: f.value, origin: { source: 'env' }, immediate: false, template: false, envName: f.name }));
}
