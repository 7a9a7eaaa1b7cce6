import { bindSocket, describeBinding, parseAddress, type BoundSocket } from '../master/sockets';
import {
  applyUmask,
  applyUnixSocketOwnership,
  chownSocketTo,
  clearSystemdListenEnv,
  describeInheritedSocket,
  inheritedStdinSocket,
  inheritedSystemdSockets,
  prepareUnixSocketPath,
  socketIdentity,
  somaxconnWarning,
  unixSocketOwnership,
  type VacuumTarget,
} from '../master/socket-setup';
import type { ServerPlan } from './plan';

export interface BoundSockets {
  sockets: BoundSocket[];
  /** What --vacuum removes at exit. */
  vacuum: VacuumTarget[];
}

/**
 * Bind every configured socket the way uWSGI does before forking: umask first,
 * stale unix sockets replaced (a live one is an error), chmod/chown, then the
 * sockets systemd passed us (LISTEN_FDS), used as uwsgi sockets after ours.
 *
 * `owner` is the --uid/--gid identity the master will drop to. uWSGI drops
 * privileges before it binds, so its UNIX sockets belong to that user and
 * group (nginx running as www-data can connect to a `uid = www-data` socket).
 * nuwsgi binds first (so port 80 works with --uid) and then gives the socket
 * file to the same owner, unless chown-socket says otherwise.
 */
export async function bindAll(plan: ServerPlan, log: (line: string) => void, owner?: { uid: number; gid: number | undefined }): Promise<BoundSockets> {
  if (plan.umask !== undefined) applyUmask(plan.umask);
  const ownership = unixSocketOwnership(plan.chmodSocket, plan.chownSocket); // fails before anything is bound
  const warning = somaxconnWarning(plan.listen);
  if (warning !== undefined) log(warning);
  const sockets: BoundSocket[] = [];
  const vacuum: VacuumTarget[] = [];
  for (const [index, s] of plan.sockets.entries()) {
    const unix = parseAddress(s.spec).kind === 'unix';
    if (unix) await prepareUnixSocketPath(s.spec, log);
    const bound = await bindSocket(index, s.protocol, s.spec, plan.listen, plan.tcpFlags);
    if (s.tls !== undefined) bound.tls = s.tls;
    if (unix) {
      applyUnixSocketOwnership(s.spec, ownership, log);
      if (plan.chownSocket === undefined && owner !== undefined) chownSocketTo(s.spec, owner.uid, owner.gid);
      vacuum.push({ kind: 'unix-socket', path: s.spec, identity: socketIdentity(s.spec) });
    }
    log(describeBinding(bound));
    if (bound.deferAcceptFailed === true) log(`TCP_DEFER_ACCEPT setsockopt() on ${s.spec} failed: connections are accepted before their first bytes`);
    sockets.push(bound);
  }
  adoptSystemdSockets(sockets, plan.defaultProtocol, log);
  adoptStdinSocket(sockets, log);
  return { sockets, vacuum };
}

/** A listening socket as descriptor 0 (an on-demand vassal's, from its emperor) is served as a uwsgi socket, as uWSGI does. */
function adoptStdinSocket(sockets: BoundSocket[], log: (line: string) => void): void {
  const s = inheritedStdinSocket();
  if (s === undefined) return;
  const index = sockets.length;
  sockets.push({ index, protocol: 'uwsgi', spec: s.address, kind: s.kind, fd: 0, address: s.address, port: s.port, handle: undefined });
  log(`nuwsgi socket ${index} inherited ${s.kind === 'unix' ? 'UNIX' : 'INET'} address ${s.address} fd 0`);
}

/** Inherited sockets are uWSGI's "default" sockets: they speak --protocol (uwsgi unless set). */
function adoptSystemdSockets(sockets: BoundSocket[], protocol: ServerPlan['defaultProtocol'], log: (line: string) => void): void {
  const inherited = inheritedSystemdSockets();
  if (inherited.length === 0) return;
  log('- SystemD socket activation detected -');
  clearSystemdListenEnv(); // the app and its children must not think the fds are theirs
  for (const s of inherited) {
    const index = sockets.length;
    sockets.push({ index, protocol, spec: s.address, kind: s.kind, fd: s.fd, address: s.address, port: s.port, handle: undefined });
    log(describeInheritedSocket(index, s));
  }
}
