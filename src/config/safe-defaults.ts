/**
 * Options that nuwsgi always behaves as "on", whatever the config says,
 * because the "off" behaviour is a trap (see docs/differences.md). Setting one
 * of them false is accepted, and said out loud once, with the reason.
 */
import type { ResolvedOptions } from './options-impl';
import { describeOrigin } from './values';

type Off = (options: ResolvedOptions) => boolean;

/** Each test names its option literally, so the registry's status check sees the option read. */
const ALWAYS_ON: ReadonlyArray<readonly [option: string, isOff: Off, reason: string]> = [
  ['need-app', (o) => o.has('need-app') && !o.bool('need-app'), 'nuwsgi always exits (code 22) when no app loads, instead of answering every request with an error'],
  ['die-on-term', (o) => o.has('die-on-term') && !o.bool('die-on-term'), 'SIGTERM always stops nuwsgi, as systemd, Docker and the emperor expect; reload with SIGHUP or the master FIFO'],
  ['no-orphans', (o) => o.has('no-orphans') && !o.bool('no-orphans'), 'workers always exit when their master dies'],
  ['enable-threads', (o) => o.has('enable-threads') && !o.bool('enable-threads'), 'the GIL is released between Python calls, so threads started by the app always run'],
];

/** One warning line per always-on option that the configuration sets to false. */
export function alwaysOnWarnings(options: ResolvedOptions): string[] {
  const warnings: string[] = [];
  for (const [option, isOff, reason] of ALWAYS_ON) {
    if (!isOff(options)) continue;
    const origin = options.originOf(option);
    const where = origin === undefined ? 'config' : describeOrigin(origin);
    warnings.push(`${where}: option '${option}' is false, but nuwsgi keeps it on: ${reason}`);
  }
  return warnings;
}
