// The API token (chorusd --api-token) is kept in localStorage and sent as a
// Bearer header, and as ?token= on the WebSocket URL.

const KEY = 'chorus.apiToken';

export function loadToken(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveToken(token: string): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the token lives for this page only */
  }
}

export function authHeaders(token: string): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The /ws URL for a page served from `loc`, with the token as a query parameter. */
export function wsUrl(loc: { protocol: string; host: string }, token: string): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${loc.host}/ws${q}`;
}
