/**
 * The stats server and the metrics server on real sockets: TCP (port 0) and
 * UNIX (temp dir), plain, --stats-http and minified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, startMetricsServer } from '../../src/stats/prometheus';
import { emptyMetrics } from '../../src/stats/request-metrics';
import { startStatsServer } from '../../src/stats/server';
import { instanceSnapshot, type InstanceSnapshot } from '../../src/stats/snapshot';
import { readStatsJson } from '../../src/stats/uwsgi-json-read';
import { WorkerStatsBook } from '../../src/stats/worker-book';
import { makeTempDir } from '../helpers/tmp';

function snapshot(): InstanceSnapshot {
  const book = new WorkerStatsBook({ apps: [{ mountpoint: '', chdir: '' }] });
  book.spawned(1, 4242);
  book.ready(1);
  return instanceSnapshot({ version: '0.1.0', listenQueue: 0, listenQueueErrors: 0, sockets: [], workers: book.workers() });
}

/** Connects, optionally sends `request` and half-closes, reads until the server closes. */
function exchange(target: net.NetConnectOpts, request?: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(target, () => {
      if (request !== undefined) sock.end(request);
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no close before the deadline'));
    }, timeoutMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

function tcpTarget(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

test('TCP: one pretty JSON document per connection, then close; the log line names the fd', async () => {
  const logs: string[] = [];
  let calls = 0;
  const server = await startStatsServer('127.0.0.1:0', () => (calls++, snapshot()), { http: false, minified: false, log: (l) => logs.push(l) });
  try {
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    assert.match(logs[0] ?? '', new RegExp(`^\\*\\*\\* Stats server enabled on ${server.address.replace(/\./g, '\\.')} fd: \\d+ \\*\\*\\*$`));
    const first = await exchange(tcpTarget(server.address));
    const second = await exchange(tcpTarget(server.address));
    assert.ok(first.startsWith('{\n\t"version":"0.1.0",\n'));
    assert.equal(readStatsJson(first).workers[0]?.pid, 4242);
    assert.equal(readStatsJson(second).workers.length, 1);
    assert.equal(calls, 2, 'a fresh snapshot per connection');
  } finally {
    await server.close();
  }
});

test('UNIX + --stats-http + minified: uWSGI\'s HTTP/1.0 head, then the document; the socket file goes away on close', async () => {
  const dir = makeTempDir('nuwsgi-stats-');
  const path = join(dir, 'stats.sock');
  const server = await startStatsServer(path, snapshot, { http: true, minified: true, log: () => undefined });
  assert.equal(server.address, path);
  try {
    const reply = await exchange({ path }, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head, body] = reply.split('\r\n\r\n');
    assert.equal(head, 'HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json');
    assert.ok(body?.startsWith('{"version":"0.1.0","listen_queue":0,'));
    assert.equal(readStatsJson(body ?? '').workers[0]?.id, 1);
    // A client that closes without asking gets nothing (uWSGI reads first, too).
    assert.equal(await exchange({ path }, ''), '');
  } finally {
    await server.close();
  }
  assert.equal(existsSync(path), false);
});

test('--stats-http: a client that never sends is dropped after the socket timeout', async () => {
  const server = await startStatsServer('127.0.0.1:0', snapshot, { http: true, minified: false, socketTimeoutMs: 200, log: () => undefined });
  try {
    const started = Date.now();
    assert.equal(await exchange(tcpTarget(server.address)), '');
    assert.ok(Date.now() - started >= 150);
  } finally {
    await server.close();
  }
});

test('a busy address is a typed E_STATS_BIND error', async () => {
  const first = await startStatsServer('127.0.0.1:0', snapshot, { http: false, minified: false, log: () => undefined });
  try {
    await assert.rejects(
      startStatsServer(first.address, snapshot, { http: false, minified: false, log: () => undefined }),
      (err: unknown) => (err as { code?: string }).code === 'E_STATS_BIND',
    );
  } finally {
    await first.close();
  }
});

function httpGet(address: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const { host, port } = tcpTarget(address);
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('--metrics: GET /metrics serves the exposition; other paths 404; HEAD has no body', async () => {
  const logs: string[] = [];
  const server = await startMetricsServer('127.0.0.1:0', () => renderPrometheus(snapshot(), emptyMetrics()), (l) => logs.push(l));
  try {
    assert.match(logs[0] ?? '', /^\*\*\* Prometheus metrics enabled on 127\.0\.0\.1:\d+ \(GET \/metrics\) fd: \d+ \*\*\*$/);
    const res = await httpGet(server.address, '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.type, PROMETHEUS_CONTENT_TYPE);
    assert.ok(res.body.includes('nuwsgi_worker_requests_total{worker="1"} 0\n'));
    assert.equal((await httpGet(server.address, '/')).status, 404);
    const head = await httpGet(server.address, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  } finally {
    await server.close();
  }
});
