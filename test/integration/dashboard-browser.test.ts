// Issue 14: the dashboard in a real browser — Debian's chromium, headless,
// driven by puppeteer-core (which downloads no browser). While load runs the
// request counter grows; a worker added through the master FIFO appears; a
// harakiri'd worker shows its respawn; the page logs no console error. A
// screenshot is kept as an artifact (its path is printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWhile, until } from '../helpers/load';
import { repoRoot, startNuwsgi } from '../helpers/server';
import { which } from '../helpers/system';
import { makeTempDir } from '../helpers/tmp';

const SINK = (): string => join(repoRoot(), 'test', 'fixtures', 'apps', 'sink.py');

/** The little of puppeteer this test uses (puppeteer-core is an ES module; imported dynamically). */
interface Page {
  on(event: 'console', fn: (m: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', fn: (e: Error) => void): void;
  setViewport(v: { width: number; height: number }): Promise<void>;
  goto(url: string, opts: { waitUntil: string }): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
  screenshot(opts: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(opts: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
}

const CHROMIUM = which('chromium') ?? which('chromium-browser');

function skipReason(): string | undefined {
  if (CHROMIUM === undefined) return 'chromium not installed (Debian package chromium)';
  try {
    require.resolve('puppeteer-core');
  } catch {
    return 'puppeteer-core not installed (npm dev dependency)';
  }
  return undefined;
}

test('the dashboard in headless chromium: counter grows under load, a FIFO-added worker appears, a harakiri shows its respawn', { skip: skipReason(), timeout: 90_000 }, async (t) => {
  const puppeteer = ((await import('puppeteer-core' as string)) as { default: Puppeteer }).default;
  const dir = makeTempDir();
  const fifo = join(dir, 'master.fifo');
  const server = await startNuwsgi([
    '--http-socket', '127.0.0.1:0', '--wsgi-file', SINK(), '--master',
    '--processes', '3', '--cheaper', '1', '--harakiri', '1', '--dashboard', '127.0.0.1:0', '--master-fifo', fifo,
  ]);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM as string, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const problems: string[] = [];
  try {
    const dash = /dashboard enabled on (http:\/\/\S+\/)/.exec(server.logs())?.[1] as string;
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(dash, { waitUntil: 'domcontentloaded' });
    const rows = (): Promise<Array<{ id: string; status: string; pid: string; respawns: string; harakiri: string }>> =>
      page.evaluate('[...document.querySelectorAll("#rows tr")].map((r) => ({ id: r.dataset.worker, status: r.dataset.status, pid: r.dataset.pid, respawns: r.dataset.respawns, harakiri: r.dataset.harakiri }))');
    const poll = async (probe: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await probe())) {
        if (Date.now() >= deadline) {
          // What the page and the master showed, for a failure seen only on a loaded machine.
          assert.fail(`timed out waiting for ${what}; rows ${JSON.stringify(await rows())}\n--- logs ---\n${server.logs().slice(-5000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await poll(async () => (await rows()).length === 3, 'three worker rows');
    assert.deepEqual((await rows()).map((r) => r.status), ['idle', 'cheap', 'cheap']);

    // A worker added through the master FIFO appears.
    writeFileSync(fifo, '+');
    await poll(async () => {
      const w2 = (await rows())[1];
      return w2 !== undefined && w2.status !== 'cheap' && Number(w2.pid) > 0;
    }, 'worker 2 on the page after FIFO +');

    // Under load, the request counter grows.
    const counter = async (): Promise<number> => Number((await page.evaluate<string>('document.getElementById("total-requests").textContent')).replace(/[^0-9]/g, '') || '0');
    let stop: () => void = () => undefined;
    const loading = loadWhile(server.httpPort as number, 4, new Promise<void>((r) => (stop = r)));
    const first = await (async () => {
      await poll(async () => (await counter()) > 0, 'a first request count');
      return counter();
    })();
    await poll(async () => (await counter()) > first, 'the counter to grow');
    stop();
    const load = await loading;
    assert.ok(load.ok > 0, 'the load was served');

    // A request that outlives --harakiri 1: its worker is killed, and the page shows the respawn.
    const marker = join(dir, 'in-app');
    const stuck = fetch(`http://127.0.0.1:${server.httpPort as number}/slow?secs=20&marker=${marker}`).catch(() => undefined);
    await until(() => existsSync(marker), 10_000, 'the slow request inside the app');
    await poll(async () => (await rows()).some((r) => Number(r.harakiri) >= 1 && Number(r.respawns) >= 2), 'a harakiri\'d worker with its respawn', 30_000);
    await poll(async () => (await page.evaluate<string>('document.getElementById("events").textContent')).includes('HARAKIRI on worker'), 'the harakiri in the events');
    await stuck;

    // The page renders to an image; kept for a human to look at only when asked (no temp dir left behind).
    const shots = mkdtempSync(join(tmpdir(), 'nuwsgi-dashboard-shot-'));
    const shot = join(shots, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env['NUWSGI_KEEP_SCREENSHOT'] === '1') {
      t.diagnostic(`screenshot: ${shot}`);
      process.stderr.write(`dashboard screenshot: ${shot}\n`);
    } else {
      rmSync(shots, { recursive: true, force: true });
    }
    assert.deepEqual(problems, [], 'no console errors');
  } finally {
    await browser.close();
    await server.stop();
  }
});
