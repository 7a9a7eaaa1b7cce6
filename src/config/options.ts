import type { ConfigOrigin } from '../util/errors';

/**
 * The contract between the configuration layer and everything that consumes it.
 *
 * Values are looked up by the option's canonical registry name (e.g. 'processes',
 * never an alias). Getters return the registry default when the option was not
 * set. Asking for a name the registry does not know is a programming error and
 * throws.
 */
export interface Options {
  /** uWSGI boolean semantics: anything but false/off/no/0 (case-insensitive) is true; empty is true. */
  bool(name: string): boolean;
  /** Integer value (validated when the config was loaded). */
  int(name: string): number;
  /** Scalar value (last occurrence wins), or undefined when unset and without default. */
  str(name: string): string | undefined;
  /** Every occurrence of a list option, in order. Empty when unset. */
  list(name: string): string[];
  /**
   * Every occurrence of several list options, in the order they were given
   * (uWSGI numbers `--http-socket A --socket B --http-socket C` as 0, 1, 2).
   */
  listInOrder(names: readonly string[]): Array<{ name: string; value: string }>;
  /** True when the option was set by any source (argv, env, file). */
  has(name: string): boolean;
  /** Where the option's value (its last occurrence) was set, for errors that name file and line. */
  originOf(name: string): ConfigOrigin | undefined;
}
