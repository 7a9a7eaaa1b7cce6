import type { InterpreterInfo } from '../worker/python/locate';
import type { WorkerTemplate } from '../contracts/worker-config';
import type { ServerPlan } from './plan';

/** What every worker is started with: the plan, minus what the master decides per worker. */
export function workerTemplate(plan: ServerPlan, interpreter: InterpreterInfo): WorkerTemplate {
  return {
    interpreter,
    apps: plan.apps,
    pythonpath: plan.pythonpath,
    chdir: plan.chdir,
    env: plan.env,
    multiprocess: plan.processes > 1,
    bufferSize: plan.bufferSize,
    maxVars: plan.maxVars,
    listen: plan.listen,
    limitPost: plan.limitPost,
    httpTimeoutMs: plan.httpTimeoutMs,
    socketTimeoutMs: plan.socketTimeoutMs,
    logging: plan.logging.worker,
    manageScriptName: plan.manageScriptName,
    forwardedAllowIps: plan.forwardedAllowIps,
    recycle: plan.recycle,
    stats: plan.statsAddress !== undefined || plan.metricsAddress !== undefined || plan.dashboard.address !== undefined,
    pyAutoreload: plan.pyAutoreload,
    exchange: plan.exchange,
    ...(plan.ksm > 0 ? { ksm: plan.ksm } : {}),
    ...(plan.cpuAffinity > 0 ? { cpuAffinity: plan.cpuAffinity } : {}),
    hooks: { postFork: plan.hooks.postFork, preApp: plan.hooks.preApp, postApp: plan.hooks.postApp, accepting: plan.hooks.accepting },
    static: plan.static,
    threads: plan.threads,
    thunderLock: plan.thunderLock,
    threadStackKiB: plan.threadStackKiB,
    ...(plan.threads > 1 && plan.threadsFollowLoop ? { threadsFollowLoop: true } : {}),
    asgi: plan.asgi,
  };
}
