import { useCallback, useEffect, useState } from 'react';

export interface HashRoute {
  tab: string;
  params: URLSearchParams;
}

export function parseHash(hash: string): HashRoute {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  return { tab: (q < 0 ? h : h.slice(0, q)) || '', params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

/** The tab named in the URL hash (#ring, #timeline?synthetic=10000, ...). */
export function useHashRoute(): [HashRoute, (tab: string) => void] {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = useCallback((tab: string) => {
    if (parseHash(window.location.hash).tab !== tab) window.location.hash = tab;
  }, []);
  return [route, go];
}
