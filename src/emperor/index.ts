/**
 * The emperor (--emperor DIR|GLOB): watches vassal config files and runs one
 * nuwsgi master per file. Entry point called by the CLI.
 */
import type { Options } from '../config/options';
import { NuwsgiError } from '../util/errors';

/** Runs the emperor until it is told to stop; resolves with the exit code. */
export async function runEmperor(options: Options, cwd: string, log: (line: string) => void): Promise<number> {
  void options;
  void cwd;
  void log;
  throw new NuwsgiError('E_CONFIG', 'the emperor is not implemented yet');
}
