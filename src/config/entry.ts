import type { ConfigOrigin } from '../util/errors';

/**
 * One `key = value` as a source produced it, before expansion. The flattened
 * list of these, in order, is what --show-config prints.
 */
export interface RawEntry {
  key: string;
  /** null = a command-line flag given without a value (shown as `true`). */
  value: string | null;
  readonly origin: ConfigOrigin;
  /** Acted on while reading (ini, set, if-env...), so never $()/@()/%() expanded, as in uWSGI. */
  readonly immediate: boolean;
  /** Read from an `inherit` template: uWSGI does not expand those either. */
  readonly template: boolean;
  /** For entries from the environment: the variable's name, for messages. */
  readonly envName?: string;
}
