/**
 * The `nuwsgi-service` command: what Debian's /etc/init.d/uwsgi does, over
 * /etc/nuwsgi/apps-enabled, with the same commands, progress marks and exit
 * codes (see docs/debian.md). The only module of the command that ends the
 * process.
 *
 *   nuwsgi-service start|stop|reload|force-reload|restart [NAME...]
 *   nuwsgi-service status NAME
 */
import { readPidfile, isNuwsgiProcess } from './daemon-process';
import { doCommand, type Diagnostics, type InstanceCommand } from './commands';
import { relativeConfForSpec } from './conffiles';
import { instanceFor } from './instance';
import { SERVICE_DESC, SERVICE_NAME, serviceLayout, type ServiceLayout } from './layout';
import { Progress, statusLine, type Write } from './progress';

const USAGE = `Usage: nuwsgi-service {start|stop|status|restart|reload|force-reload} [NAME...]`;

const HELP = `${USAGE}

Manages one nuwsgi instance per configuration file in /etc/nuwsgi/apps-enabled,
as Debian's /etc/init.d/uwsgi does for uWSGI. Without NAMEs a command acts on
every enabled app; NAME is a file name without extension ("site" or "app/site").

  start          start (waits until the app's workers are ready)
  stop           graceful stop (SIGTERM), SIGKILL after 30 s
  reload         graceful reload (SIGHUP)
  force-reload   brutal reload through the app's master FIFO
  restart        stop, then start
  status NAME    LSB status: 0 running, 1 dead with a pidfile, 3 not running

Progress: "." done (or already so), "!" failed, "?" no such configuration file.
Exit status: the number of "!" marks. Settings: /etc/default/nuwsgi.
`;

const MESSAGES: Record<InstanceCommand | 'restart', string> = {
  start: 'Starting',
  stop: 'Stopping',
  reload: 'Reloading',
  'force-reload': 'Forced reloading',
  restart: 'Restarting',
};

export function runServiceCli(argv: string[]): void {
  run(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`nuwsgi-service: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

async function run(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  const out: Write = (text) => process.stdout.write(text);
  if (command === '--help' || command === '-h' || command === 'help') {
    out(HELP);
    return 0;
  }
  if (!isCommand(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 3;
  }
  const layout = serviceLayout(process.env);
  for (const warning of layout.settings.warnings) process.stderr.write(`nuwsgi-service: ${warning}\n`);
  if (command === 'status') return status(layout, names, out);
  const progress = new Progress(out, layout.settings.verbose, layout.settings.printConfnames);
  const diagnostics: Diagnostics = [];
  progress.begin(`${MESSAGES[command]} ${SERVICE_DESC}`, SERVICE_NAME);
  const code = command === 'restart' ? await restart(layout, names, progress, diagnostics) : await doCommand(layout, command, names, progress, diagnostics);
  progress.end(code);
  for (const line of diagnostics) process.stderr.write(`nuwsgi-service: ${line}\n`);
  return code;
}

function isCommand(word: string | undefined): word is InstanceCommand | 'restart' | 'status' {
  return word !== undefined && (Object.hasOwn(MESSAGES, word) || word === 'status');
}

/** stop (quietly), then start only if every stop worked. */
async function restart(layout: ServiceLayout, names: readonly string[], progress: Progress, diagnostics: Diagnostics): Promise<number> {
  const stopErrors = await doCommand(layout, 'stop', names, progress.quiet(), diagnostics);
  if (stopErrors !== 0) return 1;
  return doCommand(layout, 'start', names, progress, diagnostics);
}

/**
 * status_of_proc on the instance's pidfile: 0 running, 1 dead but the
 * pidfile exists, 3 not running, 4 pidfile unreadable. Debian exits 0 after
 * "which one?"; we exit 4 (LSB: status unknown), as a script checking the
 * status must not read "running".
 */
function status(layout: ServiceLayout, names: readonly string[], out: Write): number {
  const [spec, ...extra] = names;
  if (spec === undefined) {
    if (layout.settings.verbose) statusLine(out, false, 'which one?');
    return 4;
  }
  if (extra.length > 0) process.stderr.write(`nuwsgi-service: status takes one name: ignoring ${extra.join(' ')}\n`);
  const relative = relativeConfForSpec(layout, spec);
  const state = relative === undefined ? { kind: 'missing' as const } : readPidfile(instanceFor(layout, relative).pidfile);
  if (state.kind === 'unreadable') {
    statusLine(out, false, `could not access PID file for ${SERVICE_NAME}`);
    return 4;
  }
  if (state.kind === 'pid' && isNuwsgiProcess(state.pid)) {
    statusLine(out, true, `${SERVICE_NAME} is running`);
    return 0;
  }
  statusLine(out, false, `${SERVICE_NAME} is not running`);
  return state.kind === 'pid' ? 1 : 3;
}
