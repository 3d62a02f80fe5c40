// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionStatus, HostReport } from '#protocol';
import { SetupPage } from '../../src/features/setup/SetupPage.js';
import {
  contextSettled,
  setupComplete,
  stepIndex,
  type SetupContext,
  type SetupStep,
} from '../../src/features/setup/setupSteps.js';
import { SETUP_STEPS } from '../../src/features/setup/steps.js';
import { usePushed } from '../../src/store.js';

const status = (state: ConnectionStatus['state']): ConnectionStatus => ({
  state,
  message: `state ${state}`,
  socket: '/run/hearth/hearthd.sock',
  bundledVersion: '0.1.0',
  upgradeAvailable: false,
  since: 0,
});
const host = (verdict: HostReport['verdict']) => ({ verdict }) as HostReport;
const ctx = (connection: ConnectionStatus | null, report: HostReport | null = null): SetupContext => ({
  connection,
  host: report,
  install: null,
  images: null,
});

describe('setup step registry', () => {
  it('is complete only when the helper is connected and the machine is not "not ready"', () => {
    expect(setupComplete(SETUP_STEPS, ctx(status('connected'), host('ready')))).toBe(true);
    expect(setupComplete(SETUP_STEPS, ctx(status('connected'), host('degraded')))).toBe(true);
    expect(setupComplete(SETUP_STEPS, ctx(status('connected'), host('not-ready')))).toBe(false);
    expect(setupComplete(SETUP_STEPS, ctx(status('not-installed')))).toBe(false);
    expect(setupComplete(SETUP_STEPS, ctx(status('stopped'), host('ready')))).toBe(false);
  });

  it('a step added to the list counts towards completion, informational steps do not', () => {
    const image: SetupStep = {
      id: 'image',
      title: 'Image',
      component: () => null,
      isComplete: () => false,
    };
    const done = ctx(status('connected'), host('ready'));
    expect(setupComplete([...SETUP_STEPS, image], done)).toBe(false);
    expect(setupComplete([...SETUP_STEPS, { ...image, informational: true }], done)).toBe(true);
  });

  it('finds the step an address names, else the first', () => {
    expect(SETUP_STEPS.map((s) => s.id)).toEqual(['welcome', 'machine', 'helper', 'images', 'repositories', 'done']);
    expect(stepIndex(SETUP_STEPS, 'helper')).toBe(2);
    expect(stepIndex(SETUP_STEPS, 'nope')).toBe(0);
    expect(stepIndex(SETUP_STEPS, undefined)).toBe(0);
  });

  it('does not judge before the state is known', () => {
    expect(contextSettled(ctx(null))).toBe(false);
    expect(contextSettled(ctx(status('connecting')))).toBe(false);
    expect(contextSettled(ctx(status('connected')))).toBe(false);
    expect(contextSettled(ctx(status('connected'), host('ready')))).toBe(true);
    expect(contextSettled(ctx(status('stopped')))).toBe(true);
  });
});

describe('setup wizard', () => {
  beforeEach(() => {
    Object.defineProperty(window, 'hearth', { value: undefined, configurable: true });
    usePushed.setState({ connection: status('not-installed'), install: null });
  });
  afterEach(() => {
    cleanup();
    window.location.hash = '';
  });

  const renderAt = (step?: string) => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const view = (s?: string) => (
      <QueryClientProvider client={client}>
        <SetupPage step={s} />
      </QueryClientProvider>
    );
    const utils = render(view(step));
    return { ...utils, goTo: (s: string) => utils.rerender(view(s)) };
  };

  it('moves with Next and Back, and focus goes to the new step heading', async () => {
    const { goTo } = renderAt('welcome');
    expect(screen.getByRole('heading', { level: 2, name: 'Welcome to Hearth' })).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Back' }).disabled).toBe(true);
    await act(async () => {
      screen.getByRole('button', { name: 'Next: Machine check' }).click();
      await new Promise((resolve) => window.addEventListener('hashchange', resolve, { once: true }));
    });
    expect(window.location.hash).toBe('#/setup/machine');
    goTo('machine');
    const heading = screen.getByRole('heading', { level: 2, name: 'Machine check' });
    expect(document.activeElement).toBe(heading);
    expect(screen.getByText(/Works with limitations \(degraded\)/)).toBeTruthy();
    expect(screen.getByText(/Install it in the next step/)).toBeTruthy();
    expect(screen.getByRole('link', { name: /Install the helper/ }).getAttribute('href')).toBe('#/setup/helper');
    expect(screen.getByRole('link', { current: 'step' }).textContent).toContain('Machine check');
  });

  it('the done step says what is left', () => {
    renderAt('done');
    expect(screen.getByRole('heading', { level: 2, name: 'Almost there' })).toBeTruthy();
    expect(screen.getByTestId('setup-summary').textContent).toContain('Install the helper: not yet');
    expect(screen.queryByRole('button', { name: /^Next/ })).toBeNull();
  });
});
