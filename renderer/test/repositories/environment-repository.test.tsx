// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Environment, EnvironmentRepository } from '#protocol';
import { EnvironmentPage } from '../../src/features/environment/EnvironmentPage.js';
import { EnvironmentRow } from '../../src/features/environments/EnvironmentRow.js';
import { envKeys } from '../../src/features/environments/queries.js';
import { useStats } from '../../src/features/environments/stats.js';
import { usePushed } from '../../src/store.js';
import { environmentOf } from '../environment/fixtures.js';
import { COMMIT, connected, fakeMain } from './fake-main.js';

const ID = 'env-00000000000a';

function withRepository(
  state: Environment['state'],
  clone: Partial<EnvironmentRepository['clone']>,
  commit: string | null,
) {
  return {
    ...environmentOf(ID, state),
    repository: {
      url: 'git@github.com:ada/site.git',
      host: 'github.com',
      directory: '/workspace/site',
      ref: 'feature',
      grantHosts: [],
      commit,
      clone: { status: 'done', phase: null, percent: null, error: null, ...clone },
    },
  } satisfies Environment;
}

const client = () => new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });

function renderRow(env: Environment) {
  render(
    <QueryClientProvider client={client()}>
      <ul>
        <EnvironmentRow env={env} busy={false} onAction={() => undefined} />
      </ul>
    </QueryClientProvider>,
  );
  return screen.getByTestId('env-repository');
}

function renderDetails(env: Environment) {
  const c = client();
  c.setQueryData(envKeys.list, [env]);
  render(
    <QueryClientProvider client={c}>
      <EnvironmentPage id={ID} />
    </QueryClientProvider>,
  );
  return screen.getByTestId('repository');
}

describe("an environment's repository", () => {
  beforeEach(() => {
    usePushed.setState({ connection: connected, install: null });
    fakeMain({ getEnvironmentLogs: { source: 'events', lines: [] }, subscribe: { id: 'sub-1' } });
  });
  afterEach(() => {
    cleanup();
    useStats.getState().reset();
  });

  it('a dashboard row shows host/path, ref and the short commit (the full SHA in its title)', () => {
    const line = renderRow(withRepository('running', {}, COMMIT));
    expect(line.textContent).toBe(`repo github.com/ada/site at feature${COMMIT.slice(0, 12)}`);
    const commit = within(line).getByTestId('env-commit');
    expect(commit.textContent).toBe(COMMIT.slice(0, 12));
    expect(commit.getAttribute('title')).toBe(COMMIT);
    expect(within(line).getByText('github.com/ada/site').getAttribute('title')).toBe('git@github.com:ada/site.git');
  });

  it('while it clones, the row says "cloning 45%" and the details the phase with a meter', () => {
    const env = withRepository('starting', { status: 'cloning', phase: 'Receiving objects', percent: 45 }, null);
    expect(within(renderRow(env)).getByTestId('env-clone').textContent).toBe('cloning 45%');
    cleanup();
    const card = renderDetails(env);
    const progress = within(card).getByTestId('repository-clone');
    expect(progress.textContent).toBe('Cloning: Receiving objects 45%');
    expect(within(progress).getByRole('meter').getAttribute('aria-valuenow')).toBe('45');
    expect(card.textContent).toContain('not cloned yet');
  });

  it('the details show the full commit with a copy button, and where it is cloned', () => {
    const card = renderDetails(withRepository('running', {}, COMMIT));
    expect(within(card).getByTestId('repository-commit').textContent).toBe(COMMIT);
    expect(within(card).getByRole('button', { name: 'Copy the commit SHA' })).toBeTruthy();
    expect(within(card).getByTestId('repository-ref').textContent).toBe('feature');
    expect(card.textContent).toContain('/workspace/site');
    expect(within(card).queryByTestId('repository-clone')).toBeNull();
  });

  it("a failed clone shows git's own error on the details, and 'clone failed' on the row", () => {
    const error = 'fatal: Remote branch feature not found in upstream origin';
    const env = { ...withRepository('failed', { status: 'error', error }, null), reason: 'The clone failed' };
    expect(renderRow(env).textContent).toContain('clone failed');
    cleanup();
    const card = renderDetails(env);
    expect(within(card).getByTestId('repository-clone-error').textContent).toBe(`The clone failed. git said:${error}`);
  });

  it('an environment without a repository shows none', () => {
    render(
      <QueryClientProvider client={client()}>
        <ul>
          <EnvironmentRow env={environmentOf(ID, 'running')} busy={false} onAction={() => undefined} />
        </ul>
      </QueryClientProvider>,
    );
    expect(screen.queryByTestId('env-repository')).toBeNull();
  });
});
