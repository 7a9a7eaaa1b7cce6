import type { AppSpec } from './python/bridge';

/**
 * Which loaded app serves a request, as uWSGI decides it:
 * - with --manage-script-name, the longest mountpoint that prefixes PATH_INFO
 *   (at a "/" boundary) wins, and moves from PATH_INFO into SCRIPT_NAME;
 * - otherwise a SCRIPT_NAME sent by the front end (nginx's
 *   `uwsgi_param SCRIPT_NAME /app`) names the mountpoint;
 * - otherwise app 0, the default app.
 * Returns the app index; may rewrite SCRIPT_NAME/PATH_INFO in place.
 */
export type AppRouter = (vars: Array<[string, string]>) => number;

/**
 * The router without mountpoints: every request is app 0. Runners compare
 * against it and then skip the variables altogether (an HTTP request's are
 * built on first use, and an ASGI app never needs them).
 */
export const routeToDefaultApp: AppRouter = () => 0;

export function makeAppRouter(apps: readonly AppSpec[], manageScriptName: boolean): AppRouter {
  const mounts = apps
    .map((app, index) => ({ mountpoint: trimSlash(app.mountpoint), index }))
    .filter((m) => m.mountpoint !== '')
    .sort((a, b) => b.mountpoint.length - a.mountpoint.length);
  if (mounts.length === 0) return routeToDefaultApp;
  return (vars) => {
    const pathIndex = indexOfVar(vars, 'PATH_INFO');
    const scriptIndex = indexOfVar(vars, 'SCRIPT_NAME');
    if (manageScriptName && pathIndex >= 0) {
      const pathInfo = (vars[pathIndex] as [string, string])[1];
      for (const m of mounts) {
        if (pathInfo === m.mountpoint || pathInfo.startsWith(m.mountpoint + '/')) {
          vars[pathIndex] = ['PATH_INFO', pathInfo.slice(m.mountpoint.length)];
          setVar(vars, scriptIndex, 'SCRIPT_NAME', m.mountpoint);
          return m.index;
        }
      }
    }
    if (scriptIndex >= 0) {
      const scriptName = trimSlash((vars[scriptIndex] as [string, string])[1]);
      for (const m of mounts) if (m.mountpoint === scriptName) return m.index;
    }
    return 0;
  };
}

function trimSlash(s: string): string {
  return s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s === '/' ? '' : s;
}

function indexOfVar(vars: Array<[string, string]>, key: string): number {
  for (let i = 0; i < vars.length; i++) if ((vars[i] as [string, string])[0] === key) return i;
  return -1;
}

function setVar(vars: Array<[string, string]>, index: number, key: string, value: string): void {
  if (index >= 0) vars[index] = [key, value];
  else vars.push([key, value]);
}
