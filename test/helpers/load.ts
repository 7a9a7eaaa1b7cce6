// Load generation and polling for tests of reloads, recycling and crashes.
import assert from 'node:assert/strict';
import { HttpConnection, type Endpoint } from './http';
import type { ServerProcess } from './server';

export interface LoadResult {
  ok: number;
  failures: string[];
  bodies: Set<string>;
}

/**
 * Keep-alive clients hammering the server until `until` resolves, as wrk would,
 * counting every failed request. A connection the server closes after a
 * response that said "Connection: close" is not a failure: we reconnect.
 */
/** `close`: one connection per request (Connection: close), so new workers get a share at once. */
export async function loadWhile(endpoint: Endpoint, clients: number, until: Promise<unknown>, path = '/', opts: { close?: boolean } = {}): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], bodies: new Set() };
  let done = false;
  void until.finally(() => (done = true));
  const client = async (): Promise<void> => {
    let conn: HttpConnection | null = null;
    while (!done) {
      try {
        conn ??= await HttpConnection.open(endpoint);
        const res = await conn.request({ path, timeoutMs: 10_000, ...(opts.close === true ? { headers: { Connection: 'close' } } : {}) });
        if (res.status !== 200) result.failures.push(`status ${res.status}`);
        else result.ok++;
        result.bodies.add(res.body.toString());
        if ((res.headers['connection'] ?? '').toLowerCase() === 'close') {
          conn.close();
          conn = null;
        }
      } catch (err) {
        result.failures.push(String(err));
        conn?.close();
        conn = null;
      }
    }
    conn?.close();
  };
  await Promise.all(Array.from({ length: clients }, client));
  return result;
}

/**
 * Poll a probe every 25 ms until it returns true, with a deadline. A function
 * `what` is called when the deadline passes: a message with a value in it
 * says what it was then, not when the wait began.
 */
export async function until(probe: () => boolean, deadlineMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!probe()) {
    if (Date.now() >= deadline) assert.fail(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Poll an async probe until it returns a value (not undefined), with a
 * deadline; a probe that throws counts as "not yet" (its last error is shown
 * on timeout, with the tail of `logs` when given).
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string | (() => string),
  deadlineMs = 30_000,
  logs?: ServerProcess,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const tail = logs === undefined ? '' : `\n--- logs ---\n${logs.logs().slice(-6000)}`;
    assert.fail(`timed out waiting for ${typeof what === 'function' ? what() : what} ${last}${tail}`);
  }
}

export function count(server: ServerProcess, re: RegExp): number {
  return [...server.logs().matchAll(new RegExp(re.source, 'g'))].length;
}

