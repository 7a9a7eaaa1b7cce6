/**
 * Starting one vassal process: a nuwsgi master of its own, in its own
 * process group, with the emperor channel as descriptor 3.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { NuwsgiError } from '../util/errors';
import { VASSAL_NODE_FLAGS } from '../util/node-flags';

/** What the vassal state machine needs from a running vassal process. */
export interface VassalProcess {
  readonly pid: number;
  /** Writes one protocol byte; false when the channel is already closed. */
  send(byte: number): boolean;
  /** Signals the vassal's whole process group (its master and workers). */
  kill(signal: NodeJS.Signals): void;
}

export interface VassalProcessEvents {
  onByte(byte: number): void;
  /** The channel closed while the process may still live. */
  onChannelClosed(): void;
  /** The process is gone (or could not be started: code null, `error` set). */
  onExit(code: number | null, signal: NodeJS.Signals | null, error?: Error): void;
}

export interface SpawnRequest {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** On-demand: the socket the emperor held, as the vassal's descriptor 0 (uWSGI's convention). */
  stdinFd?: number;
  /** Tyrant mode: run as this user and group (libuv also drops supplementary groups). */
  uid?: number;
  gid?: number;
}

export type SpawnVassal = (request: SpawnRequest, events: VassalProcessEvents) => VassalProcess;

/** bin/nuwsgi, found from this file's place in dist/src/emperor. */
export function nuwsgiEntry(): string {
  const entry = path.resolve(__dirname, '..', '..', '..', 'bin', 'nuwsgi');
  if (!existsSync(entry)) throw new NuwsgiError('E_EMPEROR', `cannot find the nuwsgi command at ${entry} to start vassals with`);
  return entry;
}

/**
 * The real thing. Each vassal leads its own process group (and session) so
 * that a Ctrl-C on the emperor's terminal reaches the emperor alone, which
 * then stops every vassal in order; and so that SIGKILL after the mercy
 * reaches the vassal's workers too. A vassal whose emperor disappears sees
 * its channel close and stops by itself: no orphans.
 */
export function spawnVassalProcess(entry: string): SpawnVassal {
  return (request, events) => {
    const child = spawn(process.execPath, [...VASSAL_NODE_FLAGS, entry, ...request.argv], {
      cwd: request.cwd,
      env: request.env,
      stdio: [request.stdinFd ?? 'ignore', 'inherit', 'inherit', 'pipe'],
      detached: true,
      ...(request.uid !== undefined ? { uid: request.uid } : {}),
      ...(request.gid !== undefined ? { gid: request.gid } : {}),
    });
    const channel = child.stdio[3] as Socket | null;
    let exited = false;
    const exit = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (exited) return;
      exited = true;
      channel?.destroy();
      events.onExit(code, signal, error);
    };
    child.once('error', (err) => {
      // Spawning failed (no such cwd, EPERM on setuid...): there is no process to wait for.
      if (child.pid === undefined) exit(null, null, err);
    });
    child.once('exit', (code, signal) => exit(code, signal));
    channel?.on('data', (chunk: Buffer) => {
      for (const byte of chunk) events.onByte(byte);
    });
    channel?.on('error', () => channel.destroy());
    channel?.on('close', () => {
      if (!exited) events.onChannelClosed();
    });
    const pid = child.pid ?? -1;
    return {
      pid,
      send: (byte) => {
        if (channel === null || channel.destroyed || !channel.writable) return false;
        channel.write(Buffer.from([byte]));
        return true;
      },
      kill: (signal) => killGroup(pid, signal, () => child.kill(signal)),
    };
  };
}

function killGroup(pid: number, signal: NodeJS.Signals, fallback: () => void): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Not a group leader any more (it exited): the process itself, if anything.
    fallback();
  }
}
