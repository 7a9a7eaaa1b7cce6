/**
 * Node and V8 flags for the processes nuwsgi starts itself: sized for
 * processes that hold no request data in JS for long (docs/architecture.md,
 * "Memory", has the measurements). Flags given to the parent's node come
 * after these in the child's command line, so a user's own win.
 */

/**
 * Shared by workers and by the vassal masters an emperor starts.
 * --max-semi-space-size=1: a 1 MB young generation (V8 grows it up to 16 MB
 * under allocation): a request's objects die young, scavenges stay as cheap,
 * and each process keeps 3-6 MB less.
 * --v8-pool-size=1: one V8 helper thread instead of four (concurrent marking
 * stays): three fewer thread stacks and malloc arenas, ~1 MB a process, with
 * no CPU cost per request measured.
 */
const SMALL_PROCESS_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/**
 * A worker also gets --expose-gc: it runs one full GC once its app is loaded,
 * and after bursts of big bodies (src/worker/memory-trim.ts); the global gc()
 * spares it a second V8 context made only to reach gc().
 */
export const WORKER_NODE_FLAGS: readonly string[] = [...SMALL_PROCESS_FLAGS, '--expose-gc'];

/** A vassal's master: supervision only (the master's own node, started by a user, takes what they give it). */
export const VASSAL_NODE_FLAGS: readonly string[] = SMALL_PROCESS_FLAGS;
