/**
 * Where uWSGI reads a configuration file or an `@(...)` from
 * (uwsgi_open_and_read): a path (relative to the working directory), `-`
 * for standard input, `fd://N` for an inherited descriptor, `exec://cmd`
 * for a command's standard output. `http://` is refused on purpose
 * (docs/differences.md); uWSGI's binary-only schemes (`data://`, `sym://`,
 * `section://`, `call://`, `callint://`, `emperor://`) name things a C
 * binary has and nuwsgi does not.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface SourceText {
  readonly text: string;
  /** `exec://` only: the command's exit status when it was not 0 (uWSGI uses the output all the same). */
  readonly failedStatus?: number | string;
}

/**
 * Why a source cannot be read. `code` is set (ENOENT, EACCES...) when a file
 * or descriptor could not be read, and the caller words it; otherwise the
 * message says why (the caller names the reference).
 */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const BINARY_SCHEMES = ['data', 'sym', 'section', 'call', 'callint', 'emperor'];

/** `exec` of `exec://cmd`; undefined for a plain path. */
function schemeOf(reference: string): string | undefined {
  return /^([a-z0-9]+):\/\//.exec(reference)?.[1];
}

/** uWSGI's registered schemes (`uwsgi_check_scheme`) and `-`: configs that are not files, with no path of their own. */
export function isSchemeSource(reference: string): boolean {
  if (reference === '-') return true;
  const scheme = schemeOf(reference);
  return scheme !== undefined && (scheme === 'fd' || scheme === 'exec' || scheme === 'http' || BINARY_SCHEMES.includes(scheme));
}

export function readSource(reference: string, cwd: string): SourceText {
  if (reference === '-') return { text: readDescriptor(0, reference) };
  const scheme = schemeOf(reference);
  if (scheme === undefined) return { text: readPath(reference, cwd) };
  const rest = reference.slice(scheme.length + 3);
  if (scheme === 'fd') return { text: readDescriptor(Number.parseInt(rest, 10), reference) };
  if (scheme === 'exec') return runCommand(rest, cwd);
  if (scheme === 'http' || scheme === 'https') {
    throw new SourceError('configuration over HTTP is not read by nuwsgi (an unauthenticated download would decide what runs): fetch it first, or use exec://curl -fsS URL');
  }
  if (BINARY_SCHEMES.includes(scheme)) throw new SourceError(`${scheme}:// reads from uWSGI's C binary, which nuwsgi is not`);
  return { text: readPath(reference, cwd) }; // uWSGI too opens an unknown scheme as a plain path
}

function readPath(path: string, cwd: string): string {
  try {
    return readFileSync(isAbsolute(path) ? path : join(cwd, path), 'utf8');
  } catch (error: unknown) {
    throw new SourceError(`cannot read '${path}' (${codeOf(error)})`, codeOf(error));
  }
}

/** Read to the end, as uWSGI's uwsgi_read_fd; the descriptor stays open. */
function readDescriptor(fd: number, reference: string): string {
  if (!Number.isInteger(fd) || fd < 0) throw new SourceError('not a file descriptor number');
  try {
    return readFileSync(fd, 'utf8');
  } catch (error: unknown) {
    throw new SourceError(`cannot read ${reference} (${codeOf(error)})`, codeOf(error));
  }
}

/** `/bin/sh -c`, standard error passed through; the output counts whatever the exit status, as in uWSGI. */
function runCommand(command: string, cwd: string): SourceText {
  const result = spawnSync('/bin/sh', ['-c', command], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw new SourceError(`the command could not be run (${result.error.message})`);
  const failedStatus = result.status === 0 ? undefined : (result.status ?? result.signal ?? undefined);
  return failedStatus === undefined ? { text: result.stdout } : { text: result.stdout, failedStatus };
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}
