/**
 * The logging engine's front door: build everything from the options once,
 * then call `RequestLogger.log(record)` per request.
 */
import type { Options } from '../config/options';
import { compileDefaultLine } from './default-line';
import { canLogAnyRequest, requestLogFilterFromOptions, shouldLogRequest, type RequestLogFilter } from './filters';
import { compileJsonLine } from './json-line';
import { LogFile, type LogFileOptions } from './log-file';
import { parseLogTarget } from './log-target';
import { UdpLog } from './log-udp';
import type { RequestLogRecordV2 } from './record';
import { compileLogFormat, type RequestFormatter } from './request-format';
import type { LogSink } from './sink';
import { requestLogSettingsFromOptions, type RequestLogSettings } from './settings';

/** The per-request line formatter the settings ask for. `now` is the clock of %(epoch) (tests). */
export function createRequestFormatter(s: RequestLogSettings, now?: () => number): RequestFormatter {
  if (s.json) return compileJsonLine({ logXForwardedFor: s.logXForwardedFor });
  if (s.format !== undefined && s.format !== '') {
    return compileLogFormat(s.format, { logXForwardedFor: s.logXForwardedFor, ftimeFormat: s.ftimeFormat, now });
  }
  return compileDefaultLine({ micros: s.micros, logXForwardedFor: s.logXForwardedFor, memoryReport: s.memoryReport });
}

/** Decides, formats and writes request lines: the worker's one call per request. */
export class RequestLogger {
  private readonly filter: RequestLogFilter;
  private readonly format: RequestFormatter;
  private readonly sink: LogSink;
  /** False when no request can be logged: skip building records at all. */
  readonly active: boolean;
  /** --memory-report: records carry the worker's rss and vsz. */
  readonly memoryReport: boolean;

  constructor(filter: RequestLogFilter, format: RequestFormatter, sink: LogSink, memoryReport = false) {
    this.filter = filter;
    this.format = format;
    this.sink = sink;
    this.active = canLogAnyRequest(filter);
    this.memoryReport = memoryReport;
  }

  static fromOptions(opts: Options, sink: LogSink): RequestLogger {
    const settings = requestLogSettingsFromOptions(opts);
    return new RequestLogger(requestLogFilterFromOptions(opts), createRequestFormatter(settings), sink, settings.memoryReport);
  }

  /** From the settings a worker receives in its configuration (src/logging/plan.ts). */
  static fromSettings(s: { request: RequestLogSettings; filter: RequestLogFilter }, sink: LogSink): RequestLogger {
    return new RequestLogger(s.filter, createRequestFormatter(s.request), sink, s.request.memoryReport);
  }

  log(r: RequestLogRecordV2): void {
    if (!shouldLogRequest(this.filter, r)) return;
    // Request strings are latin-1 byte strings: write back the client's bytes.
    this.sink.write(this.format(r), 'latin1');
  }
}

/** --logto / --logto2: a LogFile for a path, a UdpLog for host:port. Throws E_LOG_TARGET / E_LOG_OPEN. */
export async function openLogTarget(value: string, fileOptions: LogFileOptions = {}): Promise<LogSink> {
  const target = parseLogTarget(value);
  if (target.kind === 'file') return LogFile.open(target.path, fileOptions);
  return UdpLog.open(target.host, target.port);
}

export { canLogAnyRequest, logAddress, requestLogFilterFromOptions, shouldLogRequest, type RequestLogFilter } from './filters';
export { compileDefaultLine, type DefaultLineOptions } from './default-line';
export { compileJsonLine } from './json-line';
export { LogDate, logDateSetting, type LogDateSetting } from './log-date';
export { logDateFromOptions, requestLogSettingsFromOptions, type RequestLogSettings } from './settings';
export { LogFile, type LogFileOptions } from './log-file';
export { parseLogTarget, type LogTarget } from './log-target';
export { UdpLog } from './log-udp';
export { lookupVar, type RequestLogRecordV2, type ResponseVia } from './record';
export { compileLogFormat, logvarNames, parseLogFormat, type FormatChunk, type LogFormatOptions, type RequestFormatter } from './request-format';
export { FdSink, type LineEncoding, type LogSink } from './sink';
export { compileStrftime } from './strftime';
