/**
 * On-demand vassals (uWSGI's emperor-on-demand-*): the emperor binds the
 * vassal's socket itself and starts the vassal only when a connection
 * arrives; the vassal gets the socket as its descriptor 0 and serves that
 * first connection (nothing is dropped). A vassal that goes idle asks to stop
 * (die-on-idle: byte 22) and the emperor waits on the socket again, so an app
 * without traffic costs one socket.
 *
 * Where the socket name comes from, as uWSGI (core/emperor.c
 * emperor_check_on_demand_socket):
 * - extension: the first line of the file "<vassal file><EXT>";
 * - directory: "<DIR>/<vassal name without its extension>.socket";
 * - exec: the first line CMD prints when run as `CMD "<vassal file>"`.
 */
import { execSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { bindSocket, parseAddress, type BoundSocket } from '../master/sockets';
import { prepareUnixSocketPath } from '../master/socket-setup';
import type { VassalFile } from './monitor';

export type OnDemandSource = { kind: 'extension'; extension: string } | { kind: 'directory'; directory: string } | { kind: 'exec'; command: string };

/** The socket an on-demand vassal is reached at; undefined = not on demand (uWSGI: no name found). */
export function onDemandSocketName(source: OnDemandSource | undefined, file: VassalFile, log: (line: string) => void): string | undefined {
  if (source === undefined) return undefined;
  switch (source.kind) {
    case 'extension':
      return firstLine(readOrEmpty(path.resolve(file.cwd, file.configPath + source.extension)));
    case 'directory': {
      const base = path.basename(file.name);
      const dot = base.lastIndexOf('.');
      return dot <= 0 ? undefined : path.join(source.directory, `${base.slice(0, dot)}.socket`);
    }
    case 'exec':
      return firstLine(runForOutput(`${source.command} "${path.resolve(file.cwd, file.configPath)}"`, file.cwd, log));
  }
}

/** uWSGI keeps what comes before the first control character (a newline, usually). */
function firstLine(text: string): string | undefined {
  const end = [...text].findIndex((c) => c.charCodeAt(0) < 32);
  const line = end === -1 ? text : text.slice(0, end);
  return line === '' ? undefined : line;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function runForOutput(command: string, cwd: string, log: (line: string) => void): string {
  try {
    return execSync(command, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 10_000 });
  } catch (err) {
    log(`[emperor] emperor-on-demand-exec: ${command}: ${(err as Error).message.split('\n')[0]}`);
    return '';
  }
}

/** Binds the on-demand socket (a stale UNIX socket file is replaced, a live one refused), listening but never accepting. */
export async function bindOnDemandSocket(name: string, backlog: number, log: (line: string) => void): Promise<BoundSocket> {
  const unix = parseAddress(name).kind === 'unix';
  if (unix) await prepareUnixSocketPath(name, log);
  const bound = await bindSocket(0, 'uwsgi', name, backlog);
  // rw for everyone, as uWSGI's emperor leaves them: nginx (www-data) must reach a socket a root emperor made.
  if (unix && !name.startsWith('@')) chmodSync(name, 0o666);
  return bound;
}

/** Closes the emperor's copy; the UNIX socket file it created goes too. */
export function closeOnDemandSocket(socket: BoundSocket): void {
  (socket.handle as { close(): void } | undefined)?.close();
  if (socket.kind === 'unix' && !socket.spec.startsWith('@')) rmSync(socket.spec, { force: true });
}
