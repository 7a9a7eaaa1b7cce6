import type { OptionSpec } from '../types';

const SECTION = 'Emperor';

export const EMPEROR_OPTIONS: readonly OptionSpec[] = [
  { name: 'emperor', kind: 'list', type: 'string', status: 'implemented', metavar: 'dir|glob', section: SECTION, help: 'run the Emperor' },
  {
    name: 'emperor-freq', kind: 'scalar', type: 'int', default: 3, min: 1, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the Emperor scan frequency (default 3 seconds)',
  },
  {
    name: 'emperor-nofollow', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'do not follow symlinks when checking for mtime',
  },
  {
    name: 'emperor-extra-extension', aliases: ['emperor-extra-ext'], kind: 'list', type: 'string', status: 'implemented', metavar: 'ext', section: SECTION,
    help: 'allows the specified extension in the Emperor (nuwsgi reads such vassals as INI; uWSGI calls them with --config)',
  },
  { name: 'emperor-tyrant', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION, help: 'put the Emperor in Tyrant mode' },
  {
    name: 'emperor-tyrant-nofollow', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'do not follow symlinks when checking for uid/gid in Tyrant mode',
  },
  {
    name: 'emperor-graceful-shutdown', kind: 'flag', type: 'bool', default: true, status: 'implemented', section: SECTION,
    help: 'use vassals graceful shutdown during ragnarok',
    note: 'on by default: a vassal told to stop finishes its in-flight requests (uWSGI kills them unless this is set)',
  },
  {
    name: 'emperor-required-heartbeat', kind: 'scalar', type: 'int', default: 30, min: 1, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the Emperor tolerance about heartbeats',
  },
  {
    name: 'emperor-throttle', kind: 'scalar', type: 'int', default: 1000, min: 1, status: 'implemented', metavar: 'msecs', section: SECTION,
    help: 'set throttling level (in milliseconds) for bad behaving vassals (default 1000)',
  },
  {
    name: 'emperor-max-throttle', kind: 'scalar', type: 'int', default: 180000, min: 1, status: 'implemented', metavar: 'msecs', section: SECTION,
    help: 'set max throttling level (in milliseconds) for bad behaving vassals (default 3 minutes)',
  },
  {
    name: 'emperor-curse-tolerance', kind: 'scalar', type: 'int', default: 30, min: 1, status: 'implemented', metavar: 'secs', section: SECTION,
    help: 'set the Emperor tolerance about cursed vassals: seconds a vassal told to stop may take before SIGKILL',
  },
  {
    name: 'emperor-on-demand-extension', aliases: ['emperor-on-demand-ext'], kind: 'scalar', type: 'string', status: 'implemented', metavar: 'ext', section: SECTION,
    help: 'on-demand vassals: the socket name is the first line of the file named like the vassal file plus this extension',
  },
  {
    name: 'emperor-on-demand-directory', aliases: ['emperor-on-demand-dir'], kind: 'scalar', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'on-demand vassals: bind the unix socket DIR/<vassal name>.socket and start the vassal on its first connection',
  },
  {
    name: 'emperor-on-demand-exec', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'cmd', section: SECTION,
    help: 'on-demand vassals: the socket name is the first line the command prints (the vassal file is its only argument)',
  },
  {
    name: 'emperor-stats', aliases: ['emperor-stats-server'], kind: 'scalar', type: 'addr', status: 'implemented', metavar: 'addr', section: SECTION,
    help: 'run the Emperor stats server',
  },
  {
    name: 'emperor-pidfile', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'write the Emperor pid in the specified file',
  },
  {
    name: 'vassals-inherit', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'add config templates to vassals config (uses --inherit)',
  },
  {
    name: 'vassals-include', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'include config templates to vassals config (uses --include instead of --inherit)',
  },
  {
    name: 'vassals-inherit-before', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'add config templates to vassals config (uses --inherit, parses before the vassal file)',
  },
  {
    name: 'vassals-include-before', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'include config templates to vassals config (uses --include instead of --inherit, parses before the vassal file)',
  },
  {
    name: 'vassal-set', aliases: ['vassals-set'], kind: 'list', type: 'kv', status: 'implemented', metavar: 'key=value', section: SECTION,
    help: 'automatically set the specified option (via --set) for every vassal',
  },
];
