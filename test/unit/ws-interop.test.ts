// Our WebSocket protocol layer against an independent client: the sans-I/O
// client of Python's `websockets` library (Debian python3-websockets), driven
// through test/fixtures/ws/sansio_client.py. Handshake (with and without
// permessage-deflate, window and context-takeover parameters), masked client
// frames into our parser, our frames into its parser, and the close handshake.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { Http1Parser, type HttpHead } from '../../src/protocol/http1';
import { buildHandshakeResponse, validateUpgradeRequest } from '../../src/protocol/websocket/handshake';
import {
  MessageDeflater,
  MessageInflater,
  negotiatePerMessageDeflate,
  type PerMessageDeflateServerOptions,
} from '../../src/protocol/websocket/deflate';
import { encodeBinary, encodeClose, encodeFrame, encodePing, encodeText, Opcode } from '../../src/protocol/websocket/frame';
import { WebSocketParser, type WsEvent } from '../../src/protocol/websocket/parser';
import { skipReason } from '../helpers/system';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ws', 'sansio_client.py');
const SKIP = skipReason({ debPackages: ['python3-websockets'], python: { interpreter: PYTHON, modules: ['websockets'] } });

interface Reply {
  data?: string;
  events?: Array<{ kind: string; status?: number; opcode?: string; data?: string; fin?: boolean }>;
  state?: string;
  handshake_exc?: string | null;
  extensions?: string[];
  subprotocol?: string | null;
  error?: string;
}

/** One Python client process; `send` writes a command and resolves with its reply line. */
const running = new Set<ChildProcessWithoutNullStreams>();
// A failed assertion leaves its client running: end it, or the test file never exits.
after(() => {
  for (const child of running) child.kill();
});

class PythonClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  private stderr = '';

  constructor() {
    this.child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(this.child);
    this.child.once('exit', () => running.delete(this.child));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
  }

  send(command: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error(`python client exited: ${this.stderr}`));
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as Reply);
      });
      this.child.stdin.write(JSON.stringify(command) + '\n');
    });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
    assert.equal(this.stderr, '', 'python client stderr');
  }
}

const b64 = (data: Buffer): string => data.toString('base64');
const unb64 = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'base64');

function parseRequest(bytes: Buffer): HttpHead {
  let head: HttpHead | undefined;
  const parser = new Http1Parser(
    { onHead: (h) => (head = h), onBody: () => {}, onEnd: () => {}, onError: (e) => assert.fail(e.message) },
    { maxHeadBytes: 8192, maxBodyBytes: 0 },
  );
  parser.push(bytes);
  assert.ok(head, 'a complete request head');
  return head;
}

interface Session {
  client: PythonClient;
  parser: WebSocketParser;
  deflater: MessageDeflater | null;
  subprotocol: string | null | undefined;
  extensions: string[] | undefined;
}

/** Handshake: the client's request through our HTTP parser and validation, our 101 back to the client. */
async function open(deflate: Record<string, unknown> | null, serverOpts: PerMessageDeflateServerOptions = {}): Promise<Session> {
  const client = new PythonClient();
  const request = await client.send({ op: 'connect', deflate, subprotocols: ['chat', 'superchat'] });
  const validation = validateUpgradeRequest(parseRequest(unb64(request.data)));
  assert.ok(validation.ok, JSON.stringify(validation));
  assert.deepEqual(validation.subprotocols, ['chat', 'superchat']);
  const agreement = negotiatePerMessageDeflate(validation.extensionsHeader, serverOpts);
  assert.equal(agreement !== null, deflate !== null, `offer ${validation.extensionsHeader}`);
  const response = buildHandshakeResponse({
    key: validation.key,
    subprotocol: 'superchat',
    extensionsHeader: agreement?.responseHeader,
    extraHeaders: [['X-Served-By', 'nuwsgi']],
  });
  const reply = await client.send({ op: 'receive', data: b64(response) });
  assert.equal(reply.handshake_exc, null);
  assert.equal(reply.state, 'OPEN');
  assert.deepEqual(reply.events, [{ kind: 'response', status: 101 }]);
  const parser = new WebSocketParser({
    maxMessageSize: 1 << 22,
    inflater: agreement ? new MessageInflater({ noContextTakeover: agreement.params.clientNoContextTakeover }) : null,
  });
  const deflater = agreement ? new MessageDeflater({ windowBits: agreement.params.serverMaxWindowBits }) : null;
  return { client, parser, deflater, subprotocol: reply.subprotocol, extensions: reply.extensions };
}

async function clientSends(session: Session, command: Record<string, unknown>): Promise<WsEvent[]> {
  const reply = await session.client.send(command);
  return session.parser.feed(unb64(reply.data));
}

async function serverSends(session: Session, frames: Buffer): Promise<Reply> {
  return session.client.send({ op: 'receive', data: b64(frames) });
}

const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(200);

async function exchangeMessages(session: Session): Promise<void> {
  assert.deepEqual(await clientSends(session, { op: 'send_text', text: 'Hello ☺' }), [{ type: 'text', data: 'Hello ☺' }]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await clientSends(session, { op: 'send_text', text: LONG }), [{ type: 'text', data: LONG }], `long ${i}`);
  }
  const binary = Buffer.alloc(70000, 0xab);
  assert.deepEqual(await clientSends(session, { op: 'send_binary', data: b64(binary) }), [{ type: 'binary', data: binary }]);
  assert.deepEqual(await clientSends(session, { op: 'send_text', text: 'frag', fin: false }), []);
  assert.deepEqual(await clientSends(session, { op: 'send_ping', data: b64(Buffer.from('ping!')) }), [{ type: 'ping', data: Buffer.from('ping!') }]);
  assert.deepEqual(await clientSends(session, { op: 'send_continuation', data: b64(Buffer.from('mented ☺')), fin: true }), [
    { type: 'text', data: 'fragmented ☺' },
  ]);

  const ours = Buffer.concat([
    encodeText('from the server ☺', session.deflater),
    encodeText(LONG, session.deflater),
    encodeBinary(binary, session.deflater),
    encodePing(Buffer.from('p')),
    encodeFrame(Opcode.TEXT, Buffer.from('part one, '), { fin: false }),
    encodeFrame(Opcode.CONTINUATION, Buffer.from('part two')),
  ]);
  const reply = await serverSends(session, ours);
  const expected: Array<[string, Buffer, boolean]> = [
    ['TEXT', Buffer.from('from the server ☺'), true],
    ['TEXT', Buffer.from(LONG), true],
    ['BINARY', binary, true],
    ['PING', Buffer.from('p'), true],
    ['TEXT', Buffer.from('part one, '), false],
    ['CONT', Buffer.from('part two'), true],
  ];
  assert.equal(reply.events?.length, expected.length);
  expected.forEach(([opcode, data, fin], i) => {
    const event = reply.events![i]!;
    assert.deepEqual([event.opcode, event.fin], [opcode, fin], `frame ${i}`);
    assert.ok(unb64(event.data).equals(data), `frame ${i}: ${data.length} bytes expected, ${unb64(event.data).length} received`);
  });
  // The client answered our ping.
  assert.deepEqual(session.parser.feed(unb64(reply.data)), [{ type: 'pong', data: Buffer.from('p') }]);

  // Closing handshake, server first: the client echoes our close.
  const closing = await serverSends(session, encodeClose(1000, 'bye ☺'));
  assert.equal(closing.events?.[0]?.opcode, 'CLOSE');
  assert.deepEqual(session.parser.feed(unb64(closing.data)), [{ type: 'close', code: 1000, reason: 'bye ☺' }]);
  await session.client.close();
}

test('interop with python websockets: handshake, messages both ways, close (no compression)', { skip: SKIP }, async () => {
  const session = await open(null);
  assert.equal(session.subprotocol, 'superchat');
  assert.deepEqual(session.extensions, []);
  await exchangeMessages(session);
});

test('interop with python websockets: permessage-deflate with its default offer (context takeover from the client)', { skip: SKIP }, async () => {
  const session = await open({});
  assert.deepEqual(session.extensions, ['PerMessageDeflate']);
  // The client keeps its compression context: a repeated message shrinks to a back-reference.
  let seed = 7;
  const noise = Array.from({ length: 3000 }, () => String.fromCharCode(0x61 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 26))).join('');
  const first = await session.client.send({ op: 'send_text', text: noise });
  const second = await session.client.send({ op: 'send_text', text: noise });
  assert.ok(unb64(first.data).length > 1000, `first message in ${unb64(first.data).length} bytes`);
  assert.ok(unb64(second.data).length < 60, `repeated message in ${unb64(second.data).length} bytes`);
  assert.deepEqual(session.parser.feed(Buffer.concat([unb64(first.data), unb64(second.data)])), [
    { type: 'text', data: noise },
    { type: 'text', data: noise },
  ]);
  await exchangeMessages(session);
});

test('interop with python websockets: permessage-deflate with window bits and no context takeover', { skip: SKIP }, async () => {
  for (const [offer, opts] of [
    [{ server_max_window_bits: 10, client_no_context_takeover: true }, {}],
    [{ server_max_window_bits: 8 }, {}],
    [{ client_max_window_bits: true }, { clientMaxWindowBits: 9, serverMaxWindowBits: 12 }],
    [{ server_no_context_takeover: true, client_max_window_bits: 11 }, {}],
  ] as Array<[Record<string, unknown>, PerMessageDeflateServerOptions]>) {
    const session = await open(offer, opts);
    assert.deepEqual(session.extensions, ['PerMessageDeflate'], JSON.stringify(offer));
    await exchangeMessages(session);
  }
});

test('interop with python websockets: the client closes, with a code and reason', { skip: SKIP }, async () => {
  const session = await open(null);
  assert.deepEqual(await clientSends(session, { op: 'send_close', code: 4001, reason: 'app says bye' }), [
    { type: 'close', code: 4001, reason: 'app says bye' },
  ]);
  const reply = await serverSends(session, encodeClose(4001, 'app says bye'));
  // The client now waits for the TCP close, which is the server's to do (RFC 6455 §7.1.1).
  assert.equal(reply.state, 'CLOSING');
  assert.equal(reply.events?.[0]?.opcode, 'CLOSE');
  assert.ok(unb64(reply.events?.[0]?.data).equals(Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('app says bye')])));
  await session.client.close();
});
