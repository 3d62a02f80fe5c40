// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HearthApi, HearthEvent, IpcEvent, IpcEventName } from '#protocol';
import { useMainSync } from '../../src/app/useMainSync.js';
import { environmentKeys } from '../../src/features/environment/queries.js';
import { envKeys } from '../../src/features/environments/queries.js';
import { useStats } from '../../src/features/environments/stats.js';
import { environmentOf, statsOf } from './fixtures.js';

const A = 'env-00000000000a';
const B = 'env-00000000000b';

/**
 * window.hearth is the preload's API (main's side of the IPC boundary); here a stand-in that lets
 * the test push the events main would forward, so the real useMainSync and a real QueryClient run.
 */
function fakePreload() {
  const listeners = new Map<string, Set<(event: unknown) => void>>();
  const api: HearthApi = {
    invoke: (name: string) => {
      if (name === 'getConnection')
        return Promise.resolve({
          ok: true,
          value: {
            state: 'connected',
            message: '',
            socket: '/x',
            bundledVersion: '0',
            upgradeAvailable: false,
            since: 0,
          },
        });
      return Promise.resolve({ ok: true, value: null });
    },
    on: <N extends IpcEventName>(name: N, listener: (event: IpcEvent<N>) => void) => {
      const set = listeners.get(name) ?? new Set();
      set.add(listener as (event: unknown) => void);
      listeners.set(name, set);
      return () => set.delete(listener as (event: unknown) => void);
    },
  };
  const emit = (event: HearthEvent) => {
    act(() => listeners.get('hearthd')?.forEach((l) => l(event)));
  };
  return { api, emit };
}

function Sync() {
  useMainSync();
  return null;
}

describe('hearthd events → queries and the stats store', () => {
  let client: QueryClient;
  let preload: ReturnType<typeof fakePreload>;

  beforeEach(() => {
    preload = fakePreload();
    Object.defineProperty(window, 'hearth', { value: preload.api, configurable: true });
    client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
    // Cached, fresh data as the pages leave it; no observers, so invalidation only marks it.
    client.setQueryData(envKeys.list, [environmentOf(A, 'running')]);
    client.setQueryData(environmentKeys.events(A), { entries: [], skipped: 0 });
    client.setQueryData(environmentKeys.events(B), { entries: [], skipped: 0 });
    client.setQueryData(envKeys.classes, []);
    render(
      <QueryClientProvider client={client}>
        <Sync />
      </QueryClientProvider>,
    );
  });
  afterEach(() => {
    useStats.getState().reset();
    client.clear();
  });

  const invalidated = (key: readonly unknown[]) => client.getQueryState(key)?.isInvalidated;
  const envelope = { seq: 1, time: new Date().toISOString() };

  it('an environment event invalidates the list and that environment’s timeline, not another’s', () => {
    expect(invalidated(envKeys.list)).toBe(false);
    preload.emit({
      ...envelope,
      type: 'environment',
      change: 'updated',
      environment: environmentOf(A, 'stopping'),
    });
    expect(invalidated(envKeys.list)).toBe(true);
    expect(invalidated(environmentKeys.events(A))).toBe(true);
    expect(invalidated(environmentKeys.events(B))).toBe(false);
    expect(invalidated(envKeys.classes)).toBe(false);
  });

  it('a stats event fills the store; deleting the environment empties its part', () => {
    preload.emit({ ...envelope, type: 'stats', environments: [statsOf(A, 1000, 12), statsOf(B, 1000, 3)] });
    expect(useStats.getState().latest[A]?.vmm?.cpuPercent).toBe(12);
    preload.emit({
      ...envelope,
      type: 'environment',
      change: 'deleted',
      environment: environmentOf(A, 'deleting'),
    });
    expect(useStats.getState().latest[A]).toBeUndefined();
    expect(useStats.getState().latest[B]?.vmm?.cpuPercent).toBe(3);
  });

  it('hello (a reconnect) invalidates everything and forgets the figures', () => {
    preload.emit({ ...envelope, type: 'stats', environments: [statsOf(A, 1000)] });
    preload.emit({ ...envelope, type: 'hello', hearthd: '0.1.0', api: 'v1' });
    expect(invalidated(envKeys.classes)).toBe(true);
    expect(useStats.getState().latest).toEqual({});
  });
});
