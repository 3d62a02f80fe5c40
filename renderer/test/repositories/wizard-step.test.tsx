// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SetupPage } from '../../src/features/setup/SetupPage.js';
import { usePushed } from '../../src/store.js';
import { connected, fakeMain, token } from './fake-main.js';

describe('setup wizard: the optional repository access step', () => {
  beforeEach(() => usePushed.setState({ connection: connected, install: null }));
  afterEach(() => {
    cleanup();
    window.location.hash = '';
  });

  it('embeds the add form and can be skipped', async () => {
    const main = fakeMain({
      listCredentials: { credentials: [] },
      addCredential: { ...token, host: 'github.com', username: null, lastCheck: null },
      getHost: null,
      listImages: { images: [] },
    });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <SetupPage step="repositories" />
      </QueryClientProvider>,
    );
    const step = screen.getByTestId('setup-step-repositories');
    expect(within(step).getByRole('heading', { level: 2 }).textContent).toBe('Repository access');
    expect(step.textContent).toMatch(/Optional.*You can skip this/);
    // Skippable: Next goes on without anything added.
    expect(screen.getByRole('button', { name: 'Next: Done' })).toBeTruthy();
    // Its link in the step list is not marked to do.
    expect(screen.getByRole('link', { current: 'step' }).textContent).toBe('5Repository access');

    const form = await within(step).findByTestId('token-form');
    fireEvent.change(within(form).getByLabelText('Git host'), { target: { value: 'github.com' } });
    fireEvent.change(within(form).getByLabelText('Token'), { target: { value: 'ghp_wizardtoken' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Add token' }));
    await waitFor(() => expect(main.of('addCredential')).toHaveLength(1));
    expect(await within(step).findByTestId('credentials')).toBeTruthy();
    expect(within(form).getByLabelText<HTMLInputElement>('Token').value).toBe('');
    // Removing is Settings' business; the wizard only shows what is there.
    expect(within(step).queryByRole('button', { name: /^Remove/ })).toBeNull();
  });
});
