/**
 * Where the log goes, with real servers: --logto FILE (master, workers and
 * what the app prints), reopen after logrotate moved the file
 * (--touch-logreopen: the master and every worker follow), --log-maxsize
 * rotation, --logto HOST:PORT (UDP), and long lines printed by two workers
 * at once that must never interleave.
 *
 * uWSGI 2.0.21 with the same app (--master --processes 2 --logto FILE, two
 * concurrent /print?150) broke 162 of its 600 long lines: its workers share
 * the file descriptor, and a line written in two pieces gets the other
 * worker's piece in the middle.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request, waitHttp } from '../helpers/http';
import { startNuwsgi, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/tmp';

const APP = `
import os, sys, time

def application(environ, start_response):
    path = environ["PATH_INFO"]
    qs = environ.get("QUERY_STRING", "")
    pid = os.getpid()
    if path == "/print":
        sys.stderr.write("START %d\\n" % pid)
        sys.stderr.flush()
        for i in range(int(qs)):
            line = "W%d-%d-%s" % (pid, i, "x" * 10000)
            # Written in pieces, as a buffer flush cuts a long line: each piece is its own write(2),
            # with time in between for the other worker to write (a shared descriptor interleaves here).
            sys.stdout.write(line[:3000])
            sys.stdout.flush()
            time.sleep(0.001)
            sys.stdout.write(line[3000:] + "\\n")
            sys.stdout.flush()
            sys.stderr.write("E%d-%d-" % (pid, i))
            sys.stderr.flush()
            time.sleep(0.001)
            sys.stderr.write("y" * 10000 + "\\n")
            sys.stderr.flush()
    elif path == "/slow":
        time.sleep(float(qs))
    print("hello from %d at %s" % (pid, path), flush=True)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
`;

function setup(): { dir: string; app: string; log: string } {
  const dir = makeTempDir('nuwsgi-logto-');
  const app = join(dir, 'app.py');
  writeFileSync(app, APP);
  return { dir, app, log: join(dir, 'app.log') };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls `probe` until it returns something, or fails with `what` (and `context()`) at the deadline. */
async function poll<T>(probe: () => T | undefined, what: string, deadlineMs = 15_000, context = (): string => ''): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `file` until `probe` finds what it wants in its text. */
function waitInFile<T>(file: string, probe: (text: string) => T | undefined, what: string, deadlineMs = 15_000): Promise<T> {
  return poll(() => probe(readText(file)), `${what} in ${file}`, deadlineMs, () => readText(file).slice(-3000));
}

const lineMatching = (re: RegExp) => (text: string) => text.split('\n').find((l) => re.test(l));


/**
 * Starts nuwsgi logging to `logFile`: its port comes from the file, not from
 * stderr. Returns once every worker has loaded the app (--processes N).
 */
async function startLoggingTo(logFile: string, args: string[]): Promise<{ server: ServerProcess; port: number }> {
  const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--logto', logFile, ...args], { waitReady: false });
  try {
    const bound = await waitInFile(logFile, lineMatching(/socket 0 bound to TCP address 127\.0\.0\.1:\d+/), 'the bound socket', 30_000);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(bound)?.[1]);
    const workers = args.includes('--processes') ? Number(args[args.indexOf('--processes') + 1]) : 1;
    const ready = (text: string): true | undefined => ((text.match(/^WSGI app 0 \(mountpoint=''\) ready/gm)?.length ?? 0) >= workers ? true : undefined);
    await waitInFile(logFile, ready, `${workers} worker(s) ready`, 30_000);
    await waitHttp(port);
    return { server, port };
  } catch (err) {
    await server.stop('SIGKILL');
    throw err;
  }
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pids of the workers that logged a request for `uri`. */
const requestLinePids = (text: string, uri: string): Set<string> =>
  new Set([...text.matchAll(new RegExp(`^\\[pid: (\\d+)\\|app: 0\\|req: \\d+/\\d+\\] .* GET ${escape(uri)} =>`, 'gm'))].map((m) => m[1] as string));

describe('--logto', () => {
  test('a file gets the master lines, the request lines and what the app prints; nothing is left on stderr', async () => {
    const { app, log } = setup();
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app, '--master', '--processes', '2']);
    try {
      await request(port, { path: '/hello' });
      await waitInFile(log, lineMatching(/^hello from \d+ at \/hello$/), 'the app print()');
      await waitInFile(log, lineMatching(/^\[pid: \d+\|app: 0\|req: \d+\/\d+\] 127\.0\.0\.1 \(\) .* GET \/hello => generated 2 bytes/), 'the request line');
      const text = readText(log);
      assert.match(text, /^\*\*\* Starting nuwsgi /);
      assert.match(text, /^spawned nuwsgi worker 2 \(pid: \d+, cores: 1\)$/m);
      assert.match(text, /^WSGI app 0 \(mountpoint=''\) ready/m);
    } finally {
      await server.stop();
    }
    assert.match(readText(log), /^goodbye to nuwsgi\.$/m);
    assert.equal(server.logs(), '', 'everything went to the file');
  });

  test('single-process mode: the app output lands in the file too', async () => {
    const { app, log } = setup();
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app]);
    try {
      await request(port, { path: '/solo' });
      await waitInFile(log, lineMatching(/^hello from \d+ at \/solo$/), 'the app print()');
      await waitInFile(log, lineMatching(/GET \/solo => generated 2 bytes/), 'the request line');
    } finally {
      await server.stop();
    }
  });

  test('logrotate moved the file, touch-logreopen: the master and every worker write to the new file', async () => {
    const { dir, app, log } = setup();
    const trigger = join(dir, 'reopen.trigger');
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app, '--master', '--processes', '2', '--touch-logreopen', trigger]);
    try {
      await request(port, { path: '/before' });
      await waitInFile(log, lineMatching(/GET \/before =>/), 'the first request line');
      renameSync(log, `${log}.1`);
      writeFileSync(trigger, ''); // the file appearing counts as a touch, as in uWSGI
      await waitInFile(log, lineMatching(new RegExp(`^\\[\\d+\\] ${escape(log)} reopened\\.$`)), 'the reopen line');
      // Two slow requests at once occupy both workers; repeat until both have written to the new file.
      const deadline = Date.now() + 20_000;
      while (requestLinePids(readText(log), '/slow?0.3').size < 2) {
        assert.ok(Date.now() < deadline, `both workers should log to the new file:\n${readText(log)}`);
        await Promise.all([request(port, { path: '/slow?0.3' }), request(port, { path: '/slow?0.3' })]);
      }
      await waitInFile(log, lineMatching(/^hello from \d+ at \/slow$/), 'the app print() (relayed by the master)');
    } finally {
      await server.stop();
    }
    const old = readText(`${log}.1`);
    assert.match(old, /GET \/before =>/);
    assert.match(old, /^\[\d+\] logsize: \d+, triggering log-reopen\.\.\.$/m);
    assert.doesNotMatch(old, /\/slow/, 'nothing after the reopen went to the moved file');
    assert.match(readText(log), /^goodbye to nuwsgi\.$/m);
  });

  test('master FIFO: l reopens the moved file, L rotates it (Master.reopenLogs / rotateLogs)', async () => {
    const { dir, app, log } = setup();
    const fifo = join(dir, 'master.fifo');
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app, '--master', '--processes', '1', '--master-fifo', fifo]);
    try {
      renameSync(log, `${log}.moved`);
      await writeFile(fifo, 'l');
      await waitInFile(log, lineMatching(/^\[\d+\] .*app\.log reopened\.$/), 'the reopen line');
      await request(port, { path: '/after-l' });
      await waitInFile(log, lineMatching(/GET \/after-l =>/), 'the worker line in the reopened file');
      assert.match(readText(`${log}.moved`), /^\[\d+\] logsize: \d+, triggering log-reopen\.\.\.$/m);
      await writeFile(fifo, 'L');
      const rotated = await poll(() => readdirSync(dir).find((f) => /^app\.log\.\d+$/.test(f)), 'the rotated file');
      assert.match(readText(join(dir, rotated)), /GET \/after-l =>[^]*triggering rotation to .*app\.log\.\d+\.\.\.$/m);
      const deadline = Date.now() + 20_000;
      while (!/GET \/after-L =>/.test(readText(log))) {
        assert.ok(Date.now() < deadline, `the worker never wrote to the new file:\n${readText(log)}`);
        await request(port, { path: '/after-L' });
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await server.stop();
    }
  });

  test('--log-maxsize: the master rotates the file and the worker follows', async () => {
    const { dir, app, log } = setup();
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app, '--master', '--processes', '1', '--log-maxsize', '4000']);
    try {
      const rotated = (): string | undefined => readdirSync(dir).find((f) => /^app\.log\.\d+$/.test(f));
      const deadline = Date.now() + 20_000;
      while (rotated() === undefined) {
        assert.ok(Date.now() < deadline, 'the log was never rotated');
        await request(port, { path: '/fill' });
        await new Promise((r) => setTimeout(r, 50));
      }
      const backup = join(dir, rotated() as string);
      assert.match(readText(backup), /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - logsize: \d+, triggering rotation to .*app\.log\.\d+\.\.\.$/m);
      // The worker is told once the master has switched; a request racing with that may still land in the backup.
      while (!/GET \/after-rotation =>/.test(readText(log))) {
        assert.ok(Date.now() < deadline, `the worker never wrote to the new file:\n${readText(log)}`);
        await request(port, { path: '/after-rotation' });
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(existsSync(backup));
    } finally {
      await server.stop();
    }
  });

  test('UDP: one datagram per line, from the master, the workers and the app', async () => {
    const { app } = setup();
    const collector = createSocket('udp4');
    const datagrams: string[] = [];
    collector.on('message', (msg) => datagrams.push(msg.toString('utf8')));
    await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${collector.address().port}`;
    const server = await startNuwsgi(['--http-socket', '127.0.0.1:0', '--logto', target, '--wsgi-file', app, '--master', '--processes', '1'], { waitReady: false });
    try {
      const find = (re: RegExp) => (): string | undefined => datagrams.find((d) => re.test(d));
      const waitFor = (re: RegExp): Promise<string> => server.waitUntil(find(re), Date.now() + 30_000, `a datagram matching ${re}`, () => server.exit !== undefined);
      const bound = await waitFor(/socket 0 bound to TCP address 127\.0\.0\.1:\d+/);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(bound)?.[1]);
      await waitHttp(port);
      await request(port, { path: '/udp' });
      await waitFor(/^hello from \d+ at \/udp\n$/);
      await waitFor(/^\[pid: \d+\|app: 0\|req: \d+\/\d+\] .* GET \/udp => generated 2 bytes/);
      for (const d of datagrams) assert.ok(d.endsWith('\n') && d.indexOf('\n') === d.length - 1, `one line per datagram: ${JSON.stringify(d)}`);
    } finally {
      await server.stop();
      collector.close();
    }
  });
});

describe('a worker that cannot follow', () => {
  test('when reopening by path fails, its lines go through its stderr pipe (the master) instead of the old file', () => {
    const dir = makeTempDir('nuwsgi-fallback-');
    const logDir = join(dir, 'logs');
    const workerLog = join(__dirname, '..', '..', 'src', 'logging', 'worker-log.js');
    const script = `
      const fs = require('node:fs');
      const { openWorkerLog } = require(${JSON.stringify(workerLog)});
      const [logDir] = process.argv.slice(1);
      fs.mkdirSync(logDir);
      const path = logDir + '/app.log';
      const fd = fs.openSync(path, 'a');
      openWorkerLog({ kind: 'fd', fd, path }).then((log) => {
        log.write('before the move');
        fs.renameSync(logDir, logDir + '.gone'); // the directory is gone: the path cannot be opened again
        log.reopen();
        log.write('after the move');
      });`;
    const run = spawnSync(process.execPath, ['-e', script, logDir], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(readText(join(`${logDir}.gone`, 'app.log')), 'before the move\n');
    assert.match(run.stderr, /^worker \d+: unable to open log file .*app\.log: .*ENOENT.*: logging through the master from now on\nafter the move\n$/);
  });
});

describe('worker output', () => {
  test('two workers printing 10 KB lines in pieces at the same time: no line is ever interleaved', async () => {
    const { app, log } = setup();
    const lines = 150;
    const { server, port } = await startLoggingTo(log, ['--wsgi-file', app, '--master', '--processes', '2']);
    try {
      // The second request goes out once the first is inside Python, so the other worker takes it.
      const first = request(port, { path: `/print?${lines}`, timeoutMs: 60_000 });
      await waitInFile(log, lineMatching(/^START \d+$/), 'the first worker printing');
      const second = request(port, { path: `/print?${lines}`, timeoutMs: 60_000 });
      assert.deepEqual([(await first).status, (await second).status], [200, 200]);
      const printed = /^([WE])(\d+)-(\d+)-(x{10000}|y{10000})$/;
      const all = await waitInFile(
        log,
        (text) => {
          const found = text.split('\n').filter((l) => printed.test(l));
          return found.length >= 4 * lines ? text : undefined;
        },
        `${4 * lines} printed lines`,
        30_000,
      );
      const pids = new Set<string>();
      for (const line of all.split('\n')) {
        if (!/xxxxxxxxxx|yyyyyyyyyy/.test(line)) continue;
        const m = printed.exec(line);
        assert.ok(m !== null, `an interleaved line (${line.length} bytes): ${line.slice(0, 80)}...${line.slice(-80)}`);
        assert.equal(m[4]?.[0], m[1] === 'W' ? 'x' : 'y');
        pids.add(m[2] as string);
      }
      assert.equal(pids.size, 2, 'both workers printed at the same time');
    } finally {
      await server.stop();
    }
  });
});
