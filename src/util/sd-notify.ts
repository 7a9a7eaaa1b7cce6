/**
 * systemd's sd_notify(3): `READY=1`, `STATUS=...`, `RELOADING=1`,
 * `STOPPING=1` as one datagram to the UNIX socket named by $NOTIFY_SOCKET
 * ('@' = an abstract name), so units can be Type=notify. Node's net has no
 * UNIX datagram sockets, so the few libc calls go through koffi.
 */
import { NuwsgiError } from './errors';
import { SUN_PATH_BYTES, AF_UNIX, socketCalls, sockaddrUn } from './socket-calls';

const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

/** A sockaddr_un for a NOTIFY_SOCKET value, and its exact length (which matters for abstract names). */
export function notifyAddress(value: string): { addr: Buffer; length: number } {
  const abstract = value.startsWith('@');
  if (!abstract && !value.startsWith('/')) {
    throw new NuwsgiError('E_SD_NOTIFY', `NOTIFY_SOCKET=${value}: only absolute paths and @abstract names are supported`);
  }
  const name = Buffer.from(abstract ? value.slice(1) : value, 'utf8');
  if (name.length + 1 > SUN_PATH_BYTES) throw new NuwsgiError('E_SD_NOTIFY', `NOTIFY_SOCKET=${value}: longer than ${SUN_PATH_BYTES - 1} bytes`);
  const { addr, length } = sockaddrUn(name, abstract);
  return { addr, length: abstract ? length : length - 1 }; // a path without its trailing NUL, as before
}

/** Sends one notification; throws NuwsgiError('E_SD_NOTIFY') when it cannot. */
export function sdNotify(socketPath: string, message: string): void {
  const { addr, length } = notifyAddress(socketPath);
  const c = socketCalls();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new NuwsgiError('E_SD_NOTIFY', `socket(): errno ${c.errno()}`);
  try {
    const data = Buffer.from(message, 'utf8');
    if (c.sendto(fd, data, data.length, MSG_NOSIGNAL, addr, length) < 0) {
      throw new NuwsgiError('E_SD_NOTIFY', `sendto(${socketPath}): errno ${c.errno()}`);
    }
  } finally {
    c.close(fd);
  }
}

/** CLOCK_MONOTONIC in microseconds: libuv's hrtime reads that clock. */
function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/**
 * The service manager's side channel for one process. Created from the
 * environment, it takes NOTIFY_SOCKET out of it (as sd_notify's
 * unset_environment does), so workers and vassals never speak to systemd in
 * the master's or the emperor's name. Without NOTIFY_SOCKET every call is a
 * no-op. A failure is logged once, never thrown: readiness reporting must
 * not take a server down.
 */
export class SystemdNotifier {
  private failed = false;
  private lastStatus: string | undefined;

  private constructor(
    private readonly socketPath: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): SystemdNotifier {
    const value = env['NOTIFY_SOCKET'];
    delete env['NOTIFY_SOCKET'];
    return new SystemdNotifier(value === undefined || value === '' ? undefined : value, log);
  }

  get enabled(): boolean {
    return this.socketPath !== undefined;
  }

  ready(status?: string): void {
    this.send(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${status}`);
  }

  /** Type=notify-reload wants the monotonic time with it. */
  reloading(): void {
    this.send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
  }

  stopping(status?: string): void {
    this.send(status === undefined ? 'STOPPING=1' : `STOPPING=1\nSTATUS=${status}`);
  }

  /** Sent only when it changed. */
  status(text: string): void {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.send(`STATUS=${text}`);
  }

  private send(message: string): void {
    if (this.socketPath === undefined) return;
    try {
      sdNotify(this.socketPath, message);
    } catch (err) {
      if (this.failed) return;
      this.failed = true;
      this.log(`sd_notify: ${(err as Error).message} (further failures are not logged)`);
    }
  }
}
