/**
 * --uid / --gid: become an unprivileged user once the sockets are bound, so a
 * server started as root can listen on port 80 or create its socket under
 * /run and then serve as www-data. Workers are spawned afterwards and inherit
 * the identity.
 *
 * Where uWSGI differs (docs/differences.md): uWSGI drops privileges *before*
 * binding, and with --uid alone it keeps gid 0 and root's supplementary
 * groups. nuwsgi binds first, and --uid alone also takes the user's primary
 * group and its supplementary groups (initgroups), as su and gunicorn do.
 */
import { execFileSync } from 'node:child_process';
import { NuwsgiError } from '../util/errors';

export interface Identity {
  uid: number;
  gid: number | undefined;
  /** The user name, for initgroups(3); undefined for a uid with no passwd entry. */
  user: string | undefined;
}

/** A passwd or group entry by name or number, through NSS (getent), as setuid(3) users expect. */
function getent(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
    return line === undefined || line === '' ? undefined : line.split(':');
  } catch {
    return undefined;
  }
}

/** Resolves --uid/--gid (names or numbers); throws E_CONFIG for an unknown user or group. */
export function resolveIdentity(uid: string | undefined, gid: string | undefined): Identity | undefined {
  if (uid === undefined && gid === undefined) return undefined;
  let identity: Identity = { uid: process.getuid?.() ?? 0, gid: undefined, user: undefined };
  if (uid !== undefined) {
    const pw = getent('passwd', uid);
    if (pw === undefined && !/^\d+$/.test(uid)) throw new NuwsgiError('E_CONFIG', `uid: unknown user "${uid}"`);
    identity = pw === undefined ? { uid: Number(uid), gid: undefined, user: undefined } : { uid: Number(pw[2]), gid: Number(pw[3]), user: pw[0] };
  }
  if (gid !== undefined) {
    const gr = getent('group', gid);
    if (gr === undefined && !/^\d+$/.test(gid)) throw new NuwsgiError('E_CONFIG', `gid: unknown group "${gid}"`);
    identity.gid = gr === undefined ? Number(gid) : Number(gr[2]);
  }
  return identity;
}

/**
 * Drops to `identity`: groups first (it needs root), then the gid, then the
 * uid, in uWSGI's words. Logs the root warning uWSGI prints when there is
 * nothing to drop to.
 */
export function dropPrivileges(identity: Identity | undefined, log: (line: string) => void): void {
  const isRoot = process.getuid?.() === 0;
  if (identity === undefined) {
    if (isRoot) log('*** WARNING: you are running nuwsgi as root !!! (use the --uid flag) ***');
    return;
  }
  try {
    if (identity.gid !== undefined) {
      if (isRoot) {
        if (identity.user !== undefined) (process as { initgroups?: (user: string, group: number) => void }).initgroups?.(identity.user, identity.gid);
        else process.setgroups?.([identity.gid]);
      }
      process.setgid?.(identity.gid);
      log(`setgid() to ${identity.gid}`);
    }
    if (identity.uid !== process.getuid?.()) {
      process.setuid?.(identity.uid);
      log(`setuid() to ${identity.uid}`);
    }
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `cannot drop privileges to uid ${identity.uid}${identity.gid !== undefined ? ` gid ${identity.gid}` : ''}: ${(err as Error).message}`);
  }
  if (process.getuid?.() === 0) log('*** WARNING: you are running nuwsgi as root !!! (use the --uid flag) ***');
}
