// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliStatus, InstallRun } from '#protocol';
import { CliSection } from '../../src/features/settings/CliSection.js';
import { usePushed } from '../../src/store.js';
import { connected, fakeMain } from '../repositories/fake-main.js';

const base: CliStatus = {
  command: null,
  target: null,
  installedPath: '/usr/lib/hearth/hearth',
  installed: true,
  linkPath: '/usr/local/bin/hearth',
  canLink: true,
  usage: 'hearth --help',
};

const linkRun = (state: InstallRun['state']): InstallRun => ({
  action: 'link-cli',
  kind: 'install',
  state,
  steps: [
    { id: 'authorize', title: 'Get administrator rights (your password)', state: 'changed' },
    {
      id: 'link',
      title: 'Link /usr/local/bin/hearth to the hearth command',
      state: state === 'running' ? 'running' : 'changed',
    },
  ],
  log: [],
  startedAt: 1,
  ...(state !== 'running' && { finishedAt: 2 }),
});

function renderCard(statuses: CliStatus[]) {
  let served = 0;
  const main = fakeMain({
    getCliStatus: () => statuses[Math.min(served++, statuses.length - 1)],
    runInstaller: () => linkRun('running'),
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <CliSection />
    </QueryClientProvider>,
  );
  return main;
}

describe('Settings → Command line', () => {
  beforeEach(() => usePushed.setState({ connection: connected, install: null }));
  afterEach(cleanup);

  it('says where hearth is when a terminal finds it, with the one-line usage, and offers nothing', async () => {
    renderCard([{ ...base, command: '/usr/bin/hearth', target: '/usr/lib/hearth/hearth', canLink: false }]);
    expect((await screen.findByTestId('cli-state')).textContent).toContain('Available');
    expect(screen.getByTestId('cli-command').textContent).toBe('/usr/bin/hearth → /usr/lib/hearth/hearth');
    expect(screen.getByTestId('cli-usage').textContent).toBe('hearth --help');
    expect(screen.queryByRole('button', { name: 'Install the hearth command' })).toBeNull();
  });

  it('names a hearth on PATH that is not Hearth’s', async () => {
    renderCard([{ ...base, command: '/home/u/bin/hearth', target: '/home/u/bin/hearth', canLink: false }]);
    expect((await screen.findByTestId('cli-state')).textContent).toContain('Another hearth');
    expect(screen.getByTestId('cli-command').textContent).toBe(
      '/home/u/bin/hearth (not Hearth’s: /usr/lib/hearth/hearth is)',
    );
  });

  it('offers the link to an AppImage user, runs link-cli through the installer, and shows the result', async () => {
    const main = renderCard([
      base,
      { ...base, command: '/usr/local/bin/hearth', target: base.installedPath, canLink: false },
    ]);
    expect((await screen.findByTestId('cli-state')).textContent).toContain('Not on PATH');
    fireEvent.click(screen.getByRole('button', { name: 'Install the hearth command' }));
    await waitFor(() => expect(main.of('runInstaller')).toEqual([{ action: 'link-cli' }]));
    await waitFor(() => expect(usePushed.getState().install?.action).toBe('link-cli'));
    expect(screen.getByRole('button', { name: 'Working…' })).toHaveProperty('disabled', true);
    expect(screen.getByTestId('install').textContent).toContain('Installing the hearth command');
    // The installer's `install` event: the run finished; the card asks main again.
    act(() => usePushed.setState({ install: linkRun('succeeded') }));
    await waitFor(() => expect(screen.getByTestId('cli-state').textContent).toContain('Available'));
    expect(main.of('getCliStatus')).toHaveLength(2);
    expect(screen.queryByRole('button', { name: 'Install the hearth command' })).toBeNull();
  });

  it('without the offer (a package, or the link path taken), tells how to run or link it', async () => {
    renderCard([{ ...base, canLink: false }]);
    expect((await screen.findByTestId('cli-manual')).textContent).toBe(
      'Run it as /usr/lib/hearth/hearth, or link it onto your PATH: sudo ln -s /usr/lib/hearth/hearth /usr/local/bin/hearth',
    );
  });

  it('before the helper is installed, says the helper brings it', async () => {
    renderCard([{ ...base, installed: false, canLink: false }]);
    expect((await screen.findByTestId('cli-state')).textContent).toContain('Not installed');
    expect(screen.getByTestId('cli-installed').textContent).toMatch(/installing the helper installs the command/);
    expect(screen.queryByRole('button')).toBeNull();
  });
});
