// The in-process parser fuzzer: mutated inputs fed to Http1Parser and
// UwsgiParser whole, at every byte split, byte by byte and at random splits.
//
// Invariants checked for every input (docs/fuzzing.md):
//   - no exception escapes push();
//   - the same events (heads, body bytes, ends, the error) whatever the split;
//   - events come in order (head, body*, end | error) and nothing after the error;
//   - errors carry a 4xx/5xx status (or null on uwsgi: log and close);
//   - limits hold: head bytes, body bytes, chunked xor Content-Length, a
//     Content-Length body delivers exactly that many bytes, no CR/LF/NUL in
//     decoded header names or values.
import { Http1Parser, type HttpHead, type HttpLimits } from '../../src/protocol/http1';
import { ProtocolError } from '../../src/protocol/errors';
import { UwsgiParser, type UwsgiHead, type UwsgiLimits } from '../../src/protocol/uwsgi';
import { HTTP_MUTATORS, Rng, UWSGI_MUTATORS, httpSeeds, mutate, uwsgiSeeds } from './mutate';

export type Protocol = 'http' | 'uwsgi';

/** What a parser said about one input: a list of events, comparable as JSON. */
export interface Outcome {
  events: string[];
  /** Requests that completed (onEnd). */
  ends: number;
  /** Requests whose head was delivered. */
  heads: number;
  /** The error, if any: status (null = close silently) and code. */
  error: { status: number | null; code: string; afterHeads: number } | null;
  /** Head of each request, for the server fuzzer's expectations. */
  keepAlive: boolean[];
  /** An invariant broken while parsing (not a split difference). */
  violation: string | null;
  /** A head delivered without its end yet (waiting for more body). */
  pendingBody: boolean;
}

export const FUZZ_HTTP_LIMITS: HttpLimits = { maxHeadBytes: 8192, maxBodyBytes: 1 << 20 };
export const FUZZ_UWSGI_LIMITS: UwsgiLimits = { bufferSize: 8192, maxVars: 4 * 64, maxBodyBytes: 1 << 20 };

const BAD_DECODED = /[\r\n\0]/;

class Recorder {
  readonly outcome: Outcome = { events: [], ends: 0, heads: 0, error: null, keepAlive: [], violation: null, pendingBody: false };
  private body: Buffer[] = [];
  private bodyBytes = 0;
  private expectedBody = -1;
  private inRequest = false;

  constructor(private readonly maxHeadBytes: number, private readonly maxBodyBytes: number) {}

  violate(message: string): void {
    this.outcome.violation ??= message;
  }

  head(summary: object, headBytes: number, contentLength: number, chunked: boolean, fields: Array<[string, string]>, keepAlive: boolean): void {
    if (this.outcome.error !== null) this.violate('onHead after onError');
    if (this.inRequest) this.violate('onHead before the previous onEnd');
    if (headBytes > this.maxHeadBytes) this.violate(`head of ${headBytes} bytes over the limit ${this.maxHeadBytes}`);
    if (chunked && contentLength !== -1) this.violate('both chunked and a Content-Length');
    if (this.maxBodyBytes > 0 && contentLength > this.maxBodyBytes) this.violate('Content-Length over the body limit accepted');
    for (const [name, value] of fields) {
      if (BAD_DECODED.test(name) || BAD_DECODED.test(value)) this.violate(`CR, LF or NUL in a decoded field: ${JSON.stringify([name, value])}`);
    }
    this.inRequest = true;
    this.outcome.pendingBody = true;
    this.expectedBody = chunked ? -1 : Math.max(contentLength, 0);
    this.bodyBytes = 0;
    this.outcome.heads++;
    this.outcome.keepAlive.push(keepAlive);
    this.outcome.events.push('head ' + JSON.stringify(summary));
  }

  bodyChunk(chunk: Buffer): void {
    if (!this.inRequest) this.violate('onBody outside a request');
    if (chunk.length === 0) this.violate('empty onBody');
    this.bodyBytes += chunk.length;
    if (this.maxBodyBytes > 0 && this.bodyBytes > this.maxBodyBytes) this.violate('body over the limit delivered');
    if (this.expectedBody >= 0 && this.bodyBytes > this.expectedBody) this.violate('more body than Content-Length');
    this.body.push(Buffer.from(chunk));
  }

  end(): void {
    if (!this.inRequest) this.violate('onEnd without onHead');
    if (this.expectedBody >= 0 && this.bodyBytes !== this.expectedBody) this.violate(`body of ${this.bodyBytes} bytes for Content-Length ${this.expectedBody}`);
    this.flushBody();
    this.inRequest = false;
    this.outcome.pendingBody = false;
    this.outcome.ends++;
    this.outcome.events.push('end');
  }

  error(err: ProtocolError, allowNull: boolean, allowed: readonly number[]): void {
    if (this.outcome.error !== null) this.violate('onError twice');
    if (!(err instanceof ProtocolError)) this.violate('onError with something else than a ProtocolError');
    const status = err.status;
    if (status === null ? !allowNull : !allowed.includes(status)) this.violate(`error status ${status} (${err.code})`);
    this.flushBody();
    this.outcome.error = { status, code: err.code, afterHeads: this.outcome.heads };
    this.outcome.events.push(`error ${status} ${err.code} ${err.message}`);
  }

  private flushBody(): void {
    if (this.body.length > 0) this.outcome.events.push('body ' + Buffer.concat(this.body).toString('base64'));
    this.body = [];
  }

  finish(): Outcome {
    this.flushBody();
    return this.outcome;
  }
}

const HTTP_ERROR_STATUSES = [400, 413, 414, 431, 501, 505];
const UWSGI_ERROR_STATUSES = [413];

function runHttp(pieces: Buffer[], limits: HttpLimits): Outcome {
  const rec = new Recorder(limits.maxHeadBytes, limits.maxBodyBytes);
  const parser = new Http1Parser(
    {
      onHead: (h: HttpHead) =>
        rec.head(
          { m: h.method, t: h.target, v: h.version, h: h.headers, cl: h.contentLength, c: h.chunked, k: h.keepAlive, e: h.expectContinue, b: h.headBytes },
          h.headBytes, h.contentLength, h.chunked, h.headers, h.keepAlive,
        ),
      onBody: (c) => rec.bodyChunk(c),
      onEnd: () => rec.end(),
      onError: (e) => rec.error(e, false, HTTP_ERROR_STATUSES),
    },
    limits,
  );
  feed(pieces, (p) => parser.push(p), rec);
  return rec.finish();
}

function runUwsgi(pieces: Buffer[], limits: UwsgiLimits): Outcome {
  const rec = new Recorder(limits.bufferSize, limits.maxBodyBytes);
  const parser = new UwsgiParser(
    {
      onHead: (h: UwsgiHead) => {
        if (h.datasize > limits.bufferSize) rec.violate('datasize over buffer-size accepted');
        if (h.vars.length * 2 > limits.maxVars) rec.violate('more vars than max-vars accepted');
        rec.head({ m1: h.modifier1, m2: h.modifier2, d: h.datasize, v: h.vars, cl: h.contentLength }, h.datasize, h.contentLength, false, [], false);
      },
      onBody: (c) => rec.bodyChunk(c),
      onEnd: () => rec.end(),
      onError: (e) => rec.error(e, true, UWSGI_ERROR_STATUSES),
    },
    limits,
  );
  feed(pieces, (p) => parser.push(p), rec);
  return rec.finish();
}

function feed(pieces: Buffer[], push: (p: Buffer) => void, rec: Recorder): void {
  for (const piece of pieces) {
    // A fresh copy per push, then scribbled over: the parser must not keep views of pushed buffers.
    const copy = Buffer.from(piece);
    try {
      push(copy);
    } catch (err) {
      rec.violate(`exception escaped push(): ${(err as Error).stack ?? String(err)}`);
      return;
    }
    copy.fill(0x5a);
  }
}

/** The parser's outcome for the input fed whole: what a server should do with it. */
export function parseWhole(protocol: Protocol, input: Buffer): Outcome {
  return protocol === 'http' ? runHttp([input], FUZZ_HTTP_LIMITS) : runUwsgi([input], FUZZ_UWSGI_LIMITS);
}

function splitsFor(rng: Rng, input: Buffer): Array<{ name: string; pieces: Buffer[] }> {
  const splits: Array<{ name: string; pieces: Buffer[] }> = [];
  const n = input.length;
  // Every two-piece split for small inputs, a sample for big ones (each split costs a whole parse).
  const every = n <= 600;
  const points = every ? Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1) : Array.from({ length: 48 }, () => 1 + rng.int(Math.max(1, n - 1)));
  for (const at of points) splits.push({ name: `split at ${at}`, pieces: [input.subarray(0, at), input.subarray(at)] });
  if (n <= 20000) splits.push({ name: 'byte by byte', pieces: Array.from({ length: n }, (_, i) => input.subarray(i, i + 1)) });
  for (let k = 0; k < 4; k++) {
    const pieces: Buffer[] = [];
    const cuts: number[] = [];
    for (let pos = 0; pos < n; ) {
      const len = 1 + rng.int(Math.max(1, rng.pick([3, 17, 300])));
      pieces.push(input.subarray(pos, pos + len));
      cuts.push(pos + len);
      pos += len;
    }
    splits.push({ name: `random splits at ${cuts.slice(0, -1).join(',')}`, pieces });
  }
  return splits;
}

export interface ParserFailure {
  protocol: Protocol;
  input: Buffer;
  problem: string;
}

export interface ParserFuzzStats {
  inputs: Record<Protocol, number>;
  parses: number;
  /** Outcome classes of the whole-input parse, e.g. "http complete", "http error 400". */
  outcomes: Record<string, number>;
  failures: ParserFailure[];
}

/** Checks one input at every split; returns the problem, or null. */
export function checkInput(protocol: Protocol, input: Buffer, rng: Rng, stats?: ParserFuzzStats): { outcome: Outcome; problem: string | null } {
  const whole = parseWhole(protocol, input);
  if (stats) stats.parses++;
  if (whole.violation !== null) return { outcome: whole, problem: whole.violation };
  const expected = JSON.stringify(whole.events);
  for (const split of splitsFor(rng, input)) {
    const got = protocol === 'http' ? runHttp(split.pieces, FUZZ_HTTP_LIMITS) : runUwsgi(split.pieces, FUZZ_UWSGI_LIMITS);
    if (stats) stats.parses++;
    if (got.violation !== null) return { outcome: whole, problem: `${split.name}: ${got.violation}` };
    const actual = JSON.stringify(got.events);
    if (actual !== expected) return { outcome: whole, problem: `${split.name}: different outcome\n  whole: ${expected.slice(0, 600)}\n  split: ${actual.slice(0, 600)}` };
  }
  return { outcome: whole, problem: null };
}

export function classifyOutcome(protocol: Protocol, o: Outcome): string {
  if (o.error !== null) return `${protocol} error ${o.error.status ?? 'close'}`;
  if (o.pendingBody || o.ends === 0) return `${protocol} incomplete`;
  return `${protocol} ${o.ends} request${o.ends === 1 ? '' : 's'}`;
}

export interface ParserFuzzOptions {
  seed: number;
  durationMs: number;
  /** Stop after this many failures (default 10). */
  maxFailures?: number;
  /** Stop after this many inputs, even before the time is up (the test's fixed amount of work). */
  maxInputs?: number;
}

/** Alternates HTTP and uwsgi inputs until the time is up. */
export function runParserFuzz(opts: ParserFuzzOptions): ParserFuzzStats {
  const rng = new Rng(opts.seed);
  const seeds: Record<Protocol, Buffer[]> = { http: httpSeeds(), uwsgi: uwsgiSeeds() };
  const stats: ParserFuzzStats = { inputs: { http: 0, uwsgi: 0 }, parses: 0, outcomes: {}, failures: [] };
  const deadline = Date.now() + opts.durationMs;
  const maxFailures = opts.maxFailures ?? 10;
  const maxInputs = opts.maxInputs ?? Infinity;
  for (let i = 0; i < maxInputs && Date.now() < deadline && stats.failures.length < maxFailures; i++) {
    const protocol: Protocol = i % 3 === 2 ? 'uwsgi' : 'http';
    const input = mutate(rng, seeds[protocol], protocol === 'http' ? HTTP_MUTATORS : UWSGI_MUTATORS);
    stats.inputs[protocol]++;
    const { outcome, problem } = checkInput(protocol, input, rng, stats);
    const cls = classifyOutcome(protocol, outcome);
    stats.outcomes[cls] = (stats.outcomes[cls] ?? 0) + 1;
    if (problem !== null) stats.failures.push({ protocol, input, problem });
  }
  return stats;
}
