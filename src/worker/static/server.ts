/**
 * Static files, served by Node before a request ever reaches Python (uWSGI's
 * static-map family). The worker asks `tryServe` for every parsed request;
 * true means the request is taken and answered here, false that the app gets
 * it. Nothing here touches the interpreter.
 */
import { fstatSync, openSync, closeSync, type Stats } from 'node:fs';
import type { LoggedOutcome } from '../access-log';
import type { Exchange } from '../exchange';
import type { StaticConfig } from './config';
import { httpDate, planStaticResponse, staticRequestFromHead, staticRequestFromVars, statusLine, type StaticPlan, type StaticRequest } from './http';
import { contentTypeHeader, loadMimeTypes, mimeTypeFor, type MimeTable } from './mime';
import { acceptedEncodings, cacheHeaders, compileExpires, makeGzipCheck, type CompiledExpires } from './policy';
import { OpenFileCache } from './open-cache';
import { StaticResolver, type ResolvedFile } from './resolve';
import { pumpFile, pumpParts, readParts, readSmall, SMALL_FILE } from './send';

/** What the static server needs from its worker. */
export interface StaticHost {
  /** While the worker drains, responses close their connections. */
  readonly draining: boolean;
  log(line: string): void;
  /**
   * A static response is over (once per served request): count it as
   * uWSGI's static_requests and write the request log line.
   */
  staticDone(ex: Exchange, outcome: LoggedOutcome): void;
}

export class StaticServer {
  private readonly cfg: StaticConfig;
  private readonly host: StaticHost;
  private readonly resolver: StaticResolver;
  private readonly mime: MimeTable;
  private readonly expires: CompiledExpires[];
  private readonly gzipCheck: ((file: string) => boolean) | null;
  private readonly addHeaders: string;
  private readonly openFiles: OpenFileCache;
  /** multipart/byteranges boundaries: a counter, as nginx's. */
  private boundaries = 0;

  constructor(cfg: StaticConfig, host: StaticHost) {
    this.cfg = cfg;
    this.host = host;
    this.resolver = new StaticResolver({ mounts: cfg.mounts, index: cfg.index, safe: cfg.safe, cacheSeconds: cfg.cachePathsSeconds, log: (l) => host.log(l) });
    this.mime = loadMimeTypes(cfg.mimeFiles, (l) => host.log(l));
    this.expires = compileExpires(cfg.expires);
    this.gzipCheck = makeGzipCheck(cfg.gzip);
    this.addHeaders = staticExtraHeaders(cfg.addHeaders);
    this.openFiles = new OpenFileCache(cfg.cachePathsSeconds > 0 ? cfg.cachePathsSeconds * 1000 : OPEN_CACHE_MS);
  }

  /** Close the kept descriptors (the worker is going away, or a test is done). */
  close(): void {
    this.openFiles.close();
  }

  /** The hook: answer `ex` from a file and return true, or return false and leave it to the app. */
  tryServe(ex: Exchange): boolean {
    if (this.cfg.mounts.length === 0 && !this.cfg.checkDocroot) return false;
    const req = ex.head !== undefined ? staticRequestFromHead(ex.head) : staticRequestFromVars(ex.vars);
    if (req.method !== 'GET' && req.method !== 'HEAD') return false; // uWSGI: other methods go to the app
    if (this.skipped(req.pathInfo)) return false;
    const file = this.lookup(req.pathInfo, ex.startedAtMs) ?? this.lookupDocroot(req, ex.startedAtMs);
    if (file === null) return false;
    ex.body.dispose(); // a GET's body (if any) is not ours to read
    this.serveSafely(ex, req, file.found, undefined, (o) => this.host.staticDone(ex, o), file);
    return true;
  }

  /** The file for PATH_INFO (from the open-file cache when it is still the same file), with a kept descriptor or -1. */
  private lookup(pathInfo: string, nowMs: number): CachedLookup | null {
    const hit = this.openFiles.lookup(pathInfo, nowMs);
    if (hit !== null) return { found: hit.found, fd: hit.fd, key: pathInfo };
    const found = this.resolver.resolve(pathInfo);
    if (found === null || this.skipped(found.file)) return null;
    return { found, fd: this.openFiles.remember(pathInfo, found, found.stats.size <= SMALL_FILE, nowMs), key: pathInfo };
  }

  /** check-static-docroot, last as in uWSGI: the file under the request's DOCUMENT_ROOT. */
  private lookupDocroot(req: StaticRequest, nowMs: number): CachedLookup | null {
    const docroot = req.documentRoot;
    if (!this.cfg.checkDocroot || docroot === undefined || docroot === '') return null;
    const key = `\0${docroot}\0${req.pathInfo}`; // never a PATH_INFO key: those hold the mounts' answers
    const hit = this.openFiles.lookup(key, nowMs);
    if (hit !== null) return { found: hit.found, fd: hit.fd, key };
    const found = this.resolver.resolveDocroot(docroot, req.pathInfo);
    if (found === null || this.skipped(found.file)) return null;
    return { found, fd: this.openFiles.remember(key, found, found.stats.size <= SMALL_FILE, nowMs), key };
  }

  /** static-skip-ext: checked on PATH_INFO and on the file found, as uWSGI. */
  private skipped(name: string): boolean {
    return this.cfg.skipExt.some((ext) => name.endsWith(ext));
  }

  /** `kept`: the open-file cache's entry (its descriptor on `found.file` is not ours to close), if any. */
  private serve(ex: Exchange, req: StaticRequest, found: ResolvedFile, app: AppHeaders | undefined, done: Done, kept: CachedLookup | undefined): void {
    const type = mimeTypeFor(this.mime, found.file);
    let file = found.file;
    let stats = found.stats;
    let encoding: 'gzip' | 'br' | undefined;
    const vary = this.gzipCheck !== null && this.gzipCheck(found.file);
    if (vary) {
      const variant = this.encodedVariant(found, acceptedEncodings(req.acceptEncoding));
      if (variant !== null) ({ file, stats, encoding } = variant);
    }
    const nowSeconds = Math.floor(ex.startedAtMs / 1000);
    const facts = (st: Stats): Parameters<typeof planStaticResponse>[1] => {
      const mtimeSeconds = Math.floor(st.mtimeMs / 1000);
      return {
        size: st.size,
        mtimeSeconds,
        contentType: app?.contentType ?? (type !== undefined ? contentTypeHeader(type) : undefined),
        encoding,
        vary,
        cacheHeaders: cacheHeaders(this.expires, { file: found.file, 'path-info': req.pathInfo, uri: req.uri, type: type ?? '' }, mtimeSeconds, nowSeconds),
        extraHeaders: (app?.lines ?? '') + this.addHeaders,
        ...(req.range?.includes(',') === true ? { boundary: String(++this.boundaries).padStart(20, '0') } : {}),
      };
    };
    let plan = planStaticResponse(req, facts(stats));
    if (this.cfg.fileServeMode !== 'raw' && app === undefined && plan.status !== 304 && plan.status !== 412 && !/[\r\n]/.test(file)) {
      this.writeRedirect(ex, this.cfg.fileServeMode, file, facts(stats), done);
      return;
    }
    if (!plan.sendBody) {
      this.writeHeadOnly(ex, plan, done);
      return;
    }
    if (kept !== undefined && kept.fd >= 0 && encoding === undefined && plan.length <= SMALL_FILE) {
      // Just stat-ed by the cache: the same file, so its stats are current.
      this.writeBody(ex, plan, kept.fd, done, kept.key);
      return;
    }
    let fd: number;
    try {
      fd = openSync(file, 'r');
      const now = fstatSync(fd);
      // Plan from the descriptor's own stat when the file changed since the lookup.
      if (now.size !== stats.size || now.mtimeMs !== stats.mtimeMs) plan = planStaticResponse(req, facts(now));
    } catch (err) {
      this.host.log(`[uwsgi-fileserve] unable to open ${file}: ${(err as Error).message}\n`);
      this.writeError(ex, done);
      return;
    }
    this.writeBody(ex, plan, fd, done);
  }

  /** FILE.br / FILE.gz when the client takes it and it is a regular file inside the same directory tree. */
  private encodedVariant(found: ResolvedFile, accepts: { gzip: boolean; br: boolean }): { file: string; stats: Stats; encoding: 'gzip' | 'br' } | null {
    const tries: Array<['br' | 'gzip', string]> = [];
    if (accepts.br) tries.push(['br', '.br']);
    if (accepts.gzip) tries.push(['gzip', '.gz']);
    for (const [encoding, suffix] of tries) {
      const variant = this.resolver.variant(found, suffix);
      if (variant !== null) return { ...variant, encoding };
    }
    return null;
  }

  private keepAlive(ex: Exchange): boolean {
    return !ex.raw && ex.clientKeepAlive && !this.host.draining;
  }

  private head(ex: Exchange, plan: StaticPlan, keepAlive: boolean): Buffer {
    return Buffer.from(this.headText(ex, plan, keepAlive), 'latin1');
  }

  /** The response head as a latin-1 string (one char per byte). */
  private headText(ex: Exchange, plan: StaticPlan, keepAlive: boolean): string {
    let framing = '';
    if (!ex.raw) {
      if (!keepAlive && ex.clientHttp11) framing = 'Connection: close\r\n';
      if (keepAlive && !ex.clientHttp11) framing = 'Connection: keep-alive\r\n';
    }
    return `${ex.protocol} ${statusLine(plan.status)}\r\n${plan.headers}${framing}\r\n`;
  }

  /**
   * file-serve-mode: no body, the front end sends the file (nginx's
   * X-Accel-Redirect, Apache's mod_xsendfile). As uWSGI: 200 with the type,
   * the cache headers, the header naming the real path, Last-Modified; the
   * connection closes after it. Ranges are the front end's to answer; 304
   * and 412 are answered here as usual.
   */
  private writeRedirect(ex: Exchange, header: string, file: string, f: Parameters<typeof planStaticResponse>[1], done: Done): void {
    const pathBytes = Buffer.from(file, 'utf8').toString('latin1'); // the head is written as latin1: keep the name's UTF-8 bytes
    const headers =
      (f.contentType !== undefined ? `Content-Type: ${f.contentType}\r\n` : '') +
      (f.encoding !== undefined ? `Content-Encoding: ${f.encoding}\r\n` : '') +
      (f.vary ? 'Vary: Accept-Encoding\r\n' : '') +
      f.cacheHeaders +
      `${header}: ${pathBytes}\r\nLast-Modified: ${httpDate(f.mtimeSeconds)}\r\n` +
      f.extraHeaders;
    const plan: StaticPlan = { status: 200, headers, start: 0, length: 0, sendBody: false };
    const head = this.head(ex, plan, false);
    ex.out.write([head]);
    ex.out.finish(false);
    done(outcome(plan, head.length, 0, false));
  }

  private writeHeadOnly(ex: Exchange, plan: StaticPlan, done: Done): void {
    const keepAlive = this.keepAlive(ex);
    const head = this.head(ex, plan, keepAlive);
    ex.out.write([head]);
    ex.out.finish(keepAlive);
    done(outcome(plan, head.length, 0, false));
  }

  /** Without `cacheKey`, `fd` is ours to close; with it, the open-file cache's (that entry is forgotten if a read fails). */
  private writeBody(ex: Exchange, plan: StaticPlan, fd: number, done: Done, cacheKey?: string): void {
    const owned = cacheKey === undefined;
    const keepAlive = this.keepAlive(ex);
    if (plan.length <= SMALL_FILE) {
      // The head is written straight into the buffer the file is read into: one allocation, one write(2).
      const head = this.headText(ex, plan, keepAlive);
      let small: { wire: Buffer; bytes: number; complete: boolean };
      try {
        small = readWhole(fd, head, plan);
      } catch (err) {
        if (cacheKey !== undefined) this.openFiles.forget(cacheKey);
        throw err;
      } finally {
        if (owned) closeSync(fd);
      }
      if (cacheKey !== undefined && !small.complete) this.openFiles.forget(cacheKey);
      ex.out.write([small.wire]);
      if (small.complete) ex.out.finish(keepAlive);
      else this.truncated(ex);
      done(outcome(plan, head.length, small.bytes, false));
      return;
    }
    const head = this.head(ex, plan, keepAlive);
    ex.out.write([head]);
    const sent = plan.multipart !== undefined ? pumpParts(fd, plan.multipart.parts, plan.multipart.trailer, ex.out) : pumpFile(fd, plan.start, plan.length, ex.out);
    void sent.then(
      (r) => {
        if (r.truncated) this.truncated(ex);
        else if (!r.writeError) ex.out.finish(keepAlive);
        done(outcome(plan, head.length, r.bytes, r.writeError));
      },
      (err: Error) => {
        this.host.log(`[uwsgi-fileserve] read error on ${ex.uri}: ${err.message}\n`);
        ex.out.destroy();
        done(outcome(plan, head.length, 0, true));
      },
    );
  }

  private truncated(ex: Exchange): void {
    this.host.log(`[uwsgi-fileserve] ${ex.uri}: the file shrank while being sent, closing the connection\n`);
    ex.out.destroy();
  }

  private writeError(ex: Exchange, done: Done, status: 404 | 500 = 500): void {
    const reason = status === 404 ? 'Not Found' : 'Internal Server Error';
    const body = `${reason}\n`;
    const head = `${ex.protocol} ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    ex.out.write([Buffer.from(head + body, 'latin1')]);
    ex.out.finish(false);
    done({ status, bodyBytes: body.length, headerCount: 3, headerBytes: head.length });
  }

  /**
   * X-Sendfile (ours, --x-sendfile DIR): the app answered with a head naming
   * a file; when the file is under an allowed directory, it is sent from here
   * with the static server's validators, conditional requests and ranges, the
   * app's other headers kept (its Content-Type wins over the mime table) and
   * X-Sendfile dropped. False when the head names no file: the runner sends
   * the app's response as usual. `appHead` is "200 OK\r\nName: value\r\n...".
   */
  serveAppFile(ex: Exchange, appHead: Buffer, done: Done): boolean {
    if (this.cfg.xSendfileDirs.length === 0) return false;
    const parsed = parseAppHead(appHead.toString('latin1'));
    if (parsed.sendfile === undefined) return false;
    const req = staticRequestFromVars(ex.vars);
    const found = this.resolver.allowedFile(parsed.sendfile, this.cfg.xSendfileDirs);
    if (found === null) {
      this.host.log(`X-Sendfile: ${parsed.sendfile} is not a file under an --x-sendfile directory (${ex.method} ${ex.uri}): 404\n`);
      this.writeError(ex, done, 404);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') req.range = undefined; // a POST answered with a file: the whole file
    this.serveSafely(ex, req, found, parsed, done, undefined);
    return true;
  }

  private serveSafely(ex: Exchange, req: StaticRequest, found: ResolvedFile, app: AppHeaders | undefined, done: Done, kept: CachedLookup | undefined): void {
    try {
      this.serve(ex, req, found, app, done, kept);
    } catch (err) {
      // An I/O error on a file already chosen (EIO, a vanished mount): this request fails, the worker does not.
      this.host.log(`[uwsgi-fileserve] ${ex.method} ${ex.uri}: ${(err as Error).message}\n`);
      ex.out.destroy();
      done({ status: 500, bodyBytes: 0, headerCount: 0, headerBytes: 0, writeErrors: 1 });
    }
  }
}

type Done = (o: LoggedOutcome) => void;

/** A file found, from the open-file cache or freshly remembered there: its kept descriptor (or -1) and its key. */
interface CachedLookup {
  found: ResolvedFile;
  fd: number;
  key: string;
}

/** A small body (one range, the whole file, or a few parts) and its head, in one buffer. */
function readWhole(fd: number, head: string, plan: StaticPlan): { wire: Buffer; bytes: number; complete: boolean } {
  if (plan.multipart !== undefined) return readParts(fd, Buffer.from(head, 'latin1'), plan.multipart.parts, plan.multipart.trailer);
  const small = readSmall(fd, head, plan.start, plan.length);
  return { wire: small.wire, bytes: small.bytes, complete: small.bytes === plan.length };
}

/** How long a looked-up path is trusted without a full lookup when static-cache-paths is not set (see open-cache.ts). */
const OPEN_CACHE_MS = 1000;

/** The app's headers that survive an X-Sendfile answer, and the file it names. */
interface AppHeaders {
  contentType?: string;
  /** Header lines to keep, CRLF-terminated. */
  lines: string;
  sendfile?: string;
}

/** Headers the file answer sets itself (or must not carry). */
const REPLACED = new Set(['x-sendfile', 'content-length', 'content-range', 'accept-ranges', 'last-modified', 'etag', 'transfer-encoding', 'content-type', 'connection']);

function parseAppHead(head: string): AppHeaders {
  const out: AppHeaders = { lines: '' };
  const lines = head.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-sendfile') out.sendfile = value;
    else if (name === 'content-type') out.contentType = value;
    if (!REPLACED.has(name)) out.lines += `${line}\r\n`;
  }
  return out;
}

function outcome(plan: StaticPlan, headerBytes: number, bodyBytes: number, writeError: boolean): LoggedOutcome {
  let headerCount = 0;
  for (let i = plan.headers.indexOf('\n'); i >= 0; i = plan.headers.indexOf('\n', i + 1)) headerCount++;
  return { status: plan.status, bodyBytes, headerCount, headerBytes, via: 'sendfile', writeErrors: writeError ? 1 : 0 };
}

/**
 * add-header lines ("Name: value"), as uWSGI adds them to every response,
 * static ones included. Exported so the lead can reuse the same parsing for
 * app responses (issue 10); lines without a colon are ignored.
 */
export function staticExtraHeaders(lines: readonly string[]): string {
  let out = '';
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\r\n]/.test(line)) continue;
    out += `${line.slice(0, colon).trim()}: ${line.slice(colon + 1).trim()}\r\n`;
  }
  return out;
}
