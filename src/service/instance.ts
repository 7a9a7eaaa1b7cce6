/**
 * One app instance: where its files live, from its relative confpath
 * (find_specific_rundir, find_specific_pidfile and the init script's
 * --daemonize argument).
 */
import path from 'node:path';
import { confName, confNamespace } from './conffiles';
import type { ServiceLayout } from './layout';

export interface Instance {
  /** "apps-enabled/site" */
  relative: string;
  /** "app" */
  namespace: string;
  /** "site" */
  name: string;
  /** /run/nuwsgi/app/site: made for the instance at start, removed at stop. */
  rundir: string;
  /** /run/nuwsgi/app/site/pid: how every command finds the instance's master. */
  pidfile: string;
  /** /run/nuwsgi/app/site/fifo: default.ini's master FIFO (force-reload writes `R` there). */
  fifo: string;
  /** /var/log/nuwsgi/app/site.log */
  logfile: string;
}

export function instanceFor(layout: ServiceLayout, relative: string): Instance {
  const namespace = confNamespace(relative);
  const name = confName(relative);
  const rundir = path.join(layout.runDir, namespace, name);
  return {
    relative,
    namespace,
    name,
    rundir,
    pidfile: path.join(rundir, 'pid'),
    fifo: path.join(rundir, 'fifo'),
    logfile: path.join(layout.logDir, namespace, `${name}.log`),
  };
}

/** "app/site" with control characters shown as `?` and quotes around names with spaces (sanitize_confname). */
export function displayName(instance: Pick<Instance, 'namespace' | 'name'>): string {
  // eslint-disable-next-line no-control-regex
  const shown = `${instance.namespace}/${instance.name}`.replace(/[\x01-\x1f\x7f]/g, '?');
  return /\s/.test(shown) ? `'${shown}'` : shown;
}
