import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NuwsgiError } from '../util/errors';

/** Written atomically (write then rename), so a reader never sees half a pid. */
export function writePidfile(file: string, pid: number): void {
  const tmp = `${file}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`);
  renameSync(tmp, file);
}

/** --reload PIDFILE, --stop PIDFILE: signal the instance named in a pidfile, as uWSGI's do. */
export function signalPidfile(file: string, signal: NodeJS.Signals): void {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `cannot read pidfile ${file}: ${(err as Error).message}`);
  }
  if (!Number.isInteger(pid) || pid <= 0) throw new NuwsgiError('E_CONFIG', `pidfile ${file} holds no pid`);
  try {
    process.kill(pid, signal);
  } catch (err) {
    throw new NuwsgiError('E_CONFIG', `cannot signal ${pid} from ${file}: ${(err as Error).message}`);
  }
}
