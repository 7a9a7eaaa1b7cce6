/**
 * Habits from gunicorn (and other servers) that mean something else, or
 * nothing, in uWSGI's language: a one-line hint naming the nuwsgi spelling.
 *
 *   gunicorn -b 0.0.0.0:8000 -w 4 app:app
 *   nuwsgi --http-socket 0.0.0.0:8000 --processes 4 --module app:app
 */
import { ConfigError } from '../util/errors';
import type { ResolvedOptions } from './options-impl';
import { describeOrigin, where } from './values';

/** gunicorn long options that uWSGI does not have, and what nuwsgi calls them. */
const GUNICORN_LONG: Readonly<Record<string, string>> = {
  bind: '--http-socket ADDR (HTTP) or --socket ADDR (uwsgi protocol, behind nginx)',
  timeout: '--harakiri SECONDS',
  'graceful-timeout': '--worker-reload-mercy SECONDS',
  'keep-alive': '--http-keepalive',
  'max-requests-jitter': '--max-requests-delta N',
  'worker-class': '--threads N (nuwsgi has no worker classes)',
  'access-logfile': '--logto FILE (request lines go to the same log)',
  'error-logfile': '--logto FILE',
  'log-level': '--disable-logging to silence request lines',
  user: '--uid USER',
  group: '--gid GROUP',
  daemon: '--daemonize LOGFILE',
  pid: '--pidfile FILE',
  preload: 'nothing: nuwsgi loads the app before serving, always',
  'reload-engine': '--py-autoreload SECONDS',
};

/** ` (gunicorn's --bind is --http-socket ... in nuwsgi)` for an unknown long option, or ''. */
export function gunicornOptionHint(typed: string): string {
  const spelling = GUNICORN_LONG[typed];
  return spelling === undefined ? '' : ` (gunicorn's --${typed} is ${spelling} in nuwsgi)`;
}

const MODULE_CALLABLE = /^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(\))?$/;

/** `-b 0.0.0.0:8000`: an address given to buffer-size. */
const looksLikeBind = (value: string): boolean => value.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value === 'localhost';
/** `-w 4`: a number given to module. */
const looksLikeWorkerCount = (value: string): boolean => /^\d+$/.test(value);

/**
 * What a bare command-line argument that is not a config file probably meant,
 * or ''; `options` are the command line's options, so that `-b ADDR -w N app:app`
 * gets the whole nuwsgi spelling in one line.
 */
export function bareArgumentHint(arg: string, options: ReadonlyArray<{ key: string; value: string | null }> = []): string {
  const spelled: string[] = [];
  if (MODULE_CALLABLE.test(arg)) spelled.push(`--module ${arg}`);
  else if (/\.(py|wsgi)$/.test(arg)) spelled.push(`--wsgi-file ${arg}`);
  if (spelled.length === 0) return '';
  for (const { key, value } of options) {
    if (value === null) continue;
    if (key === 'buffer-size' && looksLikeBind(value)) spelled.push(`--http-socket ${value} (-b is --buffer-size)`);
    if (key === 'module' && looksLikeWorkerCount(value)) spelled.push(`--processes ${value} (-w is --module)`);
  }
  return `; did you mean ${spelled.join(' ')}?`;
}

/**
 * Values that cannot be what the letter means in uWSGI, because they are what
 * the same letter means in gunicorn: `-b 0.0.0.0:8000` (buffer-size) and
 * `-w 4` (module). Throws a ConfigError with the nuwsgi spelling.
 */
export function checkGunicornHabits(options: ResolvedOptions): void {
  const buffer = options.has('buffer-size') ? (options.str('buffer-size') ?? '') : '';
  if (looksLikeBind(buffer)) {
    const origin = options.originOf('buffer-size');
    throw new ConfigError(
      `-b is uWSGI's --buffer-size (bytes), got '${buffer}'; for gunicorn's bind use --http-socket ${buffer}${origin === undefined ? '' : where(origin)}`,
      origin,
      'buffer-size',
    );
  }
  const module = options.str('module') ?? '';
  if (looksLikeWorkerCount(module)) {
    const origin = options.originOf('module');
    throw new ConfigError(
      `'${module}' is not a module name: -w is --module in uWSGI; gunicorn's -w (the number of workers) is --processes ${module}${origin === undefined ? '' : where(origin)}`,
      origin,
      'module',
    );
  }
}

/**
 * `socket = 8000`: uWSGI (and so nuwsgi) takes an address without ':' as a
 * UNIX socket path, so this creates a file named 8000. Kept, as in uWSGI, but
 * said once per option, since a port was almost certainly meant.
 */
export function portWithoutColonWarnings(options: ResolvedOptions): string[] {
  const warnings: string[] = [];
  const sockets: Array<[string, string[]]> = [
    ['socket', options.list('socket')],
    ['http-socket', options.list('http-socket')],
  ];
  for (const [option, values] of sockets) {
    const port = values.find((value) => /^\d+$/.test(value));
    if (port === undefined) continue;
    const origin = options.originOf(option);
    const where = origin === undefined ? 'config' : describeOrigin(origin);
    warnings.push(`${where}: ${option} '${port}' has no ':', so it is a UNIX socket file named '${port}' (as in uWSGI); for TCP port ${port} write ':${port}'`);
  }
  return warnings;
}
