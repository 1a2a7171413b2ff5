import { describe, expect, it } from 'vitest';
import { Api, ApiError, errorText, keyPath } from './client';
import { wsUrl } from './token';

function fakeFetch(status: number, body: string, seen: { url?: string; init?: RequestInit } = {}): typeof fetch {
  return (async (url: string, init?: RequestInit) => {
    seen.url = url;
    seen.init = init;
    return new Response(body, { status });
  }) as unknown as typeof fetch;
}

describe('Api', () => {
  it('sends the token as Bearer and the body as JSON', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const api = new Api({ base: 'http://n2', token: () => 'secret', fetchImpl: fakeFetch(200, '{"key":"a/b"}', seen) });
    await api.put('a/b', 'v', 'CTX');
    expect(seen.url).toBe('http://n2/api/v1/data/a%2Fb');
    expect(seen.init?.method).toBe('PUT');
    expect((seen.init?.headers as Record<string, string>).Authorization).toBe('Bearer secret');
    expect(JSON.parse(seen.init?.body as string)).toEqual({ value: 'v', context: 'CTX' });
  });

  it('sends a delete context in X-Chorus-Context', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    await new Api({ base: '', token: () => '', fetchImpl: fakeFetch(200, '{}', seen) }).del('k', 'C');
    expect((seen.init?.headers as Record<string, string>)['X-Chorus-Context']).toBe('C');
    expect((seen.init?.headers as Record<string, string>).Authorization).toBeUndefined();
  });

  it("turns the API's error into an ApiError with code, message and body", async () => {
    const api = new Api({ base: '', token: () => '', fetchImpl: fakeFetch(404, '{"error":{"code":"not_found","message":"the key has no value"},"key":"x","context":"C"}') });
    const e = await api.get('x').catch((err) => err);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(404);
    expect(e.code).toBe('not_found');
    expect(e.body.context).toBe('C');
    expect(errorText(e)).toBe('404 not_found: the key has no value');
  });

  it('reports a network failure', async () => {
    const api = new Api({ base: 'http://x', token: () => '', fetchImpl: (async () => { throw new TypeError('Failed to fetch'); }) as unknown as typeof fetch });
    const e = await api.status().catch((err) => err);
    expect(e.code).toBe('network');
    expect(e.message).toContain('http://x');
  });

  it('asks for a tree node, a compare with a peer and a repair on the routes of anti-entropy', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const api = new Api({ base: '', token: () => '', fetchImpl: fakeFetch(200, '{}', seen) });
    await api.merkleTree('a3');
    expect(seen.url).toBe('/api/v1/merkle-tree?prefix=a3');
    await api.merkleTree();
    expect(seen.url).toBe('/api/v1/merkle-tree');
    await api.compare('node 3');
    expect(seen.url).toBe('/api/v1/merkle-tree/compare?node=node%203');
    await api.repairNow();
    expect([seen.init?.method, seen.url]).toEqual(['POST', '/api/v1/repair']);
    await api.repairStatus();
    expect([seen.init?.method, seen.url]).toEqual(['GET', '/api/v1/repair']);
  });

  it('reads the transfers of a node with its token, and reports an older node without the route', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const body = '{"node_id":"n4","phase":"joining","refusing_writes":false,"streams_running":1,"streams":[{"id":1,"kind":"join","state":"running","peer":"n1","ranges":39,"progress":0.42,"keys":37,"bytes":1276,"rate_bytes_per_s":1048576.0,"eta_s":3.2,"started_at_ms":1796498254806,"finished_at_ms":0,"failures":0}],"handoff":{"running":false,"passes":2,"keys_sent":213,"bytes_sent":7314,"keys_dropped":71},"totals":{"keys_received":216,"bytes_received":7428,"keys_sent":0,"failures":0}}';
    const t = await new Api({ base: 'http://127.0.0.1:9204', token: () => 'tk', fetchImpl: fakeFetch(200, body, seen) }).transfers();
    expect(seen.url).toBe('http://127.0.0.1:9204/api/v1/transfers');
    expect(seen.init?.method).toBe('GET');
    expect((seen.init?.headers as Record<string, string>).Authorization).toBe('Bearer tk');
    expect(t.phase).toBe('joining');
    expect(t.streams[0].progress).toBe(0.42);
    expect(t.handoff.keys_dropped).toBe(71);
    const e = await new Api({ base: '', token: () => '', fetchImpl: fakeFetch(404, '{"error":{"code":"not_found","message":"no such route"}}') }).transfers().catch((err) => err);
    expect([e.status, e.code]).toEqual([404, 'not_found']);
  });

  it('lets one request wait longer than the default timeout', async () => {
    let aborted = false;
    const slow = ((_: string, init?: RequestInit) =>
      new Promise<Response>((resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          aborted = true;
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
        setTimeout(() => resolve(new Response('{}', { status: 200 })), 30);
      })) as unknown as typeof fetch;
    const api = new Api({ base: '', token: () => '', fetchImpl: slow, timeoutMs: 10 });
    expect((await api.status().catch((e) => e)).code).toBe('timeout');
    aborted = false;
    await expect(api.request('GET', '/x', undefined, {}, 1000)).resolves.toEqual({});
    expect(aborted).toBe(false);
  });

  it('encodes keys as one path segment', () => {
    expect(keyPath('café/menu of the day?')).toBe('caf%C3%A9%2Fmenu%20of%20the%20day%3F');
  });
});

describe('wsUrl', () => {
  it('follows the page scheme and carries the token', () => {
    expect(wsUrl({ protocol: 'http:', host: 'h:1' }, '')).toBe('ws://h:1/ws');
    expect(wsUrl({ protocol: 'https:', host: 'h' }, 'a b')).toBe('wss://h/ws?token=a%20b');
  });
});
