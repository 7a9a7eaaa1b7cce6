import type { ProtocolError } from '../protocol/errors';
import { BodyStream } from './asgi/body-stream';
import type { BodyBudget } from './body';
import type { Connection } from './connection';
import type { Exchange } from './exchange';

/**
 * What an HTTP and a uwsgi connection's sessions share: the request being
 * read, its body collected (WSGI) or streamed to the app as it arrives
 * (ASGI), and its hand-over to the connection. Each session is the parser's
 * handlers and the connection's reader in one object: with one request per
 * connection (`Connection: close`, nginx's `uwsgi_pass`) closures per
 * connection were a good part of what it allocated.
 */
export abstract class RequestSession {
  protected readonly conn: Connection;
  protected current: Exchange | null = null;
  /** The head just parsed has a body: once this read is consumed, hand the request on if the body is still arriving. */
  private mayStream = false;
  private readonly budget: BodyBudget | undefined;

  constructor(conn: Connection, budget: BodyBudget | undefined) {
    this.conn = conn;
    this.budget = budget;
  }

  /** The protocol our own error answers speak on this socket. */
  protected abstract readonly errorProtocol: string;

  /** A streamed body's first `receive()`: HTTP sends its 100 Continue then. */
  protected abstract firstTake(): () => void;

  /** A complete request is about to be handed on (HTTP gives a de-chunked body its CONTENT_LENGTH). */
  protected complete(_ex: Exchange): void {}

  /** The current request's declared body length, -1 when chunked or none (for noteBodyCutShort). */
  private declaredLength = -1;

  /** A head was parsed: `ex` is the current request; `streams` when its body may go to the app as it arrives. */
  protected begin(ex: Exchange, streams: boolean, declaredLength: number): void {
    this.current = ex;
    this.declaredLength = declaredLength;
    this.conn.headParsed(ex.startedAtMs);
    this.mayStream = streams;
    if (streams) ex.body.spillsOverBudget = false; // one read at most: then it streams
  }

  onBody(chunk: Buffer): void {
    this.conn.noteBody(chunk.length);
    const current = this.current;
    if (current?.stream !== undefined) current.stream.push(chunk);
    else current?.body.push(chunk);
  }

  onEnd(): void {
    const ex = this.current;
    this.current = null;
    if (ex === null) return;
    this.conn.partialRequest = false;
    if (ex.stream !== undefined) {
      ex.stream.end();
      this.conn.bodyEnded();
      return;
    }
    this.complete(ex);
    this.conn.enqueue(ex);
  }

  onError(err: ProtocolError): void {
    if (this.current?.stream === undefined) this.current?.body.dispose(); // a streamed one: the runner disposes it
    this.current = null;
    this.conn.fail(err, this.errorProtocol);
  }

  /** After a read was parsed: a body still arriving streams from now on (ASGI). */
  protected streamIfStillArriving(): void {
    if (!this.mayStream) return;
    this.mayStream = false;
    const current = this.current;
    if (current !== null && !current.body.spooled) this.streamBody(current);
  }

  /**
   * The client ended its side (EOF) while a request's body was still
   * arriving: that request never reaches the app, so it gets no access-log
   * line either. One line says so, as uWSGI's `[uwsgi-body-read] Error
   * reading N bytes ... Client closed connection` does. A streamed body's app
   * gets `http.disconnect` and its request is logged as usual.
   */
  protected noteBodyCutShort(): void {
    const ex = this.current;
    if (ex === null || ex.stream !== undefined) return;
    this.conn.logBodyCutShort(ex.method, ex.uri, this.declaredLength);
  }

  /** The peer is gone or half-closed: a body cut short never completes. */
  protected cutShort(): void {
    this.current?.stream?.fail();
  }

  /** The connection closed: whatever the current request holds is let go. */
  protected dropCurrent(): void {
    const current = this.current;
    if (current?.stream !== undefined) current.stream.fail();
    else current?.body.dispose();
    this.current = null;
  }

  /** The app gets the body as it arrives (http.request with more_body); what came so far is its first piece. */
  private streamBody(ex: Exchange): void {
    const conn = this.conn;
    ex.stream = new BodyStream({ pause: () => conn.pauseBody(), resume: () => conn.resumeBody(), firstTake: this.firstTake() }, this.budget);
    conn.enqueueEarly(ex);
  }
}
