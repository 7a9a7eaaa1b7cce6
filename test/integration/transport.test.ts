// How connections start and end on the worker's bare libuv handles
// (src/worker/transport.ts): the eager first read at accept time, requests
// that arrive in pieces or late, half-closes, and the close after a response
// (which must never reset the response away), on both a uwsgi unix socket and
// an HTTP TCP socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSocket, parseResponse, parseResponses, rawExchange, SocketReader } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';
import { encodeUwsgiPacket, uwsgiVarsFor } from '../helpers/uwsgi';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

function packet(path: string, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeUwsgiPacket(uwsgiVarsFor({ path, method: body.length > 0 ? 'POST' : 'GET' }, body.length)), body]);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connections on bare handles', () => {
  let server: ServerProcess;
  let unixPath: string;
  let port: number;

  before(async () => {
    unixPath = join(makeTempDir(), 'app.sock');
    server = await startNuwsgi([
      '--http-socket', '127.0.0.1:0', '--socket', unixPath, '--wsgi-file', SINK(), '--master', '--processes', '2',
      // 200 connections at once below: a unix socket refuses past its backlog (connect EAGAIN, where TCP would
      // retry the SYN), and the default 100 overflowed on a loaded machine before the workers drained it.
      '--listen', '256',
    ]);
    port = server.httpPort as number;
  });
  after(async () => {
    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0);
    assert.deepEqual(stopped.orphans, []);
  });

  test('uwsgi: a packet already there at accept is answered, then the connection closes cleanly', async () => {
    const ex = await rawExchange(unixPath, packet('/hi'));
    assert.equal(ex.outcome, 'closed');
    assert.equal(ex.error, undefined);
    assert.equal(parseResponse(ex.data, true)?.response.body.toString(), 'hello from GET /hi');
  });

  test('uwsgi: a packet that arrives late or in pieces is still read (after the eager read found nothing or a part)', async () => {
    const bytes = packet('/late', Buffer.from('x'.repeat(3000)));
    // Nothing at accept time, then the packet in three pieces.
    const ex = await rawExchange(unixPath, [Buffer.alloc(0), bytes.subarray(0, 3), bytes.subarray(3, 200), bytes.subarray(200)], {
      pieceDelayMs: 60,
    });
    assert.equal(ex.outcome, 'closed');
    assert.equal(parseResponse(ex.data, true)?.response.body.toString(), 'hello from POST /late');
  });

  test('uwsgi: a body read in many pieces reaches the app byte for byte (the session borrows the read buffer)', async () => {
    // Distinct bytes in every piece: a body view kept past its read would show the next read's bytes instead.
    const body = Buffer.alloc(40_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
    const bytes = packet('/echo', body);
    const cuts = [0, 2, 50, 1_000, 1_001, 9_000, 20_000, 33_333, bytes.length];
    const pieces = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
    const ex = await rawExchange(unixPath, pieces, { pieceDelayMs: 20 });
    assert.equal(ex.outcome, 'closed');
    const res = parseResponse(ex.data, true)?.response;
    assert.equal(res?.status, 200);
    assert.ok(res?.body.equals(body), 'the echoed body is the one sent');
  });

  test('uwsgi: a truncated packet and EOF closes without an answer', async () => {
    const ex = await rawExchange(unixPath, packet('/cut').subarray(0, 20), { endAfterSend: true, timeoutMs: 5000 });
    assert.equal(ex.outcome, 'closed');
    assert.equal(ex.data.length, 0);
  });

  test('uwsgi: a response larger than the socket buffer, read slowly, arrives whole before the close', async () => {
    const body = Buffer.alloc(3 << 20, 'y');
    const sock = await openSocket(unixPath);
    const reader = new SocketReader(sock);
    sock.pause(); // let the server's write queue fill up
    sock.write(packet('/echo', body));
    await delay(300);
    sock.resume();
    const closed = await reader.waitForEnd(10_000);
    sock.destroy();
    assert.ok(closed, 'the server closed after the response');
    const res = parseResponse(reader.pending, true)?.response;
    assert.equal(res?.status, 200);
    assert.equal(res?.body.length, body.length);
  });

  test('http: a client that half-closes after its request still gets the whole answer', async () => {
    const ex = await rawExchange(port, 'GET /half HTTP/1.1\r\nHost: x\r\n\r\n', { endAfterSend: true });
    assert.equal(ex.outcome, 'closed');
    const [res] = parseResponses(ex.data);
    assert.equal(res?.body.toString(), 'hello from GET /half');
  });

  test('http: keep-alive, then Connection: close answers everything and ends with a FIN, not a reset', async () => {
    const sock = await openSocket(port);
    const reader = new SocketReader(sock);
    sock.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    await reader.waitFor((buf) => (parseResponses(buf).length === 1 ? true : undefined), 5000);
    sock.write('GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const closed = await reader.waitForEnd(5000);
    sock.destroy();
    assert.ok(closed);
    assert.equal(reader.error, undefined, 'no ECONNRESET');
    const responses = parseResponses(reader.pending);
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      ['hello from GET /one', 'hello from GET /two'],
    );
    assert.equal(responses[1]?.headers['connection'], 'close');
  });

  test('http: Connection: close with more bytes pipelined behind it still delivers the response', async () => {
    const ex = await rawExchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(ex.outcome, 'closed');
    const responses = parseResponses(ex.data);
    assert.equal(responses.length, 1);
    assert.equal(responses[0]?.body.toString(), 'hello from GET /a');
  });

  test('http: a partial request and EOF closes without an answer', async () => {
    const ex = await rawExchange(port, 'GET /partial HTTP/1.1\r\nHost:', { endAfterSend: true, timeoutMs: 5000 });
    assert.equal(ex.outcome, 'closed');
    assert.equal(ex.data.length, 0);
  });

  test('http: many short connections in parallel are all answered', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => rawExchange(port, `GET /n${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)),
    );
    results.forEach((ex, i) => assert.equal(parseResponses(ex.data)[0]?.body.toString(), `hello from GET /n${i}`));
    const viaUwsgi = await Promise.all(Array.from({ length: 200 }, (_, i) => rawExchange(unixPath, packet(`/u${i}`))));
    viaUwsgi.forEach((ex, i) => assert.equal(parseResponse(ex.data, true)?.response.body.toString(), `hello from GET /u${i}`));
  });
});
