import type { OptionSpec } from '../types';

const SECTION = 'Python';

export const PYTHON_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'python', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'interpreter', section: SECTION,
    help: 'Python interpreter to embed (default: python3 on PATH; nuwsgi option)',
  },
  {
    name: 'module', aliases: ['wsgi'], short: 'w', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'module[:callable]', section: SECTION,
    help: 'load a WSGI module (pkg.mod, pkg.mod:callable or pkg.mod:factory())',
  },
  {
    name: 'wsgi-file', aliases: ['file'], kind: 'scalar', type: 'path', status: 'implemented', metavar: 'file', section: SECTION,
    help: 'load a file as Python source, whatever its extension (app.py, mod_wsgi-style app.wsgi), as the WSGI app',
  },
  {
    name: 'callable', kind: 'scalar', type: 'string', default: 'application', status: 'implemented', metavar: 'name', section: SECTION,
    help: 'set the default WSGI callable name',
  },
  {
    name: 'home', aliases: ['virtualenv', 'venv', 'pyhome'], short: 'H', kind: 'scalar', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'set PYTHONHOME/virtualenv',
  },
  {
    name: 'pythonpath', aliases: ['python-path', 'pp'], kind: 'list', type: 'path', status: 'implemented', metavar: 'dir', section: SECTION,
    help: 'add directory (or glob) to sys.path',
  },
  { name: 'env', kind: 'list', type: 'kv', status: 'implemented', metavar: 'KEY=VALUE', section: SECTION, help: 'set an environment variable' },
  { name: 'unenv', kind: 'list', type: 'string', status: 'planned', metavar: 'KEY', section: SECTION, help: 'unset environment variable' },
  { name: 'envdir', kind: 'list', type: 'path', status: 'planned', metavar: 'dir', section: SECTION, help: 'load a daemontools compatible envdir' },
  {
    name: 'autoload', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'try to autoload a plugin for unknown options (nuwsgi has no plugins: accepted silently)',
  },
  {
    name: 'plugins', aliases: ['plugin', 'need-plugin'], kind: 'list', type: 'string', status: 'planned', immediate: true, section: SECTION,
    help: 'load uWSGI plugins (Python is built in: python/python3 are accepted silently; others do not exist)',
  },
  {
    name: 'mount', kind: 'list', type: 'kv', status: 'implemented', metavar: '/mountpoint=app', section: SECTION,
    help: 'load application under mountpoint',
  },
  {
    name: 'asgi', kind: 'scalar', type: 'string', status: 'implemented', metavar: 'module[:callable]', section: SECTION,
    help: 'load an ASGI 3 app (pkg.mod, pkg.mod:app or pkg.mod:factory()) on an asyncio loop in each worker (nuwsgi option)',
  },
  {
    name: 'interface', kind: 'scalar', type: 'string', default: 'auto', status: 'implemented', metavar: 'auto|wsgi|asgi', section: SECTION,
    help: 'how to call --module/--wsgi-file/--mount apps: auto detects ASGI 3 (a coroutine function or an object whose __call__ is one), as uvicorn (nuwsgi option)',
  },
  {
    name: 'lifespan', kind: 'scalar', type: 'string', default: 'auto', status: 'implemented', metavar: 'auto|on|off', section: SECTION,
    help: 'ASGI lifespan: startup before the worker is ready (a failure stops it), shutdown on graceful stop; auto tolerates apps without it, as uvicorn (nuwsgi option)',
  },
  {
    name: 'asgi-loop', kind: 'scalar', type: 'string', default: 'auto', status: 'implemented', metavar: 'auto|asyncio|uvloop', section: SECTION,
    help: "the ASGI event loop: auto = uvloop when importable, else asyncio (uvicorn's --loop; uWSGI's --loop picks a loop engine; nuwsgi option)",
  },
  {
    name: 'asgi-concurrency', kind: 'scalar', type: 'int', default: 100, min: 1, max: 65535, status: 'implemented', metavar: 'n', section: SECTION,
    help: 'most ASGI requests in flight per worker, an open WebSocket counting as one; past it connections wait in the listen backlog (nuwsgi option)',
  },
  {
    name: 'ws-max-size', kind: 'scalar', type: 'int', default: 16777216, min: 1, status: 'implemented', metavar: 'bytes', section: SECTION,
    help: "largest WebSocket message an ASGI app receives (after decompression); a bigger one closes the connection with 1009 (uvicorn's --ws-max-size; nuwsgi option)",
  },
  {
    name: 'ws-ping-interval', kind: 'scalar', type: 'int', default: 20, min: 0, status: 'implemented', metavar: 'secs', section: SECTION,
    help: "seconds between the pings Node sends on each ASGI WebSocket, 0 = none (uvicorn's --ws-ping-interval; nuwsgi option)",
  },
  {
    name: 'ws-ping-timeout', kind: 'scalar', type: 'int', default: 20, min: 1, status: 'implemented', metavar: 'secs', section: SECTION,
    help: "seconds a WebSocket client has to answer a ping before the connection is closed with 1011 (uvicorn's --ws-ping-timeout; nuwsgi option)",
  },
  {
    name: 'ws-per-message-deflate', kind: 'flag', type: 'bool', default: true, argument: 'optional', status: 'implemented', section: SECTION,
    help: "accept the permessage-deflate compression WebSocket clients offer (RFC 7692); on by default as uvicorn's, =false turns it off (nuwsgi option)",
  },
  {
    name: 'manage-script-name', kind: 'flag', type: 'bool', status: 'implemented', section: SECTION,
    help: 'automatically rewrite SCRIPT_NAME and PATH_INFO',
  },
  {
    name: 'py-autoreload', aliases: ['python-autoreload', 'py-auto-reload', 'python-auto-reload'], kind: 'scalar', type: 'int', status: 'implemented', metavar: 'secs', implies: ['master', 'enable-threads'], section: SECTION,
    help: 'monitor python modules mtime to trigger reload (use only in development)',
  },
  {
    name: 'import', aliases: ['pyimport', 'py-import', 'python-import'], kind: 'list', type: 'string', status: 'planned', metavar: 'module', section: SECTION,
    help: 'import a python module',
  },
  {
    name: 'shared-import', aliases: ['shared-pyimport', 'shared-py-import', 'shared-python-import'], kind: 'list', type: 'string', status: 'planned', metavar: 'module', section: SECTION,
    help: 'import a python module in all of the processes',
  },
  {
    name: 'pymodule-alias', kind: 'list', type: 'kv', status: 'planned', metavar: 'alias=module', section: SECTION,
    help: 'add a python alias module',
  },
  { name: 'pyargv', kind: 'scalar', type: 'string', status: 'planned', metavar: 'args', section: SECTION, help: 'manually set sys.argv' },
  { name: 'wsgi-disable-file-wrapper', kind: 'flag', type: 'bool', status: 'planned', section: SECTION, help: 'disable wsgi.file_wrapper feature' },
  {
    name: 'wsgi-env-behaviour', aliases: ['wsgi-env-behavior'], kind: 'scalar', type: 'string', status: 'planned', metavar: 'cheat|holy', section: SECTION,
    help: 'set the strategy for allocating/deallocating the WSGI env',
  },
  {
    name: 'gevent', kind: 'scalar', type: 'int', status: 'planned', metavar: 'n', section: SECTION,
    help: 'a gevent loop with n async cores (gevent plugin)',
  },
  { name: 'async', kind: 'scalar', type: 'int', status: 'planned', metavar: 'n', section: SECTION, help: 'enable async mode with specified cores' },
  { name: 'eval', kind: 'scalar', type: 'string', status: 'planned', metavar: 'code', section: SECTION, help: 'eval python code' },
  {
    name: 'optimize', short: 'O', kind: 'scalar', type: 'int', status: 'planned', metavar: 'level', section: SECTION,
    help: 'set python optimization level',
  },
  {
    name: 'sharedarea', short: 'A', kind: 'list', type: 'string', status: 'planned', section: SECTION,
    help: 'create a raw shared memory area of specified pages (note: it supports keyval too)',
  },
  {
    name: 'reaper', short: 'r', kind: 'flag', type: 'bool', status: 'planned', section: SECTION,
    help: 'call waitpid(-1,...) after each request to get rid of zombies',
  },
  {
    name: 'cgi-mode', short: 'c', kind: 'flag', type: 'bool', status: 'refused', section: SECTION,
    help: 'force CGI-mode for plugins supporting it',
    why: 'CGI mode is a uWSGI CGI-plugin feature; nuwsgi serves WSGI only',
  },
  { name: 'test', short: 'J', kind: 'scalar', type: 'string', status: 'planned', metavar: 'module', section: SECTION, help: 'test a module import' },
  {
    name: 'vhost', kind: 'flag', type: 'bool', status: 'refused', section: SECTION,
    help: 'enable virtualhosting mode (based on SERVER_NAME variable)',
    why: 'virtualhosting loads apps chosen by request variables (UWSGI_SCRIPT, SERVER_NAME): remote code loading',
  },
  {
    name: 'vhost-host', kind: 'flag', type: 'bool', status: 'refused', section: SECTION,
    help: 'enable virtualhosting mode (based on HTTP_HOST variable)',
    why: 'virtualhosting loads apps chosen by the Host header: remote code loading',
  },
  {
    name: 'remap-modifier', kind: 'list', type: 'string', status: 'refused', section: SECTION,
    help: 'remap request modifier from one id to another',
    why: 'remapping modifiers could route requests to uWSGI\'s code-eval modifier 22; nuwsgi only serves WSGI (modifier 0)',
  },
];
