import { createContext, useContext } from 'react';
import { Api } from './api/client';
import { loadToken, saveToken, wsUrl } from './api/token';
import { LiveController } from './live/controller';
import { DashStore } from './live/store';

/** Everything the views share: the live store, the API of the serving node, the token. */
export interface Dashboard {
  store: DashStore;
  api: Api;
  controller: LiveController;
  token: () => string;
  setToken: (t: string) => void;
  /** An Api for another node's HTTP address ('' = the serving node). */
  apiFor: (base: string) => Api;
}

export function createDashboard(): Dashboard {
  let token = loadToken();
  const getToken = () => token;
  const store = new DashStore();
  const api = new Api({ base: '', token: getToken });
  const controller = new LiveController({ api, store, wsUrl: () => wsUrl(window.location, token) });
  const apis = new Map<string, Api>([['', api]]);
  return {
    store,
    api,
    controller,
    token: getToken,
    setToken: (t) => {
      token = t.trim();
      saveToken(token);
      controller.refreshNow();
    },
    apiFor: (base) => {
      let a = apis.get(base);
      if (!a) apis.set(base, (a = new Api({ base, token: getToken })));
      return a;
    },
  };
}

export const DashContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const d = useContext(DashContext);
  if (!d) throw new Error('useDashboard outside DashContext');
  return d;
}
