// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HearthApi } from '#protocol';
import { EnvironmentPage } from '../../src/features/environment/EnvironmentPage.js';
import { envKeys } from '../../src/features/environments/queries.js';
import { useStats } from '../../src/features/environments/stats.js';
import { usePushed } from '../../src/store.js';
import { environmentOf, statsOf } from './fixtures.js';

const A = 'env-00000000000a';
const line = (event: string, message: string) => JSON.stringify({ time: '2025-05-01T10:00:00.000Z', event, message });

/** The preload's API as main would answer these calls; everything else is the real page. */
const preload: HearthApi = {
  invoke: (name: string) => {
    if (name === 'getEnvironmentLogs')
      return Promise.resolve({
        ok: true,
        value: { source: 'events', lines: [line('created', 'made'), '{broken', line('launch-failed', 'no kvm')] },
      });
    if (name === 'getEnvironmentStats') return Promise.resolve({ ok: true, value: statsOf(A, 1000, 12.5) });
    // The console viewer follows over a subscription; no items come in this test.
    if (name === 'subscribe') return Promise.resolve({ ok: true, value: { id: 'sub-1' } });
    return Promise.resolve({ ok: true, value: null });
  },
  on: () => () => undefined,
};

function renderPage(id: string) {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  const failed = { ...environmentOf(A, 'failed'), reason: 'VMM exited with code 1', vmm: null };
  client.setQueryData(envKeys.list, [failed]);
  render(
    <QueryClientProvider client={client}>
      <EnvironmentPage id={id} />
    </QueryClientProvider>,
  );
}

describe('environment details page', () => {
  beforeEach(() => {
    Object.defineProperty(window, 'hearth', { value: preload, configurable: true });
    usePushed.setState({
      connection: {
        state: 'connected',
        message: '',
        socket: '/x',
        bundledVersion: '0',
        upgradeAvailable: false,
        since: 0,
      },
    });
  });
  afterEach(() => {
    cleanup();
    useStats.getState().reset();
  });

  it('finds it by name too, shows why it failed, its timeline without the broken line, and its disk', async () => {
    renderPage('web');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('web');
    expect(screen.getByTestId('env-reason').textContent).toContain('VMM exited with code 1');
    expect(screen.getByRole('button', { name: 'Start' })).toBeTruthy();
    const timeline = await screen.findByTestId('timeline');
    expect([...timeline.querySelectorAll('li')].map((li) => li.getAttribute('data-event'))).toEqual([
      'created',
      'launch-failed',
    ]);
    expect(screen.getByTestId('timeline-skipped').textContent).toMatch(/^1 line/);
    // Failed: no VMM, so no live CPU, but the disk sample from the endpoint shows.
    expect((await screen.findByText('3 MiB / 1 GiB')).getAttribute('data-testid')).toBe('disk-value');
    expect(screen.getByTestId('cpu-value').textContent).toBe('—');
    expect(screen.getByRole('tab', { name: 'Console' }).getAttribute('aria-selected')).toBe('true');
  });

  it('says plainly when there is no such environment, with the way back', () => {
    renderPage('nope');
    expect(screen.getByTestId('env-not-found').textContent).toContain('No environment “nope”');
    expect(screen.getByRole('link', { name: 'Back to environments' }).getAttribute('href')).toBe('#/');
  });
});
