import { performance } from 'node:perf_hooks';
import type { BodyStream } from './asgi/body-stream';
import type { BodyCollector } from './body';
import type { Connection } from './connection';

/**
 * What every exchange (HTTP's, uwsgi's) starts with the same way: its
 * clocks, its place (app, core), its body and its connection. The
 * protocol's own fields are the subclass's.
 */
export abstract class ExchangeBase {
  startedAtMs = Date.now();
  startedAtPerf = performance.now();
  appId = 0;
  core = 0;
  switches?: number = undefined;
  stream?: BodyStream = undefined;
  clientGone?: () => void = undefined;
  body: BodyCollector;
  out: Connection;

  constructor(body: BodyCollector, out: Connection) {
    this.body = body;
    this.out = out;
  }
}
