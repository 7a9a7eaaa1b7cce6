import type { OptionSpec } from '../types';

const SECTION = 'Emperor';

export const EMPEROR_OPTIONS: readonly OptionSpec[] = [
  { name: 'emperor', kind: 'list', type: 'string', status: 'planned', metavar: 'dir|glob', section: SECTION, help: 'run the Emperor' },
  {
    name: 'emperor-freq', kind: 'scalar', type: 'int', default: 3, status: 'planned', metavar: 'secs', section: SECTION,
    help: 'set the Emperor scan frequency (default 3 seconds)',
  },
  {
    name: 'emperor-nofollow', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'do not follow symlinks when checking for mtime',
  },
  {
    name: 'emperor-extra-extension', kind: 'list', type: 'string', status: 'planned', metavar: 'ext', section: SECTION,
    help: 'allows the specified extension in the Emperor (vassal will be called with --config)',
  },
  { name: 'emperor-tyrant', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'put the Emperor in Tyrant mode' },
  {
    name: 'emperor-tyrant-nofollow', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'do not follow symlinks when checking for uid/gid in Tyrant mode',
  },
  {
    name: 'emperor-graceful-shutdown', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'use vassals graceful shutdown during ragnarok',
  },
  {
    name: 'emperor-required-heartbeat', kind: 'scalar', type: 'int', default: 30, status: 'planned', metavar: 'secs', section: SECTION,
    help: 'set the Emperor tolerance about heartbeats',
  },
  {
    name: 'emperor-throttle', kind: 'scalar', type: 'int', default: 1000, status: 'planned', metavar: 'msecs', section: SECTION,
    help: 'set throttling level (in milliseconds) for bad behaving vassals (default 1000)',
  },
  {
    name: 'emperor-max-throttle', kind: 'scalar', type: 'int', default: 180000, status: 'planned', metavar: 'msecs', section: SECTION,
    help: 'set max throttling level (in milliseconds) for bad behaving vassals (default 3 minutes)',
  },
  {
    name: 'emperor-curse-tolerance', kind: 'scalar', type: 'int', default: 30, status: 'planned', metavar: 'n', section: SECTION,
    help: 'set the Emperor tolerance about cursed vassals',
  },
  {
    name: 'emperor-stats', aliases: ['emperor-stats-server'], kind: 'scalar', type: 'addr', status: 'planned', metavar: 'addr', section: SECTION,
    help: 'run the Emperor stats server',
  },
  {
    name: 'emperor-pidfile', kind: 'scalar', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'write the Emperor pid in the specified file',
  },
  {
    name: 'vassals-inherit', kind: 'list', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'add config templates to vassals config (uses --inherit)',
  },
  {
    name: 'vassals-include', kind: 'list', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'include config templates to vassals config (uses --include instead of --inherit)',
  },
  {
    name: 'vassals-inherit-before', kind: 'list', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'add config templates to vassals config (uses --inherit, parses before the vassal file)',
  },
  {
    name: 'vassals-include-before', kind: 'list', type: 'path', status: 'planned', metavar: 'file', section: SECTION,
    help: 'include config templates to vassals config (uses --include instead of --inherit, parses before the vassal file)',
  },
  {
    name: 'vassal-set', kind: 'list', type: 'kv', status: 'planned', metavar: 'key=value', section: SECTION,
    help: 'automatically set the specified option (via --set) for every vassal',
  },
];
