/**
 * --chdir: uWSGI's master chdir()s before it binds its sockets, and a
 * directory it cannot enter ends the start (`chdir(): No such file or
 * directory`, exit 1). nuwsgi's master stays where it was started and each
 * worker enters the directory, so without this check a typo would surface as
 * every worker failing to boot, respawned for ever under a master. It runs
 * where uWSGI's chdir does: after the `asap` hooks (which may create the
 * directory), before anything is bound, and again on a reload.
 */
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import { ConfigError, type ConfigOrigin } from '../util/errors';
import { errnoWords, libc } from '../util/libc';

export function checkChdir(dir: string | undefined, origin: ConfigOrigin | undefined): void {
  if (dir === undefined) return;
  const why = whyNotEnterable(dir);
  if (why !== undefined) throw new ConfigError(`chdir() to ${dir}: ${why}`, origin, 'chdir');
}

/** strerror(3)'s words for what chdir(2) would fail with, or undefined when it would succeed. */
function whyNotEnterable(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return libc().strerror(os.constants.errno.ENOTDIR);
    accessSync(dir, constants.X_OK); // chdir(2) needs search permission
    return undefined;
  } catch (err) {
    return errnoWords(err);
  }
}
