// ASGI HTTP in detail (docs/asgi.md): request bodies streamed with
// backpressure, Expect: 100-continue, http.disconnect, send() waiting for a
// slow client, the pathsend and trailers extensions, the app's protocol
// mistakes, and the body limits that still apply to streamed bodies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpConnection, SocketReader, openSocket, request, type HttpResponse, writeTo, readNextResponse } from '../helpers/http';
import { startNuwsgi, repoRoot, type ServerProcess } from '../helpers/server';
import { skipReason } from '../helpers/system';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const fixtures = (): string => join(repoRoot(), 'test', 'fixtures', 'asgi');

async function withServer(args: string[], fn: (server: ServerProcess, port: number) => Promise<void>): Promise<void> {
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--chdir', fixtures(), '--processes', '1', ...args], { readyPath: '/' });
  try {
    await fn(server, server.httpPort as number);
  } finally {
    await server.stop();
  }
}

const app = ['--asgi', 'http_asgi:app'];

function json(res: HttpResponse): unknown {
  return JSON.parse(res.body.toString());
}


async function events(port: number): Promise<string[][]> {
  return json(await request(port, { path: '/events' })) as string[][];
}

async function waitForEvent(port: number, event: [string, string]): Promise<void> {
  let seen: string[][] = [];
  const deadline = Date.now() + 10_000;
  while (!seen.some(([a, b]) => a === event[0] && b === event[1])) {
    assert.ok(Date.now() < deadline, `the app never saw ${JSON.stringify(event)}: ${JSON.stringify(seen)}`);
    seen = await events(port);
  }
}

describe('ASGI request bodies', () => {
  test('http.request streams: the app answers from the first piece while the client holds back the rest', async () => {
    await withServer(app, async (_server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, `POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(1000)}`);
        const res = await readNextResponse(reader);
        assert.deepEqual(json(res), { type: 'http.request', length: 1000, more_body: true });
        // It ended before its body: the rest is not read as a next request, the connection closes.
        assert.equal(res.headers.connection, 'close');
      } finally {
        sock.destroy();
      }
    });
  });

  test('a 200 MB upload to an app that waits before reading: Node stops reading (flat memory), every byte arrives', async () => {
    await withServer(app, async (_server, port) => {
      const size = 200 * 1024 * 1024;
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, `POST /count?1000 HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
        const piece = Buffer.alloc(1 << 20, 'u');
        for (let sent = 0; sent < size; sent += piece.length) await writeTo(sock, piece);
        const out = json(await readNextResponse(reader, 60_000)) as { bytes: number; messages: number; rss_growth_kib: number };
        assert.equal(out.bytes, size);
        assert.ok(out.messages > 100, `${out.messages} http.request messages`);
        assert.ok(out.rss_growth_kib < 100 * 1024, `the worker grew by ${out.rss_growth_kib} KiB for a ${size}-byte body`);
      } finally {
        sock.destroy();
      }
    });
  });

  test('a streamed body pipelined behind a slow request stays paused until its app reads it', async () => {
    await withServer(app, async (_server, port) => {
      const size = 100 * 1024 * 1024;
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, `GET /count?1000 HTTP/1.1\r\nHost: x\r\n\r\nPOST /count?1000 HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
        const piece = Buffer.alloc(1 << 20, 'q');
        const sending = (async (): Promise<void> => {
          for (let sent = 0; sent < size; sent += piece.length) await writeTo(sock, piece);
        })();
        assert.equal((json(await readNextResponse(reader, 60_000)) as { bytes: number }).bytes, 0);
        const second = json(await readNextResponse(reader, 60_000)) as { bytes: number; rss_growth_kib: number };
        await sending;
        assert.equal(second.bytes, size);
        assert.ok(second.rss_growth_kib < 60 * 1024, `the worker grew by ${second.rss_growth_kib} KiB while the app slept`);
      } finally {
        sock.destroy();
      }
    });
  });

  test('a chunked upload streams too; bodies that arrive whole keep the one-message fast path', async () => {
    await withServer(app, async (_server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, 'POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
        assert.deepEqual(json(await readNextResponse(reader)), { type: 'http.request', length: 5, more_body: true });
      } finally {
        sock.destroy();
      }
      const small = json(await request(port, { method: 'POST', path: '/count', body: 'small' })) as { messages: number };
      assert.equal(small.messages, 1);
    });
  });

  test('Expect: 100-continue is answered when the app first awaits receive(); never when it answers without reading', async () => {
    await withServer(app, async (_server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        const sentAt = Date.now();
        await writeTo(sock, 'POST /late-read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
        const interim = await readNextResponse(reader);
        assert.equal(interim.status, 100);
        assert.ok(Date.now() - sentAt >= 250, 'the app sleeps 300 ms before receive(): 100 Continue waits for it');
        await writeTo(sock, 'hello');
        const res = await readNextResponse(reader);
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello');
        // Keep-alive goes on: the body was read whole.
        await writeTo(sock, 'POST /no-read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
        const direct = await readNextResponse(reader);
        assert.equal(direct.status, 200, 'no 100 Continue for an app that never reads');
        assert.equal(direct.body.toString(), 'did not read');
        assert.equal(direct.headers.connection, 'close');
      } finally {
        sock.destroy();
      }
    });
  });

  test('a WSGI app mounted in an ASGI worker still gets its whole body (and CONTENT_LENGTH for a chunked one)', async () => {
    await withServer(['--mount', '/w=wsgi_len.py', '--mount', '/=http_asgi:app', '--manage-script-name'], async (_server, port) => {
      const body = Buffer.alloc(3_000_000, 'w');
      assert.equal((await request(port, { method: 'POST', path: '/w/len', body })).body.toString(), '3000000 3000000');
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, 'POST /w/len HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
        await writeTo(sock, '2\r\nde\r\n0\r\n\r\n');
        assert.equal((await readNextResponse(reader)).body.toString(), '5 5');
      } finally {
        sock.destroy();
      }
    });
  });
});

describe('ASGI http.disconnect', () => {
  test('after the body when the client closes, mid-body when it leaves, and at once after the response ended', async () => {
    await withServer(app, async (server, port) => {
      const waiting = await openSocket(port);
      await writeTo(waiting, 'POST /wait-disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
      await waitForEvent(port, ['after-body', 'waiting']);
      waiting.destroy();
      await waitForEvent(port, ['after-body', 'http.disconnect']);

      const midBody = await openSocket(port);
      await writeTo(midBody, `POST /disconnect-mid-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'m'.repeat(1000)}`);
      await waitForEvent(port, ['mid-body', 'started']);
      midBody.destroy();
      await waitForEvent(port, ['mid-body', 'http.disconnect']);

      assert.equal((await request(port, { method: 'POST', path: '/after-end', body: 'x' })).body.toString(), 'done');
      await waitForEvent(port, ['after-end', 'http.disconnect']);
      // A client gone before any response is no app mistake: nothing about it in the log.
      assert.doesNotMatch(server.logs(), /ASGI app error on POST \/(wait-disconnect|disconnect-mid-body)/);
    });
  });
});

describe('ASGI responses', () => {
  test('send() waits while the client does not read: 100 MB streamed to a slow reader keeps the worker flat', async () => {
    await withServer(app, async (_server, port) => {
      const before = Number((await request(port, { path: '/peak' })).body.toString());
      const size = 100 * 1024 * 1024;
      const sock = await openSocket(port);
      try {
        let got = 0;
        let sinceBreak = 0;
        const done = new Promise<void>((resolve, reject) => {
          sock.on('data', (chunk: Buffer) => {
            got += chunk.length;
            sinceBreak += chunk.length;
            if (sinceBreak >= 2 << 20) {
              // A slow reader: a short break every 2 MiB.
              sinceBreak = 0;
              sock.pause();
              setTimeout(() => sock.resume(), 20);
            }
            if (got >= size) resolve();
          });
          sock.on('error', reject);
          sock.on('close', () => (got >= size ? resolve() : reject(new Error(`closed after ${got} bytes`))));
        });
        await writeTo(sock, `GET /big?${size} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await done;
      } finally {
        sock.destroy();
      }
      const after = Number((await request(port, { path: '/peak' })).body.toString());
      assert.ok(after - before < 50 * 1024, `the worker's peak RSS grew by ${after - before} KiB while streaming ${size} bytes`);
    });
  });

  test('http.response.pathsend: advertised in scope["extensions"], Node sends the file; a relative path is a 500 naming it', async () => {
    const dir = makeTempDir();
    try {
      const file = join(dir, 'page.txt');
      const content = Buffer.alloc(700_000, 'p');
      writeFileSync(file, content);
      await withServer(app, async (server, port) => {
        assert.deepEqual(json(await request(port, { path: '/extensions' })), ['http.response.early_hint', 'http.response.pathsend']);
        const res = await request(port, { path: `/pathsend?${file}` });
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-length'], '700000');
        assert.ok(res.body.equals(content));
        assert.equal((await request(port, { path: '/pathsend-relative' })).status, 500);
        await server.waitForLog(/http\.response\.pathsend 'path' must be an absolute path, not 'relative\.txt'/);
        assert.equal((await request(port, { path: `/pathsend?${file}` })).body.length, 700_000, 'the worker serves on');
      });
    } finally {
      removeTempDir(dir);
    }
  });

  test('http.response.trailers: advertised and sent only to an HTTP/1.1 client that sent TE: trailers', async () => {
    await withServer(app, async (_server, port) => {
      const te = { TE: 'trailers' };
      assert.deepEqual(json(await request(port, { path: '/extensions', headers: te })), ['http.response.early_hint', 'http.response.pathsend', 'http.response.trailers']);
      const withTrailers = await request(port, { path: '/trailers', headers: te });
      assert.equal(withTrailers.headers['transfer-encoding'], 'chunked');
      assert.equal(withTrailers.body.toString(), 'hello world');
      assert.deepEqual(withTrailers.trailers, { 'x-checksum': 'abc123' });
      const without = await request(port, { path: '/trailers' });
      assert.equal(without.body.toString(), 'hello world');
      assert.deepEqual(without.trailers ?? {}, {});
      const http10 = await request(port, { path: '/extensions', headers: te, httpVersion: '1.0' });
      assert.deepEqual(json(http10), ['http.response.pathsend']);
    });
  });

  test('protocol misuse is logged clearly and never corrupts the connection', async () => {
    await withServer(app, async (server, port) => {
      const conn = await HttpConnection.open(port);
      try {
        assert.equal((await conn.request({ path: '/double-start' })).status, 500);
        await server.waitForLog(/ASGI app error on GET \/double-start: http\.response\.start sent a second time/);
      } finally {
        conn.close();
      }
      const keepAlive = await HttpConnection.open(port);
      try {
        const res = await keepAlive.request({ path: '/body-after-end' });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'complete');
        await server.waitForLog(/ASGI app error on GET \/body-after-end: http\.response\.body sent after the response ended/);
        assert.equal((await keepAlive.request({ path: '/' })).body.toString(), 'ok', 'the same connection serves the next request');
        assert.equal((await keepAlive.request({ path: '/body-before-start' })).status, 500);
        await server.waitForLog(/ASGI app error on GET \/body-before-start: http\.response\.body sent before http\.response\.start/);
      } finally {
        keepAlive.close();
      }
    });
  });
});

describe('limits on streamed bodies', () => {
  test('--limit-post cuts a chunked body mid-stream with 413; the app hears http.disconnect', async () => {
    await withServer([...app, '--limit-post', '100000'], async (_server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, `POST /disconnect-mid-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n${'c'.repeat(4096)}\r\n`);
        await waitForEvent(port, ['mid-body', 'started']);
        const big = Buffer.alloc(200_000, 'c');
        await writeTo(sock, Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n')])).catch(() => undefined);
        assert.equal((await readNextResponse(reader)).status, 413);
      } finally {
        sock.destroy();
      }
      await waitForEvent(port, ['mid-body', 'http.disconnect']);
    });
  });

  test('--socket-timeout closes a stalled streamed body; the app hears http.disconnect', async () => {
    await withServer([...app, '--socket-timeout', '2'], async (server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      try {
        await writeTo(sock, `POST /disconnect-mid-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'t'.repeat(100)}`);
        assert.equal(await reader.waitForEnd(15_000), true, 'the server closed the stalled connection');
      } finally {
        sock.destroy();
      }
      await waitForEvent(port, ['mid-body', 'http.disconnect']);
      await server.waitForLog(/request body not received in time, closing/);
    });
  });

  test('--body-min-rate cuts a dripping streamed body with 408; an app slow to read is not held against the client', async () => {
    await withServer([...app, '--body-grace', '1', '--body-min-rate', '1000'], async (_server, port) => {
      const sock = await openSocket(port);
      const reader = new SocketReader(sock);
      let timer: NodeJS.Timeout | undefined;
      try {
        await writeTo(sock, `POST /disconnect-mid-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'d'.repeat(100)}`);
        timer = setInterval(() => sock.write('d', () => undefined), 100);
        assert.equal((await readNextResponse(reader, 15_000)).status, 408);
      } finally {
        clearInterval(timer);
        sock.destroy();
      }
      await waitForEvent(port, ['mid-body', 'http.disconnect']);
      // 4 MB at once to an app that sleeps 2.5 s before reading: Node pauses, the rate is not judged meanwhile.
      const size = 4_000_000;
      const res = await request(port, { method: 'POST', path: '/count?2500', body: Buffer.alloc(size, 's'), timeoutMs: 20_000 });
      assert.equal(res.status, 200);
      assert.equal((json(res) as { bytes: number }).bytes, size);
    });
  });
});

const frameworkSkip = skipReason({
  debPackages: ['python3-fastapi'],
  python: { interpreter: '/usr/bin/python3', modules: ['fastapi'] },
});

describe('FastAPI (Debian package)', { skip: frameworkSkip ?? false }, () => {
  test('parameters, a pydantic body, a dependency, a background task, FileResponse, streaming both ways, lifespan state', async () => {
    await withServer(['--python', '/usr/bin/python3', '--asgi', 'fastapi_more:app'], async (_server, port) => {
      assert.deepEqual(json(await request(port, { path: '/users/7/orders?limit=3&tag=new' })), { user_id: 7, limit: 3, tag: 'new' });
      assert.deepEqual(json(await request(port, { path: '/users/7/orders' })), { user_id: 7, limit: 10, tag: null });
      assert.equal((await request(port, { path: '/users/x/orders' })).status, 422);

      const order = { method: 'POST', path: '/orders', body: JSON.stringify({ item: 'pen', quantity: 2 }) };
      const headers = { 'Content-Type': 'application/json', 'X-Token': 'secret' };
      assert.deepEqual(json(await request(port, { ...order, headers })), { item: 'pen', quantity: 2, token: 'secret' });
      assert.equal((await request(port, { ...order, headers: { ...headers, 'X-Token': 'wrong' } })).status, 401, 'the dependency refuses');
      assert.equal((await request(port, { ...order, headers: { 'Content-Type': 'application/json' } })).status, 422, 'the header is required');
      const deadline = Date.now() + 10_000;
      while (!(json(await request(port, { path: '/done' })) as string[]).includes('pen')) {
        assert.ok(Date.now() < deadline, 'the background task ran after the response');
      }

      const file = await request(port, { path: '/file' });
      assert.equal(file.status, 200);
      assert.match(file.headers['content-type'] ?? '', /^text\/x-python/);
      assert.ok(file.body.equals(readFileSync(join(fixtures(), 'fastapi_more.py'))));
      assert.equal((await request(port, { path: '/stream' })).body.length, 48 * 65536);

      const upload = json(await request(port, { method: 'POST', path: '/upload', body: Buffer.alloc(5_000_000, 'u') })) as { bytes: number; pieces: number };
      assert.equal(upload.bytes, 5_000_000);
      assert.ok(upload.pieces > 1, 'request.stream() yields the body as it arrives');

      // Lifespan state is shallow-copied into each scope: new keys stay in their request, shared objects are shared.
      assert.deepEqual(json(await request(port, { path: '/state' })), { pool: 'db-pool', mark_before: null, counter: 1 });
      assert.deepEqual(json(await request(port, { path: '/state' })), { pool: 'db-pool', mark_before: null, counter: 2 });
    });
  });
});
