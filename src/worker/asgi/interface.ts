import { NuwsgiError } from '../../util/errors';
import type { AppSpec, PythonBridge } from '../python/bridge';

export type AppInterface = 'wsgi' | 'asgi';

/**
 * How a loaded app is called: --interface/--asgi when given, else detected as
 * uvicorn's --interface auto does (python/_nuwsgi_asgi.py's is_asgi).
 */
export function appInterface(bridge: PythonBridge, app: AppSpec, id: number): AppInterface {
  const forced = app.interface ?? 'auto';
  if (forced !== 'auto') return forced;
  const answer = bridge.callAsgi('interface_of', String(id));
  if (answer !== 'asgi' && answer !== 'wsgi') throw new NuwsgiError('E_APP_LOAD', `app ${id}: cannot tell WSGI from ASGI (see the traceback above)`, 22);
  return answer;
}
