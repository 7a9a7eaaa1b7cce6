/**
 * The loggers `logger = ...` and `req-logger = ...` name (uWSGI's logfile,
 * logsocket and syslog plugins). Each writes one message (bytes, as the
 * encoders left them) per call, in the master.
 *
 *   file:PATH                              append to PATH (0640)
 *   file:logfile=PATH,maxsize=N[,backupname=B]   ... and rotate past N bytes
 *   fd:N                                   write to descriptor N
 *   stdio                                  the master's standard output (the logto file when set)
 *   socket:HOST:PORT[,PREFIX] / socket:/PATH[,PREFIX]   one datagram per message (UDP / UNIX)
 *   syslog[:IDENT[,FACILITY]]              the local syslog (/dev/log), as glibc's syslog(3) sends it
 *   rsyslog:HOST[:PORT][,PREFIX[,PRI]]      a remote syslog over UDP (or rsyslog:/PATH, a UNIX datagram socket)
 */
import path from 'node:path';
import { hostname } from 'node:os';
import { NuwsgiError } from '../util/errors';
import { LogFile } from './log-file';
import { parseLogTarget } from './log-target';
import { UdpLog } from './log-udp';
import { parseKeyValues, type LoggerSpec } from './logger-spec';
import { FdSink, type LogSink } from './sink';
import { compileStrftime } from './strftime';
import { perSecond } from './time-cache';
import { UnixDgramSender } from './unix-dgram';

export interface Logger {
  /** The name log-route refers to; undefined for an unnamed logger. */
  readonly id: string | undefined;
  write(msg: Buffer): void;
  /** Reopen a file by path (logrotate moved it); a no-op for the others. */
  reopen(): void;
  close(): void;
}

export interface LoggerContext {
  /** Relative file paths are resolved here (before any chdir, as --logto). */
  cwd: string;
  /** The master's standard output now: the --logto file when there is one (uWSGI's original_log_fd). */
  stdout: () => LogSink;
  env: NodeJS.ProcessEnv;
  /** A line about a logger itself, to the default output (never through the loggers: it may be about them). */
  warn: (line: string) => void;
}

export const LOGGER_PLUGINS = ['file', 'fd', 'stdio', 'socket', 'syslog', 'rsyslog'] as const;

/** Test-only: where the syslog logger sends instead of /dev/log (uWSGI, through glibc, always uses /dev/log). */
export const SYSLOG_SOCKET_ENV = 'NUWSGI_TEST_SYSLOG_SOCKET';

/** Opens the logger `spec` names; throws NuwsgiError (E_CONFIG, E_LOG_OPEN, E_LOG_TARGET) naming `option`. */
export async function openLogger(option: string, spec: LoggerSpec, ctx: LoggerContext): Promise<Logger> {
  const where = `${option} = ${spec.source}`;
  switch (spec.plugin) {
    case 'file':
      return openFileLogger(where, spec, ctx);
    case 'fd':
      return fdLogger(where, spec);
    case 'stdio':
      return { id: spec.id, write: (msg) => ctx.stdout().writeLines(msg), reopen: () => {}, close: () => {} };
    case 'socket':
      return openSocketLogger(where, spec, ctx.warn);
    case 'syslog':
      return syslogLogger(where, spec, ctx);
    case 'rsyslog':
      return openRsyslogLogger(where, spec, ctx.warn);
    default:
      throw new NuwsgiError('E_CONFIG', `${where}: unable to find logger ${spec.plugin} (nuwsgi has: ${LOGGER_PLUGINS.join(', ')})`);
  }
}

function openFileLogger(where: string, spec: LoggerSpec, ctx: LoggerContext): Logger {
  if (spec.arg === undefined) throw new NuwsgiError('E_CONFIG', `${where}: the file logger needs a path (file:/var/log/app.log)`);
  let file = spec.arg;
  let maxSize = 0;
  let backupName: string | undefined;
  if (spec.arg.includes('=')) {
    const kv = parseKeyValues(spec.arg);
    const logfile = kv.get('logfile');
    if (logfile === undefined) throw new NuwsgiError('E_CONFIG', `${where}: missing logfile key`);
    file = logfile;
    maxSize = leadingDigits(kv.get('maxsize') ?? '');
    const backup = kv.get('backupname');
    if (backup !== undefined) backupName = path.resolve(ctx.cwd, backup);
  }
  let log: LogFile;
  try {
    log = LogFile.open(path.resolve(ctx.cwd, file));
  } catch (err) {
    throw new NuwsgiError('E_LOG_OPEN', `${where}: ${(err as Error).message}`);
  }
  return new FileLogger(spec.id, log, maxSize, backupName);
}

/** strtoull(3) base 10: the leading digits, 0 without any. */
function leadingDigits(text: string): number {
  const m = /^\s*\+?(\d+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** A file only the master writes to: its size is counted, not asked for at every line. */
class FileLogger implements Logger {
  private size: number;

  constructor(
    readonly id: string | undefined,
    private readonly file: LogFile,
    private readonly maxSize: number,
    private readonly backupName: string | undefined,
  ) {
    this.size = maxSize > 0 ? file.size() : 0;
  }

  write(msg: Buffer): void {
    this.file.writeLines(msg);
    if (this.maxSize <= 0) return;
    this.size += msg.length;
    // uWSGI checks after each write and rotates once the file is past maxsize.
    if (this.size <= this.maxSize) return;
    try {
      this.file.rotate(this.backupName);
    } catch {
      // The rename failed: keep writing to the same file; it is tried again at the next line.
    }
    this.size = this.file.size();
  }

  reopen(): void {
    try {
      this.file.reopen(false);
      if (this.maxSize > 0) this.size = this.file.size();
    } catch {
      // Keep the old file (as --logto does when a reopen fails).
    }
  }

  close(): void {
    this.file.close();
  }
}

function fdLogger(where: string, spec: LoggerSpec): Logger {
  const fd = spec.arg === undefined ? Number.NaN : leadingDigits(spec.arg);
  if (spec.arg === undefined || !/^\s*\+?\d/.test(spec.arg)) throw new NuwsgiError('E_CONFIG', `${where}: the fd logger needs a descriptor number (fd:3)`);
  const sink = new FdSink(fd);
  return { id: spec.id, write: (msg) => sink.writeLines(msg), reopen: () => {}, close: () => {} };
}

/** socket:ADDR[,PREFIX]: ADDR with a ':' is UDP host:port, anything else a UNIX datagram socket path. */
async function openSocketLogger(where: string, spec: LoggerSpec, warn: (line: string) => void): Promise<Logger> {
  if (spec.arg === undefined) throw new NuwsgiError('E_CONFIG', `${where}: the socket logger needs an address (socket:127.0.0.1:1717 or socket:/run/log.sock)`);
  const comma = spec.arg.indexOf(',');
  const address = comma < 0 ? spec.arg : spec.arg.slice(0, comma);
  const prefix = comma < 0 ? undefined : Buffer.from(spec.arg.slice(comma + 1), 'utf8');
  const frame = (msg: Buffer): Buffer => (prefix === undefined ? msg : Buffer.concat([prefix, msg]));
  try {
    if (address.includes(':')) {
      const target = parseLogTarget(address);
      if (target.kind !== 'udp') throw new NuwsgiError('E_LOG_TARGET', `invalid udp address '${address}'`);
      const udp = await UdpLog.open(target.host, target.port);
      return { id: spec.id, write: (msg) => udp.send(frame(msg)), reopen: () => {}, close: () => udp.close() };
    }
    const unix = new UnixDgramSender(address);
    const send = reportingFailures(where, unix, warn);
    return { id: spec.id, write: (msg) => send(frame(msg)), reopen: () => {}, close: () => unix.close() };
  } catch (err) {
    throw new NuwsgiError('E_LOG_TARGET', `${where}: ${(err as Error).message}`);
  }
}

/** syslog(3) facility codes, by the names uWSGI's syslog plugin accepts. */
const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, security: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const LOG_INFO = 6;

/** What the syslog logger sends: priority, time and tag as glibc's syslog(3) writes them. */
export interface SyslogFormat {
  ident: string;
  facility: number;
}

export function parseSyslogArg(where: string, arg: string | undefined): SyslogFormat {
  if (arg === undefined) return { ident: 'uwsgi', facility: FACILITIES['daemon']! };
  const comma = arg.indexOf(',');
  if (comma < 0) return { ident: arg, facility: FACILITIES['daemon']! };
  const name = arg.slice(comma + 1);
  const facility = FACILITIES[name];
  // uWSGI silently falls back to "daemon"; a typo such as local8 deserves an error.
  if (facility === undefined) throw new NuwsgiError('E_CONFIG', `${where}: unknown syslog facility '${name}' (one of ${Object.keys(FACILITIES).join(', ')})`);
  return { ident: arg.slice(0, comma), facility };
}

/**
 * "<PRI>Mmm dd hh:mm:ss IDENT: " + the message, its newline kept: what
 * glibc 2.36's syslog(LOG_INFO, "%.*s", ...) sends for uWSGI (local time).
 */
export function syslogHeader(f: SyslogFormat): (ms: number) => string {
  const stamp = perSecond(compileStrftime('%h %e %T'));
  const tag = Buffer.from(f.ident, 'utf8').toString('latin1');
  const pri = f.facility * 8 + LOG_INFO;
  return (ms) => `<${pri}>${stamp(ms)} ${tag}: `;
}

function syslogLogger(where: string, spec: LoggerSpec, ctx: LoggerContext): Logger {
  const header = syslogHeader(parseSyslogArg(where, spec.arg));
  const sender = new UnixDgramSender(ctx.env[SYSLOG_SOCKET_ENV] ?? '/dev/log');
  const send = reportingFailures(where, sender, ctx.warn);
  return {
    id: spec.id,
    write: (msg) => send(Buffer.concat([Buffer.from(header(Date.now()), 'latin1'), msg])),
    reopen: () => {},
    close: () => sender.close(),
  };
}

/**
 * Sends through `sender`; the first lost line of a run of failures is
 * reported (glibc's syslog(3), and so uWSGI, lose them without a word: a
 * container without /dev/log then logs nothing at all).
 */
function reportingFailures(where: string, sender: UnixDgramSender, warn: (line: string) => void): (data: Buffer) => void {
  let failing = false;
  return (data) => {
    const errno = sender.send(data);
    if (errno === 0) {
      if (failing) warn(`${where}: ${sender.path} is back, logging again`);
      failing = false;
    } else if (!failing) {
      failing = true;
      warn(`${where}: cannot send to ${sender.path} (errno ${errno}): lines are lost until it answers`);
    }
  };
}

/** uWSGI's rsyslog plugin: its default packet size (RFC 3164's 1024 bytes). */
export const RSYSLOG_PACKET_BYTES = 1024;

export interface RsyslogFormat {
  /** The address part: "host[:port]" or a UNIX socket path. */
  address: string;
  /** What follows the time: "HOSTNAME uwsgi" unless given. */
  prefix: string;
  /** The <PRI> number: 29 (daemon.notice) unless given. */
  pri: number;
}

/** rsyslog:ADDRESS[,PREFIX[,PRI]], cut as uWSGI cuts it (PRI read with atoi). */
export function parseRsyslogArg(arg: string): RsyslogFormat {
  const comma = arg.indexOf(',');
  if (comma < 0) return { address: arg, prefix: `${hostname()} uwsgi`, pri: 29 };
  const rest = arg.slice(comma + 1);
  const second = rest.indexOf(',');
  const pri = second < 0 ? 29 : Number(/^\s*[+-]?\d+/.exec(rest.slice(second + 1))?.[0] ?? 0);
  return { address: arg.slice(0, comma), prefix: second < 0 ? rest : rest.slice(0, second), pri };
}

/**
 * One packet: "<PRI>Mmm dd hh:mm:ss PREFIX: " and the line without its
 * newline, at most 1024 bytes. uWSGI drops a line that does not fit
 * (a traceback line, a long request line); nuwsgi cuts it to fit.
 */
export function rsyslogPacket(f: RsyslogFormat): (ms: number, msg: Buffer) => Buffer {
  const stamp = perSecond(compileStrftime('%h %e %T'));
  return (ms, msg) => {
    const head = Buffer.from(`<${f.pri}>${stamp(ms)} ${f.prefix}: `, 'utf8');
    const body = msg.length > 0 && msg[msg.length - 1] === 0x0a ? msg.subarray(0, -1) : msg;
    const packet = Buffer.concat([head, body]);
    return packet.length > RSYSLOG_PACKET_BYTES ? packet.subarray(0, RSYSLOG_PACKET_BYTES) : packet;
  };
}

async function openRsyslogLogger(where: string, spec: LoggerSpec, warn: (line: string) => void): Promise<Logger> {
  if (spec.arg === undefined) throw new NuwsgiError('E_CONFIG', `${where}: invalid rsyslog syntax (rsyslog:HOST[:PORT][,PREFIX[,PRI]])`);
  const format = parseRsyslogArg(spec.arg);
  const packet = rsyslogPacket(format);
  try {
    if (format.address.startsWith('/')) {
      const unix = new UnixDgramSender(format.address);
      const send = reportingFailures(where, unix, warn);
      return { id: spec.id, write: (msg) => send(packet(Date.now(), msg)), reopen: () => {}, close: () => unix.close() };
    }
    const colon = format.address.indexOf(':');
    const host = colon < 0 ? format.address : format.address.slice(0, colon);
    const port = colon < 0 ? 514 : Number(format.address.slice(colon + 1));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new NuwsgiError('E_LOG_TARGET', `invalid address '${format.address}'`);
    const udp = await UdpLog.open(host, port);
    return { id: spec.id, write: (msg) => udp.send(packet(Date.now(), msg)), reopen: () => {}, close: () => udp.close() };
  } catch (err) {
    throw new NuwsgiError('E_LOG_TARGET', `${where}: ${(err as Error).message}`);
  }
}
