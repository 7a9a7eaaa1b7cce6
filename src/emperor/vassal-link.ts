/**
 * The vassal's side of the emperor channel: when this nuwsgi master was
 * started by an emperor (UWSGI_EMPEROR_FD, uWSGI's variable and bytes, so a
 * uWSGI emperor works too), tell it when every worker is ready, send
 * heartbeats, and obey its reload / stop commands. When the channel closes
 * the emperor is gone: the vassal stops gracefully rather than live on
 * unsupervised. A no-op when there is no emperor.
 */
import net from 'node:net';
import { writeLogVerbose } from '../util/log';
import { EMPEROR_FD_ENV, EMPEROR_HEARTBEAT_ENV, heartbeatIntervalMs, TO_EMPEROR, TO_VASSAL } from './protocol';

/** What the channel needs from the master it serves. */
export interface VassalControl {
  reload(): void;
  stopGracefully(): void;
  /** Byte 0 (uWSGI's kill_them_all); graceful when absent. */
  stopNow?(): void;
}

export interface VassalLink {
  /** Every worker is ready (called once per boot and after each completed reload). */
  ready(): void;
  /** --die-on-idle: ask the emperor to stop us (byte 22; an on-demand vassal goes back to on-demand). False without an emperor. */
  voluntaryStop(): boolean;
}

/** The emperor's descriptor, when this process is a vassal. */
export function emperorFd(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[EMPEROR_FD_ENV];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** A vassal always runs a master (uWSGI forces it too): single-process mode has nobody to talk to the emperor. */
export function hasEmperor(env: NodeJS.ProcessEnv = process.env): boolean {
  return emperorFd(env) !== undefined;
}

export function attachToEmperor(control: VassalControl, log: (line: string) => void): VassalLink {
  const fd = emperorFd();
  if (fd === undefined) return { ready: () => undefined, voluntaryStop: () => false };
  // The workers and the app have no business with the emperor's descriptor.
  delete process.env[EMPEROR_FD_ENV];
  keepFromChildren(fd);
  log(`*** has_emperor mode detected (fd: ${fd}) ***`);
  return new EmperorChannel(fd, control, log);
}

class EmperorChannel implements VassalLink {
  private readonly socket: net.Socket;
  private loyal = false;
  private lost = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    fd: number,
    private readonly control: VassalControl,
    private readonly log: (line: string) => void,
  ) {
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) this.onCommand(byte);
    });
    this.socket.on('error', () => this.onLost());
    this.socket.on('close', () => this.onLost());
    this.socket.unref();
    this.heartbeat = setInterval(() => this.send(TO_EMPEROR.heartbeat), heartbeatIntervalMs(process.env[EMPEROR_HEARTBEAT_ENV]));
    this.heartbeat.unref();
    this.send(TO_EMPEROR.spawned);
    this.send(TO_EMPEROR.heartbeat);
  }

  ready(): void {
    this.send(TO_EMPEROR.accepting);
    if (this.loyal) return;
    this.loyal = true;
    this.log('announcing my loyalty to the Emperor...');
    this.send(TO_EMPEROR.loyal);
  }

  voluntaryStop(): boolean {
    if (this.lost || this.socket.destroyed) return false;
    this.send(TO_EMPEROR.voluntaryStop);
    return true;
  }

  private onCommand(byte: number): void {
    writeLogVerbose(`received message ${byte} from emperor`);
    if (byte === TO_VASSAL.reload) this.control.reload();
    else if (byte === TO_VASSAL.gracefulStop) this.control.stopGracefully();
    else if (byte === TO_VASSAL.stop && this.control.stopNow !== undefined) this.control.stopNow();
    else if (byte === TO_VASSAL.stop) this.control.stopGracefully();
  }

  /** uWSGI's vassal stops at once here; nuwsgi's lets in-flight requests finish first. */
  private onLost(): void {
    if (this.lost) return;
    this.lost = true;
    clearInterval(this.heartbeat);
    this.socket.destroy();
    this.log('lost connection with my emperor !!!');
    this.control.stopGracefully();
  }

  private send(byte: number): void {
    if (this.lost || this.socket.destroyed) return;
    this.socket.write(Buffer.from([byte]));
  }
}

const F_SETFD = 2;
const FD_CLOEXEC = 1;

/**
 * The inherited descriptor is not close-on-exec: without this every program
 * the master starts (the interpreter probe at a reload, say) would hold the
 * emperor's socket open and hide the master's death from the emperor.
 */
function keepFromChildren(fd: number): void {
  try {
    // Loaded here, not at import: the CLI imports this module on every start, vassal or not.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { koffi } = require('../util/libc') as typeof import('../util/libc');
    const fcntl = koffi.load('libc.so.6').func('int fcntl(int, int, ...)');
    fcntl(fd, F_SETFD, 'int', FD_CLOEXEC);
  } catch {
    // Without koffi the channel still works; only leaked copies could delay the emperor's view.
  }
}
