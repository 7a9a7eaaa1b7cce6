// What the bench scripts share on their command line: flags over BENCH_*
// defaults, comma lists checked against what is known, and a free port.
import { createServer } from 'node:net';

export function fail(msg) {
  console.error(msg);
  process.exit(2);
}

/**
 * Fills `o` (the defaults, already taken from BENCH_* variables) from argv:
 * `--key value` or `--key=value` for every string key of `o`, plus --help,
 * --no-install and --no-save (boolean keys `install` and `save`).
 */
export function parseFlags(argv, o, usage) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (a === '--no-install') o.install = false;
    else if (a === '--no-save') o.save = false;
    else {
      const [flag, inline] = a.split(/=(.*)/s, 2);
      const key = flag.replace(/^--/, '');
      if (!flag.startsWith('--') || !(key in o) || typeof o[key] === 'boolean') fail(`unknown option ${a}\n${usage}`);
      o[key] = inline ?? argv[++i];
      if (o[key] === undefined) fail(`${flag} needs a value`);
    }
  }
  return o;
}

/** "a,b" → ['a', 'b'], each one of `allowed`. */
export function listOf(s, allowed, what) {
  const items = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of items) if (!allowed.includes(x)) fail(`unknown ${what} "${x}" (known: ${allowed.join(', ')})`);
  return items;
}

/** A port nobody listens on now (the servers bind it next). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
