import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { HearthApi, IpcResult } from '#protocol';

/**
 * `window.hearth` in browser mode: the same API the Electron preload exposes, carried over the
 * loopback bridge. Loaded by the bridge server only; the packaged app never contains it.
 */
const TOKEN_KEY = 'hearth-bridge-token';
const fromHash = /(?:^#|&)hearth-token=([A-Za-z0-9_-]+)/.exec(location.hash)?.[1];
if (fromHash !== undefined) {
  sessionStorage.setItem(TOKEN_KEY, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
const headers = { authorization: `Bearer ${token}` };

const listeners = new Map<string, Set<(payload: unknown) => void>>();

async function follow(): Promise<void> {
  for (;;) {
    try {
      const response = await fetch('/bridge/events', { headers, cache: 'no-store' });
      if (!response.ok || !response.body) throw new Error(`bridge events: HTTP ${response.status}`);
      // eventsource-parser, not a split on blank lines: it joins a frame's network chunks once,
      // where re-scanning a growing string for every 64 KB chunk made a 1 MB frame (a burst of
      // log lines) cost its length squared in copies and garbage.
      const reader = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream())
        .getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.event === undefined) continue;
        const payload: unknown = JSON.parse(value.data);
        for (const listener of listeners.get(value.event) ?? []) listener(payload);
      }
    } catch {
      // The dev server restarted or the network hiccuped: try again shortly.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
void follow();

const api: HearthApi = {
  async invoke(name, request) {
    if (name === 'copyText') {
      try {
        await navigator.clipboard.writeText((request as { text: string }).text);
        return { ok: true, value: {} } as never;
      } catch {
        // Fall through to the bridge, which explains that it cannot copy.
      }
    }
    try {
      const response = await fetch(`/bridge/invoke/${name}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      if (response.status === 401) {
        return fail('forbidden', 'The browser bridge refused this page: open the URL dev:web wrote, with its token.');
      }
      return (await response.json()) as never;
    } catch (error) {
      return fail('unavailable', `The dev:web bridge is not answering: ${String(error)}`);
    }
  },
  on(name, listener) {
    const set = listeners.get(name) ?? new Set();
    listeners.set(name, set);
    const wrapped = listener as (payload: unknown) => void;
    set.add(wrapped);
    return () => set.delete(wrapped);
  },
};

function fail(code: 'forbidden' | 'unavailable', message: string): IpcResult<never> {
  return { ok: false, error: { source: 'ipc', code, message } };
}

Object.defineProperty(window, 'hearth', { value: Object.freeze(api), writable: false, configurable: false });
