/**
 * Shapes of the option registry. One `OptionSpec` row per option, as gunicorn's
 * config.py does: everything else (argv parsing, --help, docs/options.md,
 * validation, "did you mean") is derived from the rows.
 */

/** flag = no value on the command line (`--master`); scalar = last wins; list = every occurrence appends. */
export type OptionKind = 'flag' | 'scalar' | 'list';

/**
 * What a value must look like. Validated when the configuration is loaded, so a
 * typo fails at startup with the file and line instead of deep in a worker.
 */
export type OptionType =
  | 'bool' // uWSGI truthiness: anything but false/off/no/0 (empty is true)
  | 'int' // a number read as C's atoi() reads it (uWSGI's way), kept within min/max with a warning
  | 'size' // a non-negative integer count of bytes (or MB where the help says so)
  | 'octal' // file mode digits, e.g. 660
  | 'string'
  | 'path'
  | 'addr' // socket address: /path, host:port, :port, @abstract
  | 'kv'; // KEY=VALUE

/**
 * implemented = nuwsgi does it; planned = a uWSGI option nuwsgi knows but does
 * not do yet (accepted with a warning naming it); refused = a uWSGI feature
 * nuwsgi will never do (accepted with a warning explaining why).
 */
export type OptionStatus = 'implemented' | 'planned' | 'refused';

/** getopt's has_arg: whether the command line takes a value, and how. */
export type ArgumentStyle = 'none' | 'required' | 'optional';

export interface OptionSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Single-letter command-line form, e.g. 'p' for -p. */
  readonly short?: string;
  readonly kind: OptionKind;
  readonly type: OptionType;
  readonly default?: string | number | boolean;
  /** One line, shown by --help and in docs/options.md. */
  readonly help: string;
  readonly section: string;
  readonly status: OptionStatus;
  readonly metavar?: string;
  /** Options switched on when this one is set (e.g. stats implies master). */
  readonly implies?: readonly string[];
  /** For 'refused' (and some 'planned') rows: the reason given in the warning. */
  readonly why?: string;
  readonly min?: number;
  readonly max?: number;
  /**
   * Overrides the argument style derived from `kind` (flags take none, others
   * require one); uWSGI has a few optional-argument options such as chmod-socket.
   */
  readonly argument?: ArgumentStyle;
  /**
   * Acts while the file is being read (ini, include, set, if-env...), so its
   * own value is never $()/@()/%() expanded, exactly as in uWSGI.
   */
  readonly immediate?: boolean;
  /** Only for the docs: why nuwsgi's default differs from uWSGI's. */
  readonly note?: string;
}
