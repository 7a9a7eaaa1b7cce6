/**
 * The init script's one-line output, built from the LSB log_* functions:
 *
 *   Starting app server(s): nuwsgi -> . ! ? done.      (one mark per instance)
 *   Starting app server(s): nuwsgi -> . ! failed!
 *
 * `.` done or already so, `!` failed, `?` no such configuration file; with
 * PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT the names instead: `app/site`,
 * `(app/site)` already so, `app/site!`, `app/site?`. Nothing at all when
 * VERBOSE=no.
 */
import { displayName, type Instance } from './instance';

export type Write = (text: string) => void;

export class Progress {
  constructor(
    private readonly write: Write,
    readonly verbose: boolean,
    private readonly printConfnames: boolean,
  ) {}

  /** A copy that prints nothing (restart's stop half runs with VERBOSE=no). */
  quiet(): Progress {
    return new Progress(this.write, false, this.printConfnames);
  }

  /** log_daemon_msg "Starting app server(s)" "nuwsgi" */
  begin(what: string, name: string): void {
    if (this.verbose) this.write(`${what}: ${name}`);
  }

  /** log_progress_msg: one space-separated word. */
  word(text: string): void {
    if (this.verbose) this.write(` ${text}`);
  }

  ok(instance: Instance): void {
    this.word(this.printConfnames ? displayName(instance) : '.');
  }

  skipped(instance: Instance): void {
    this.word(this.printConfnames ? `(${displayName(instance)})` : '.');
  }

  failed(instance: Instance): void {
    this.word(this.printConfnames ? `${displayName(instance)}!` : '!');
  }

  notFound(namespace: string, name: string): void {
    this.word(this.printConfnames ? `${displayName({ namespace, name })}?` : '?');
  }

  /** log_end_msg: "." for 0, " failed!" otherwise, then the newline. */
  end(code: number): void {
    if (this.verbose) this.write(code === 0 ? '.\n' : ' failed!\n');
  }
}

/** Status lines are printed whatever VERBOSE says (status_of_proc). */
export function statusLine(write: Write, ok: boolean, text: string): void {
  write(ok ? `${text}.\n` : `${text} ... failed!\n`);
}
