// Network namespaces as "hosts" for multi-host tests (test/e2e/failover.test.ts).
//
// Each host is a namespace made here, joined to the test's own namespace by a
// veth pair on its own /30 of one /24 inside 10.0.0.0/8 (RFC 1918), chosen so
// that no route of this machine overlaps it: the test's side gets .1, the
// host's side .2. Traffic goes only between this namespace and the ones made
// here; nothing is routed anywhere else (no default route, no forwarding).
//
// Every namespace and link is registered: stop() or the cleanup registry
// (after() hook, 'exit', fatal signals) deletes them. Deleting a namespace
// destroys its end of the veth pair and with it the pair; the test's end is
// deleted too in case a process still holds the namespace open.
import { execFileSync, spawnSync } from 'node:child_process';

import { registerCleanup } from './cleanup';
import { which } from './system';

export interface Host {
  /** The namespace's name (`ip netns exec NAME ...`). */
  readonly ns: string;
  /** The host's address, on its side of the veth pair. */
  readonly address: string;
  /** The address of the test's side of the link. */
  readonly peerAddress: string;
  /** The test's end of the veth pair. */
  readonly link: string;
}

const made = new Set<Host>();

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be made here, or undefined. */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root (ip netns add, veth pairs)';
  if (which('ip') === undefined) return 'the ip command is missing (apt-get install iproute2)';
  const probe = `nuwsgi-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `ip netns is unavailable here: ${add.stderr.trim() || `exit ${String(add.status)}`}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

/** The IPv4 routes of this machine as [network, prefix length]. */
function localRoutes(): Array<[number, number]> {
  const out = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  const routes: Array<[number, number]> = [];
  for (const line of out.split('\n')) {
    const m = /^(?:local |broadcast )?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/.exec(line);
    if (m !== null) routes.push([toNumber(m[1] as string), Number(m[2] ?? 32)]);
  }
  return routes;
}

function toNumber(dotted: string): number {
  return dotted.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function overlaps(a: number, aLen: number, b: number, bLen: number): boolean {
  const len = Math.min(aLen, bLen);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/**
 * A /24 in 10.0.0.0/8 that no route here overlaps, picked from the pid so
 * parallel test processes (rarely) collide; throws when none is free.
 */
export function freeSubnet(): string {
  const routes = localRoutes();
  for (let i = 0; i < 200; i++) {
    const second = 200 + ((process.pid + i) % 50);
    const third = (process.pid * 7 + i) % 256;
    const net = toNumber(`10.${second}.${third}.0`);
    if (!routes.some(([r, len]) => overlaps(net, 24, r, len))) return `10.${second}.${third}`;
  }
  throw new Error('no free /24 in 10.200.0.0/13 for the test namespaces');
}

/**
 * Makes host `index` (0..63) on `subnet` (from freeSubnet()): a namespace with
 * loopback up and one veth link to this namespace.
 */
export function makeHost(subnet: string, index: number): Host {
  const tag = `${process.pid % 100000}${String.fromCharCode(97 + index)}`;
  const host: Host = {
    ns: `nuwsgi-fo-${tag}`,
    link: `nfo${tag}`, // interface names: at most 15 bytes
    peerAddress: `${subnet}.${index * 4 + 1}`,
    address: `${subnet}.${index * 4 + 2}`,
  };
  made.add(host);
  const inner = `${host.link}i`;
  ip(['netns', 'add', host.ns]);
  ip(['link', 'add', host.link, 'type', 'veth', 'peer', 'name', inner]);
  ip(['link', 'set', inner, 'netns', host.ns]);
  ip(['addr', 'add', `${host.peerAddress}/30`, 'dev', host.link]);
  ip(['link', 'set', host.link, 'up']);
  ip(['netns', 'exec', host.ns, 'ip', 'addr', 'add', `${host.address}/30`, 'dev', inner]);
  ip(['netns', 'exec', host.ns, 'ip', 'link', 'set', inner, 'up']);
  ip(['netns', 'exec', host.ns, 'ip', 'link', 'set', 'lo', 'up']);
  return host;
}

/** Deletes a host's namespace and link; safe to call twice. Kill its processes first. */
export function removeHost(host: Host): void {
  spawnSync('ip', ['netns', 'del', host.ns], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', host.link], { stdio: 'ignore' });
  made.delete(host);
}

function removeAll(): void {
  for (const host of [...made]) removeHost(host);
}

registerCleanup(removeAll, async () => removeAll());
