import type { OptionSpec } from '../types';

const SECTION = 'Config';

export const CONFIG_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'ini', kind: 'list', type: 'path', status: 'implemented', metavar: 'file[:section]', immediate: true, section: SECTION,
    help: 'load config from an INI file',
  },
  {
    name: 'yaml', aliases: ['yml'], short: 'y', kind: 'list', type: 'path', status: 'implemented', metavar: 'file[:section]', immediate: true, section: SECTION,
    help: 'load config from a YAML file',
  },
  {
    name: 'json', aliases: ['js'], short: 'j', kind: 'list', type: 'path', status: 'implemented', metavar: 'file[:section]', immediate: true, section: SECTION,
    help: 'load config from a JSON file',
  },
  {
    name: 'xml', aliases: ['xmlconfig'], short: 'x', kind: 'list', type: 'path', status: 'implemented', metavar: 'file[:id]', immediate: true, section: SECTION,
    help: 'load config from an XML file',
  },
  {
    name: 'include', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', immediate: true, section: SECTION,
    help: 'include the specified file (any format, by extension) as immediate configuration',
  },
  {
    name: 'inherit', kind: 'list', type: 'path', status: 'implemented', metavar: 'file', immediate: true, section: SECTION,
    help: 'use the specified file as a config template (read last, never expanded)',
  },
  {
    name: 'sqlite', aliases: ['sqlite3'], kind: 'list', type: 'path', status: 'planned', metavar: 'file', immediate: true, section: SECTION,
    help: 'load config from a SQLite database (table uwsgi(option, value))',
  },
  {
    name: 'inject-before', kind: 'list', type: 'path', status: 'planned', metavar: 'file', immediate: true, section: SECTION,
    help: 'inject a text file before the config file (advanced templating)',
  },
  {
    name: 'inject-after', kind: 'list', type: 'path', status: 'planned', metavar: 'file', immediate: true, section: SECTION,
    help: 'inject a text file after the config file (advanced templating)',
  },
  {
    name: 'set', short: 'S', kind: 'list', type: 'kv', status: 'implemented', metavar: 'key=value', immediate: true, section: SECTION,
    help: 'set a placeholder or an option',
  },
  {
    name: 'set-ph', aliases: ['set-placeholder'], kind: 'list', type: 'kv', status: 'implemented', metavar: 'key=value', immediate: true, section: SECTION,
    help: 'set a placeholder (never an option)',
  },
  {
    name: 'declare-option', kind: 'list', type: 'string', status: 'implemented', metavar: 'name=opt=$1[;...]', immediate: true, section: SECTION,
    help: 'declare a new custom option',
  },
  {
    name: 'declare-option2', kind: 'list', type: 'string', status: 'planned', metavar: 'name=opt=$1[;...]', section: SECTION,
    help: 'declare a new custom option (non-immediate)',
  },
  {
    name: 'strict', kind: 'flag', type: 'bool', default: false, status: 'implemented', immediate: true, section: SECTION,
    help: 'unknown options and placeholders become errors instead of warnings',
  },
  {
    name: 'show-config', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION,
    help: 'print the resolved configuration in uWSGI\'s INI format and exit',
  },
  {
    name: 'print-config-json', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION,
    help: 'print the resolved typed configuration as JSON and exit (nuwsgi option)',
  },
  { name: 'print', kind: 'list', type: 'string', status: 'planned', metavar: 'text', section: SECTION, help: 'simple print' },
  {
    name: 'iprint', kind: 'list', type: 'string', status: 'planned', metavar: 'text', immediate: true, section: SECTION,
    help: 'simple print (immediate version)',
  },
  {
    name: 'exit', kind: 'scalar', type: 'string', argument: 'optional', status: 'implemented', metavar: 'status', immediate: true, section: SECTION,
    help: 'stop right here, while the configuration is read, with this exit status (1 without a value); meant inside an if block',
  },
  {
    name: 'help', aliases: ['usage'], short: 'h', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION,
    help: 'show this help and exit',
  },
  {
    name: 'if-env', aliases: ['ifenv'], kind: 'scalar', type: 'string', status: 'implemented', metavar: 'VAR[=value]', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the environment variable is set (and equal)',
  },
  {
    name: 'if-not-env', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'VAR[=value]', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the environment variable is unset (or different)',
  },
  {
    name: 'if-exists', aliases: ['ifexists'], kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path exists',
  },
  {
    name: 'if-not-exists', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path does not exist',
  },
  {
    name: 'if-file', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path is a regular file',
  },
  {
    name: 'if-not-file', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path is not a regular file',
  },
  {
    name: 'if-dir', aliases: ['if-directory', 'ifdir'], kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path is a directory',
  },
  {
    name: 'if-not-dir', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'path', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the path is not a directory',
  },
  {
    name: 'if-opt', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'opt[=value]', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the option was set before (and equal)',
  },
  {
    name: 'if-not-opt', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'opt[=value]', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only if the option was not set before (or different)',
  },
  {
    name: 'if-hostname', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'name', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only on the named host',
  },
  {
    name: 'if-not-hostname', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'name', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply except on the named host',
  },
  {
    name: 'if-hostname-match', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'regexp', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only when the hostname matches the regular expression',
  },
  {
    name: 'if-not-hostname-match', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'regexp', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only when the hostname does not match the regular expression',
  },
  {
    name: 'if-reload', kind: 'flag', type: 'bool', status: 'implemented', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply only on a reload (never, at nuwsgi\'s first read)',
  },
  {
    name: 'if-not-reload', kind: 'flag', type: 'bool', status: 'implemented', immediate: true, section: SECTION,
    help: 'config logic: the following lines apply unless this is a reload',
  },
  {
    name: 'if-plugin', aliases: ['ifplugin'], kind: 'scalar', type: 'string', status: 'implemented', metavar: 'plugin', immediate: true, section: SECTION,
    help: 'config logic: true for python/python3 (built in), false for any other plugin',
  },
  {
    name: 'if-not-plugin', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'plugin', immediate: true, section: SECTION,
    help: 'config logic: the negation of if-plugin',
  },
  {
    name: 'for', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'items', immediate: true, section: SECTION,
    help: 'config logic: repeat the following lines for each space-separated item, as %(_)',
  },
  {
    name: 'for-glob', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'glob', immediate: true, section: SECTION,
    help: 'config logic: repeat the following lines for each path matching the glob, as %(_)',
  },
  {
    name: 'for-times', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'n', immediate: true, section: SECTION,
    help: 'config logic: repeat the following lines n times, %(_) = 1..n',
  },
  {
    name: 'for-readline', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', immediate: true, section: SECTION,
    help: 'config logic: repeat the following lines for each line of the file, as %(_)',
  },
  {
    name: 'endif', aliases: ['end-if'], kind: 'flag', type: 'bool', status: 'implemented', immediate: true, section: SECTION,
    help: 'config logic: close an if block',
  },
  {
    name: 'endfor', aliases: ['end-for'], kind: 'flag', type: 'bool', status: 'implemented', immediate: true, section: SECTION,
    help: 'config logic: close a for block',
  },
  {
    name: 'end', kind: 'flag', type: 'bool', status: 'implemented', immediate: true, section: SECTION,
    help: 'config logic: close an if or for block',
  },
  { name: 'version', kind: 'flag', type: 'bool', default: false, status: 'implemented', section: SECTION, help: 'print the version and exit' },
];
