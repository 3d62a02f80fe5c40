// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateEnvironmentForm } from '../../src/features/environments/CreateEnvironmentForm.js';
import { SUGGEST_DELAY_MS } from '../../src/features/repositories/RepositoryFields.js';
import { usePushed } from '../../src/store.js';
import { environmentOf } from '../environment/fixtures.js';
import { connected, failedCheck, fakeMain, okCheck, Refusal, type Answer } from './fake-main.js';

const tiny = { name: 'tiny', description: '', cpus: 1, memoryMiB: 2048, diskGiB: 10 };

function renderForm(answers: Record<string, Answer>) {
  const main = fakeMain({
    listClasses: { classes: [tiny] },
    listImages: { images: [] },
    listEnvironments: { environments: [] },
    // Unknown capacity: the form then judges no class by it (not what these tests are about).
    getConfig: null,
    getHost: null,
    getSshSetup: null,
    createEnvironment: environmentOf('env-00000000000a', 'creating'),
    ...answers,
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <CreateEnvironmentForm onDone={() => undefined} onCancel={() => undefined} />
    </QueryClientProvider>,
  );
  return main;
}

const url = () => screen.getByLabelText<HTMLInputElement>('Repository URL (optional)');
const ref = () => screen.getByLabelText<HTMLInputElement>('Ref (optional)');
const settle = () => new Promise((resolve) => setTimeout(resolve, SUGGEST_DELAY_MS + 100));

describe('create form: a repository to clone', () => {
  beforeEach(() => usePushed.setState({ connection: connected, install: null }));
  afterEach(cleanup);

  it('judges the URL in place: the reason under it, aria-invalid, and nothing sent', async () => {
    const main = renderForm({ checkAccess: okCheck() });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByRole('option', { name: /^tiny/ });
    fireEvent.change(url(), { target: { value: 'file:///etc/passwd' } });
    expect(url().getAttribute('aria-invalid')).toBe('true');
    const reason = screen.getByTestId('error-repository');
    expect(reason.textContent).toBe('Only https:// and SSH repository URLs are accepted');
    expect(url().getAttribute('aria-describedby')).toContain(reason.id);
    expect(ref().disabled).toBe(true);
    fireEvent.submit(screen.getByTestId('create-form'));
    await settle();
    expect(main.of('createEnvironment')).toEqual([]);
    expect(main.of('checkAccess')).toEqual([]);
    expect(document.activeElement).toBe(url());
    // Fixed: the reason goes, and the directory it is cloned into is said instead.
    fireEvent.change(url(), { target: { value: 'git@github.com:ada/site.git' } });
    expect(url().getAttribute('aria-invalid')).toBe('false');
    expect(screen.queryByTestId('error-repository')).toBeNull();
    expect(screen.getByTestId('repo-fields').textContent).toContain('/workspace/site');
  });

  it('suggests branches from one check once typing pauses, the default as placeholder; sends URL and ref', async () => {
    const main = renderForm({ checkAccess: okCheck() });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByRole('option', { name: /^tiny/ });
    // Typed quickly: each prefix that parses is not checked on its own.
    for (const typed of ['https://github.com/a', 'https://github.com/ada/s', 'https://github.com/ada/site.git'])
      fireEvent.change(url(), { target: { value: typed } });
    expect(screen.getByTestId('repo-check').getAttribute('data-state')).toBe('checking');
    await waitFor(() => expect(screen.getByTestId('repo-check').getAttribute('data-state')).toBe('ok'), {
      timeout: 3000,
    });
    expect(main.of('checkAccess')).toEqual([{ body: { repository: 'https://github.com/ada/site.git' } }]);
    expect(ref().placeholder).toBe('main');
    const list = screen.getByTestId('branch-suggestions');
    expect(ref().getAttribute('list')).toBe(list.id);
    expect([...list.querySelectorAll('option')].map((o) => o.value)).toEqual(['main', 'feature', 'release/1.0']);

    fireEvent.change(ref(), { target: { value: 'v1.0' } });
    expect(screen.getByText(/Not one of its branches/)).toBeTruthy();
    fireEvent.change(ref(), { target: { value: 'feature' } });
    expect(screen.queryByText(/Not one of its branches/)).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(main.of('createEnvironment')).toHaveLength(1));
    expect(main.of('createEnvironment')[0]).toEqual({
      body: { name: 'web', class: 'tiny', repository: 'https://github.com/ada/site.git', ref: 'feature' },
    });
  });

  it('grants further hosts: judged in place as hosts, sent as a list', async () => {
    const main = renderForm({ checkAccess: okCheck() });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByRole('option', { name: /^tiny/ });
    const grant = () => screen.getByLabelText<HTMLInputElement>('Also use my tokens for (optional)');
    expect(grant().disabled).toBe(true);
    fireEvent.change(url(), { target: { value: 'https://github.com/ada/site.git' } });
    fireEvent.change(grant(), { target: { value: 'deps.example.com, -oProxyCommand=x' } });
    expect(grant().getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByTestId('error-grantHosts').textContent).toContain('"-oProxyCommand=x"');
    fireEvent.submit(screen.getByTestId('create-form'));
    await settle();
    expect(main.of('createEnvironment')).toEqual([]);
    expect(document.activeElement).toBe(grant());
    fireEvent.change(grant(), { target: { value: 'deps.example.com https://git.example.org:8443/x/y.git' } });
    expect(screen.queryByTestId('error-grantHosts')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(main.of('createEnvironment')).toHaveLength(1));
    expect(main.of('createEnvironment')[0]).toEqual({
      body: {
        name: 'web',
        class: 'tiny',
        repository: 'https://github.com/ada/site.git',
        grantHosts: ['deps.example.com', 'git.example.org:8443'],
      },
    });
  });

  it('says a failed check inline, with the way to add access; the form can still be sent', async () => {
    const main = renderForm({
      checkAccess: failedCheck('no-credential', 'You have no credential for github.com'),
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByRole('option', { name: /^tiny/ });
    fireEvent.change(url(), { target: { value: 'https://github.com/ada/private.git' } });
    const said = await waitFor(
      () => {
        const el = screen.getByTestId('repo-check');
        expect(el.getAttribute('data-state')).toBe('no-credential');
        return el;
      },
      { timeout: 3000 },
    );
    expect(said.textContent).toBe(
      'No credential for this host: You have no credential for github.com. Add one for github.com in Settings → Repository access.',
    );
    expect(within(said).getByRole('link').getAttribute('href')).toBe('#/settings/repositories');
    expect(ref().placeholder).toBe('default branch');
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(main.of('createEnvironment')).toHaveLength(1));
  });

  it('drops the suggestions of the URL before as soon as another is typed', async () => {
    const main = renderForm({ checkAccess: okCheck() });
    fireEvent.change(url(), { target: { value: 'https://github.com/ada/site.git' } });
    await waitFor(() => expect(ref().placeholder).toBe('main'), { timeout: 3000 });
    fireEvent.change(url(), { target: { value: 'https://gitlab.com/ada/other.git' } });
    expect(ref().placeholder).toBe('default branch');
    expect(screen.getByTestId('branch-suggestions').querySelectorAll('option')).toHaveLength(0);
    await waitFor(() => expect(main.of('checkAccess')).toHaveLength(2), { timeout: 3000 });
  });

  it("puts hearthd's refusal naming repository or ref on that field", async () => {
    renderForm({
      checkAccess: okCheck(),
      createEnvironment: new Refusal({
        source: 'hearthd',
        status: 400,
        code: 'invalid-request',
        message: 'Invalid request',
        details: [{ path: 'body/ref', message: 'Branch nope is not in the repository' }],
      }),
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByRole('option', { name: /^tiny/ });
    fireEvent.change(url(), { target: { value: 'https://github.com/ada/site.git' } });
    fireEvent.change(ref(), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect((await screen.findByTestId('error-ref')).textContent).toBe('Branch nope is not in the repository');
    expect(ref().getAttribute('aria-invalid')).toBe('true');
  });
});
