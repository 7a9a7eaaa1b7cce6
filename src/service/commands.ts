/**
 * do_command from /usr/share/uwsgi/init/do_command: run one action over the
 * named instances, or over every file in apps-enabled, marking progress; the
 * result is the number of instances that failed (the script's exit status).
 */
import { DEFAULT_CONFNAMESPACE, appsConfDir, type ServiceLayout } from './layout';
import { enabledConfs, relativeConfForSpec } from './conffiles';
import { forceReloadInstance, reloadInstance, startInstance, stopInstance, type ActionResult } from './actions';
import { instanceFor, displayName, type Instance } from './instance';
import type { Progress } from './progress';

export type InstanceCommand = 'start' | 'stop' | 'reload' | 'force-reload';

/** Failure explanations, printed after the progress line so it stays one line. */
export type Diagnostics = string[];

export async function doCommand(layout: ServiceLayout, command: InstanceCommand, specs: readonly string[], progress: Progress, diagnostics: Diagnostics): Promise<number> {
  let errors = 0;
  if (specs.length > 0) {
    progress.word('->');
    for (const spec of specs) {
      const relative = relativeConfForSpec(layout, spec);
      if (relative === undefined) notFound(spec, progress);
      else errors += await doWithInstance(layout, command, instanceFor(layout, relative), progress, diagnostics);
    }
    if (errors === 0) progress.word('done');
    return errors;
  }
  const confs = enabledConfs(layout);
  if (confs.length > 0) progress.word('->');
  for (const relative of confs) errors += await doWithInstance(layout, command, instanceFor(layout, relative), progress, diagnostics);
  if (confs.length === 0) progress.word(`(omitted; missing conffile(s) in ${appsConfDir(layout, DEFAULT_CONFNAMESPACE)})`);
  else if (errors === 0) progress.word('done');
  return errors;
}

async function doWithInstance(layout: ServiceLayout, command: InstanceCommand, instance: Instance, progress: Progress, diagnostics: Diagnostics): Promise<number> {
  const result = await runAction(layout, command, instance);
  if (result.code === 0) progress.ok(instance);
  else if (result.code === 1) progress.skipped(instance);
  else progress.failed(instance);
  if (result.code >= 2) diagnostics.push(`${displayName(instance)}: cannot ${command}: ${result.message ?? 'failed'}`);
  return result.code >= 2 ? 1 : 0;
}

function runAction(layout: ServiceLayout, command: InstanceCommand, instance: Instance): Promise<ActionResult> | ActionResult {
  switch (command) {
    case 'start':
      return startInstance(layout, instance);
    case 'stop':
      return stopInstance(instance);
    case 'force-reload':
      return forceReloadInstance(instance);
    case 'reload':
      return reloadInstance(instance);
  }
}

/** The `?` mark for a name with no configuration file; the namespace as the init script derives it. */
function notFound(spec: string, progress: Progress): void {
  const slash = spec.lastIndexOf('/');
  progress.notFound(slash < 0 ? DEFAULT_CONFNAMESPACE : spec.slice(0, slash), spec.slice(slash + 1));
}
