import type { OptionSpec } from '../types';

const SECTION = 'Reloading';

export const RELOAD_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'touch-reload', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', implies: ['master'], section: SECTION,
    help: 'reload nuwsgi if the specified file is modified/touched',
  },
  {
    name: 'touch-chain-reload', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', implies: ['master'], section: SECTION,
    help: 'trigger chain reload if the specified file is modified/touched',
  },
  {
    name: 'touch-workers-reload', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', implies: ['master'], section: SECTION,
    help: 'trigger reload of (only) workers if the specified file is modified/touched',
  },
  {
    name: 'touch-logreopen', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', implies: ['master'], section: SECTION,
    help: 'trigger log reopen if the specified file is modified/touched',
  },
  {
    name: 'touch-logrotate', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', implies: ['master'], section: SECTION,
    help: 'trigger logrotation if the specified file is modified/touched',
  },
  {
    name: 'fs-reload', kind: 'list', type: 'path', status: 'planned', metavar: 'path', implies: ['master'], section: SECTION,
    help: 'graceful reload when the specified filesystem object is modified',
  },
  {
    name: 'fs-brutal-reload', kind: 'list', type: 'path', status: 'planned', metavar: 'path', implies: ['master'], section: SECTION,
    help: 'brutal reload when the specified filesystem object is modified',
  },
  {
    name: 'master-fifo', kind: 'list', type: 'path', status: 'implemented', metavar: 'fifo', implies: ['master'], section: SECTION,
    help: 'enable the master fifo',
  },
  { name: 'reload', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'pidfile', section: SECTION, help: 'reload an instance' },
  { name: 'stop', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'pidfile', section: SECTION, help: 'stop an instance' },
  { name: 'pause', kind: 'scalar', type: 'path', status: 'planned', metavar: 'pidfile', section: SECTION, help: 'pause an instance' },
  { name: 'suspend', kind: 'scalar', type: 'path', status: 'planned', metavar: 'pidfile', section: SECTION, help: 'suspend an instance' },
  { name: 'resume', kind: 'scalar', type: 'path', status: 'planned', metavar: 'pidfile', section: SECTION, help: 'resume an instance' },
];
