/**
 * uWSGI's hooks (core/hooks.c): `ACTION:ARGS` lines run at fixed moments —
 * hook-asap, hook-as-root, hook-as-user and hook-master-start in the master,
 * hook-pre-app, hook-post-app and hook-accepting in each worker (nuwsgi
 * always loads the app in the workers, uWSGI's lazy-apps).
 *
 * Every hook is fatal, as in uWSGI: a failing one stops the instance.
 * Actions nuwsgi cannot do (call: a C symbol, mount, rpc...) are refused
 * when the configuration is read, rather than skipped at run time.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, unlinkSync, writeFileSync, appendFileSync, closeSync, openSync } from 'node:fs';
import { NuwsgiError } from './errors';
import { atoi } from './kvlist';

export type HookPhase = 'asap' | 'as root' | 'as user' | 'master-start' | 'post-fork' | 'pre app' | 'post app' | 'accepting';

/** The functions `unix_signal:N FUNC` may bind in the master (uWSGI's names), and what each does. */
export type MasterSignalAction = 'gracefully_kill_them_all' | 'kill_them_all' | 'grace_them_all' | 'reap_them_all' | 'suspend_resume_them_all' | 'stats';
export const MASTER_SIGNAL_ACTIONS: readonly MasterSignalAction[] = [
  'gracefully_kill_them_all', 'kill_them_all', 'grace_them_all', 'reap_them_all', 'suspend_resume_them_all', 'stats',
];

const SUPPORTED = ['exec', 'safeexec', 'print', 'log', 'mkdir', 'putenv', 'unlink', 'write', 'writen', 'append', 'appendn', 'create', 'creat', 'chdir', 'cd', 'chmod', 'unix_signal'];
const UWSGI_ONLY = ['call', 'callret', 'callint', 'callintret', 'mount', 'umount', 'chown', 'chown2', 'sticky', 'hostname', 'alarm', 'rpc', 'retryrpc', 'wait_for_fs', 'wait_for_file', 'wait_for_dir', 'wait_for_socket', 'spinningfifo', 'writefifo', 'exit'];

export interface Hook {
  action: string;
  arg: string;
  /** `!action`: uWSGI's private hook, whose line is not logged. */
  private: boolean;
  raw: string;
}

/** Checks a hook line when the configuration is read. */
export function parseHook(option: string, line: string): Hook {
  const colon = line.indexOf(':');
  if (colon < 0) throw new NuwsgiError('E_CONFIG', `${option} "${line}": invalid hook syntax, must be hook:args`);
  let action = line.slice(0, colon);
  const isPrivate = action.startsWith('!');
  if (isPrivate) action = action.slice(1);
  if (UWSGI_ONLY.includes(action)) throw new NuwsgiError('E_CONFIG', `${option} "${line}": hook action "${action}" is not supported by nuwsgi (supported: ${SUPPORTED.join(', ')})`);
  if (!SUPPORTED.includes(action)) throw new NuwsgiError('E_CONFIG', `${option} "${line}": hook action not found: ${action}`);
  const arg = line.slice(colon + 1);
  if (action === 'unix_signal') checkUnixSignal(option, line, arg);
  return { action, arg, private: isPrivate, raw: line };
}

function checkUnixSignal(option: string, line: string, arg: string): void {
  const space = arg.indexOf(' ');
  if (space < 0) throw new NuwsgiError('E_CONFIG', `${option} "${line}": invalid unix_signal syntax, must be <signum> <func>`);
  const fn = arg.slice(space + 1).trim();
  if (!(MASTER_SIGNAL_ACTIONS as readonly string[]).includes(fn)) {
    throw new NuwsgiError('E_CONFIG', `${option} "${line}": unix_signal function "${fn}" is not available in nuwsgi (available: ${MASTER_SIGNAL_ACTIONS.join(', ')})`);
  }
  if (option !== 'hook-master-start') {
    throw new NuwsgiError('E_CONFIG', `${option} "${line}": unix_signal rebinds the master's signals: use it in hook-master-start`);
  }
}

export interface HookContext {
  log(line: string): void;
  /** unix_signal: bind signal N to one of the master's actions (the master only). */
  bindSignal?: (signum: number, action: MasterSignalAction) => void;
}

/**
 * Runs the hooks of one phase in order; returns false (after uWSGI's FATAL
 * line) when one failed, and the caller stops the instance.
 */
export function runHooks(hooks: readonly Hook[], phase: HookPhase, ctx: HookContext): boolean {
  for (const hook of hooks) {
    ctx.log(hook.private ? `running --- PRIVATE HOOK --- (${phase})...` : `running "${hook.raw}" (${phase})...`);
    let ok: boolean;
    try {
      ok = runOne(hook, ctx);
    } catch (err) {
      ctx.log(`hook ${hook.action}: ${(err as Error).message}`);
      ok = false;
    }
    if (!ok) {
      ctx.log('FATAL hook failed, destroying instance');
      return false;
    }
  }
  return true;
}

function runOne(hook: Hook, ctx: HookContext): boolean {
  const arg = hook.arg;
  switch (hook.action) {
    case 'exec':
    case 'safeexec': {
      const r = spawnSync('/bin/sh', ['-c', arg], { stdio: ['ignore', 'inherit', 'inherit'] });
      const code = r.status ?? (r.signal !== null ? 1 : 0);
      if (code !== 0) ctx.log(`command "${arg}" exited with non-zero code: ${code}`);
      return hook.action === 'safeexec' || code === 0;
    }
    case 'print':
    case 'log':
      ctx.log(arg);
      return true;
    case 'mkdir':
      mkdirSync(arg, 0o777);
      return true;
    case 'putenv': {
      const eq = arg.indexOf('=');
      if (eq <= 0) throw new Error(`"${arg}" is not NAME=VALUE`);
      process.env[arg.slice(0, eq)] = arg.slice(eq + 1);
      return true;
    }
    case 'unlink':
      unlinkSync(arg);
      return true;
    case 'create':
    case 'creat':
      closeSync(openSync(arg, 'w', 0o666));
      return true;
    case 'write':
    case 'writen':
    case 'append':
    case 'appendn':
      return writeHook(hook.action, arg);
    case 'chdir':
    case 'cd':
      process.chdir(arg);
      return true;
    case 'chmod': {
      const [file, mode] = splitFirst(arg);
      chmodSync(file, Number.parseInt(mode, 8));
      return true;
    }
    case 'unix_signal': {
      const [signum, fn] = splitFirst(arg);
      if (ctx.bindSignal === undefined) throw new Error('unix_signal only acts in the master');
      ctx.bindSignal(atoi(signum), fn.trim() as MasterSignalAction);
      return true;
    }
    default:
      return false;
  }
}

/** write/append FILE TEXT; the -n forms add a newline. */
function writeHook(action: string, arg: string): boolean {
  const [file, text] = splitFirst(arg);
  if (text === '' && !arg.includes(' ')) throw new Error(`invalid hook ${action} syntax, must be: <file> <string>`);
  const data = action.endsWith('n') ? `${text}\n` : text;
  if (action.startsWith('append')) appendFileSync(file, data, { mode: 0o666 });
  else writeFileSync(file, data, { mode: 0o666 });
  return true;
}

function splitFirst(arg: string): [string, string] {
  const space = arg.indexOf(' ');
  return space < 0 ? [arg, ''] : [arg.slice(0, space), arg.slice(space + 1)];
}

export interface HookPlan {
  asap: Hook[];
  asRoot: Hook[];
  asUser: Hook[];
  masterStart: Hook[];
  postFork: Hook[];
  preApp: Hook[];
  postApp: Hook[];
  accepting: Hook[];
}

export function hookPlan(o: { list(name: string): string[] }): HookPlan {
  const read = (option: string): Hook[] => o.list(option).map((line) => parseHook(option, line));
  return {
    asap: read('hook-asap'),
    asRoot: read('hook-as-root'),
    asUser: read('hook-as-user'),
    masterStart: read('hook-master-start'),
    postFork: read('hook-post-fork'),
    preApp: read('hook-pre-app'),
    postApp: read('hook-post-app'),
    accepting: read('hook-accepting'),
  };
}
