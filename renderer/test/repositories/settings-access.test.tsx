// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AddCredential, Credential } from '#protocol';
import { ProfileSection } from '../../src/features/repositories/ProfileSection.js';
import { RepositoryAccessSection } from '../../src/features/repositories/RepositoryAccessSection.js';
import { usePushed } from '../../src/store.js';
import {
  COMMIT,
  connected,
  dialogStandIn,
  failedCheck,
  fakeMain,
  okCheck,
  Refusal,
  sshKey,
  token,
  type Answer,
} from './fake-main.js';

dialogStandIn();
/** The one confirm open now (the page has several, closed). */
const openDialog = () => screen.getAllByTestId<HTMLDialogElement>('confirm').find((d) => d.open)!;
const SECRET = 'ghp_S3cretTokenThatMustNeverShowAgain0001';

const github = {
  host: 'github.com',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  fingerprint: 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU',
  source: 'preloaded' as const,
  confirmedAt: null,
};

function renderSection(answers: Record<string, Answer>) {
  const main = fakeMain({
    listCredentials: { credentials: [token, sshKey] },
    listGitHostKeys: { hostKeys: [github] },
    ...answers,
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <RepositoryAccessSection connected />
      <ProfileSection connected />
    </QueryClientProvider>,
  );
  return { main, client };
}

const type = (label: string | RegExp, value: string, within_: HTMLElement = document.body) =>
  fireEvent.change(within(within_).getByLabelText(label), { target: { value } });

describe('Settings → Repository access', () => {
  beforeEach(() => usePushed.setState({ connection: connected, install: null }));
  afterEach(cleanup);

  it('lists each credential with what identifies it, never a secret', async () => {
    renderSection({ getProfile: { gitName: null, gitEmail: null } });
    const list = await screen.findByTestId('credentials');
    const [bitbucket, own] = within(list).getAllByRole('listitem');
    expect(bitbucket!.getAttribute('data-credential')).toBe('bitbucket.org');
    expect(bitbucket!.textContent).toContain('Token (HTTPS)');
    expect(bitbucket!.textContent).toContain('ada');
    expect(within(bitbucket!).getByTestId('credential-ca').textContent).toBe('No');
    expect(within(bitbucket!).getByTestId('credential-last-check').textContent).toMatch(
      /Authentication refused.*bitbucket\.org refused the token \(HTTP 401\).*https:\/\/bitbucket\.org\/ada\/site\.git/,
    );
    // The SSH key: its public half to copy, with the one thing to do with it.
    expect(within(own!).getByTestId('public-key-text').textContent).toBe(sshKey.publicKey);
    expect(within(own!).getByTestId('public-key').textContent).toContain(
      'Add it to git.example.com:2222 as a deploy key or user key',
    );
    expect(within(own!).getByRole('button', { name: 'Copy the public key for git.example.com:2222' })).toBeTruthy();
    expect(within(own!).getByTestId('credential-ca').textContent).toBe('Yes, for this host only');
    expect(within(own!).getByTestId('credential-last-check').textContent).toBe('Not checked yet');
    // The help recommends narrow tokens.
    expect(screen.getByTestId('repository-access').textContent).toMatch(
      /fine-grained tokens limited to the repositories/,
    );
  });

  it('adds a token write-only: a password field, emptied once hearthd has it, and shown nowhere after', async () => {
    const added: Credential = {
      ...token,
      id: 'cred-00000000beef',
      host: 'github.com',
      username: null,
      lastCheck: null,
    };
    const { main } = renderSection({ addCredential: added, getProfile: { gitName: null, gitEmail: null } });
    const form = await screen.findByTestId('token-form');
    const field = within(form).getByLabelText<HTMLInputElement>('Token');
    expect(field.type).toBe('password');
    expect(within(form).getByText('Bitbucket and Azure DevOps need one; GitHub and GitLab do not.')).toBeTruthy();

    // Wrong fields are named before anything is sent, and the token is not echoed in the message.
    type('Git host', 'not a host!', form);
    type('Token', 'has a space', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Add token' }));
    expect(within(form).getByTestId('token-error-host').textContent).toMatch(/A host name/);
    expect(within(form).getByLabelText('Git host').getAttribute('aria-invalid')).toBe('true');
    expect(within(form).getByTestId('token-error-token').textContent).not.toContain('has a space');
    expect(main.of('addCredential')).toEqual([]);

    // A pasted repository URL gives its host.
    type('Git host', 'https://GitHub.com/ada/site.git', form);
    type('Token', SECRET, form);
    fireEvent.click(within(form).getByRole('button', { name: 'Add token' }));
    await within(form).findByTestId('credential-added');
    expect(main.of('addCredential')).toEqual([{ body: { host: 'github.com', kind: 'token', token: SECRET } }]);
    expect(field.value).toBe('');
    expect(document.body.innerHTML).not.toContain(SECRET);
    // The list shows the new one (replacing nothing: it is another host).
    expect(screen.getByTestId('credentials').querySelector('[data-credential="github.com"]')).toBeTruthy();
  });

  it('sends the user name and a CA certificate for a self-hosted server', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydA==\n-----END CERTIFICATE-----';
    const { main } = renderSection({
      addCredential: (r: unknown) => ({ ...token, ...(r as { body: AddCredential }).body, token: undefined }),
      getProfile: { gitName: null, gitEmail: null },
    });
    const form = await screen.findByTestId('token-form');
    type('Git host', 'git.example.com:8443', form);
    type('Token', SECRET, form);
    type('User name (optional)', 'x-token-auth', form);
    type('CA certificate (PEM, optional)', 'not a pem', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Add token' }));
    expect(within(form).getByTestId('token-error-caCertificate').textContent).toMatch(/PEM certificate/);
    type('CA certificate (PEM, optional)', pem, form);
    fireEvent.click(within(form).getByRole('button', { name: 'Add token' }));
    await waitFor(() => expect(main.of('addCredential')).toHaveLength(1));
    expect(main.of('addCredential')[0]).toEqual({
      body: {
        host: 'git.example.com:8443',
        kind: 'token',
        token: SECRET,
        username: 'x-token-auth',
        caCertificate: `${pem}\n`,
      },
    });
  });

  it('makes an SSH key for a host and shows the public key to add there', async () => {
    const made: Credential = { ...sshKey, id: 'cred-00000000cafe', host: 'gitlab.com' };
    const { main } = renderSection({ addCredential: made, getProfile: { gitName: null, gitEmail: null } });
    fireEvent.click(await screen.findByLabelText('SSH key made by Hearth'));
    const form = screen.getByTestId('ssh-key-form');
    type('Git host', 'gitlab.com', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Make SSH key' }));
    const shown = await within(form).findByTestId('ssh-key-made');
    expect(main.of('addCredential')).toEqual([{ body: { host: 'gitlab.com', kind: 'ssh-key' } }]);
    expect(within(shown).getByTestId('public-key-text').textContent).toBe(made.publicKey);
    expect(shown.textContent).toContain('Add it to gitlab.com as a deploy key or user key');
    expect(shown.textContent).toContain(made.fingerprint);
  });

  it('checks access: the URL judged as typed, then the result with default branch and commit', async () => {
    const { main } = renderSection({ checkAccess: okCheck('feature'), getProfile: { gitName: null, gitEmail: null } });
    const form = await screen.findByTestId('check-access');
    const url = within(form).getByLabelText('Repository URL');
    const button = within(form).getByRole<HTMLButtonElement>('button', { name: 'Check access' });
    for (const [hostile, reason] of [
      ['http://github.com/ada/site.git', /Plain http:\/\/ is refused/],
      ['ext::sh -c touch% /tmp/pwned', /no spaces/],
      ['https://ada:ghp_x@github.com/ada/site.git', /Remove the password or token/],
      ['git@-oProxyCommand=x:y', /./],
      ['/srv/git/site.git', /local path/],
    ] as const) {
      fireEvent.change(url, { target: { value: hostile } });
      expect(url.getAttribute('aria-invalid')).toBe('true');
      expect(within(form).getByTestId('check-error-repository').textContent).toMatch(reason);
      expect(button.disabled).toBe(true);
    }
    fireEvent.change(url, { target: { value: 'https://github.com/ada/site.git' } });
    expect(url.getAttribute('aria-invalid')).toBe('false');
    type('Ref (optional)', '-bad', form);
    expect(within(form).getByTestId('check-error-ref')).toBeTruthy();
    type('Ref (optional)', 'feature', form);
    fireEvent.click(button);
    const result = await within(form).findByTestId('access-check');
    expect(main.of('checkAccess')).toEqual([
      { body: { repository: 'https://github.com/ada/site.git', ref: 'feature' } },
    ]);
    expect(result.getAttribute('data-code')).toBe('ok');
    expect(result.textContent).toContain('Access works');
    expect(result.textContent).toContain('main');
    expect(within(result).getByTestId('access-check-commit').getAttribute('title')).toBe(COMMIT);
    // The credential's "last check" is hearthd's to say: the list is asked again.
    await waitFor(() => expect(main.of('listCredentials').length).toBeGreaterThan(1));
  });

  it('an unknown SSH host key: its fingerprint, compared, trusted on confirm, then the check again', async () => {
    const offered = {
      publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Qta2V5LW9mZmVyZWQtYnktdGhlLXNlcnZlcg',
      fingerprint: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8',
    };
    let trusted = false;
    const { main } = renderSection({
      checkAccess: () =>
        trusted
          ? okCheck()
          : failedCheck('host-key-unknown', 'git.example.com:2222 offered a key Hearth does not know yet', offered),
      confirmGitHostKey: (r: unknown) => {
        trusted = true;
        const { host, publicKey } = (r as { body: { host: string; publicKey: string } }).body;
        const confirmed = { host, publicKey, fingerprint: offered.fingerprint, source: 'confirmed' as const };
        return { hostKeys: [github, { ...confirmed, confirmedAt: '2026-12-07T10:00:00.000Z' }] };
      },
      getProfile: { gitName: null, gitEmail: null },
    });
    const form = await screen.findByTestId('check-access');
    type('Repository URL', 'ssh://git@git.example.com:2222/ada/site.git', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Check access' }));
    const result = await within(form).findByTestId('access-check');
    expect(result.getAttribute('data-code')).toBe('host-key-unknown');
    expect(within(result).getByTestId('offered-host-key').textContent).toContain(offered.fingerprint);
    expect(result.textContent).toMatch(/Compare it with the SSH fingerprints the host publishes/);

    fireEvent.click(within(result).getByRole('button', { name: 'Trust this key…' }));
    const dialog = openDialog();
    expect(within(dialog).getByRole('heading').textContent).toBe('Trust this key for git.example.com:2222?');
    expect(within(dialog).getByTestId('trust-fingerprint').textContent).toBe(offered.fingerprint);
    // Nothing is trusted until the user confirms.
    expect(main.of('confirmGitHostKey')).toEqual([]);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Trust this key' }));
    await waitFor(() => expect(main.of('checkAccess')).toHaveLength(2));
    expect(main.of('confirmGitHostKey')).toEqual([
      { body: { host: 'git.example.com:2222', publicKey: offered.publicKey } },
    ]);
    await waitFor(() => expect(within(form).getByTestId('access-check').getAttribute('data-code')).toBe('ok'));
    // The trusted keys now include it, beside the preloaded ones.
    const keys = screen.getByTestId('git-host-keys');
    expect(keys.querySelector('[data-host-key="github.com"]')?.textContent).toContain('Preloaded');
    expect(keys.querySelector('[data-host-key="git.example.com:2222"]')?.textContent).toContain(offered.fingerprint);
  });

  it('a changed host key is refused with no way to trust it here', async () => {
    renderSection({
      checkAccess: failedCheck('host-key-changed', 'github.com offered a different key than the pinned one', {
        publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNoYW5nZWQta2V5LW9mZmVyZWQtYnktdGhlLXNlcnZlcg',
        fingerprint: 'SHA256:changedchangedchangedchangedchangedchange00',
      }),
      getProfile: { gitName: null, gitEmail: null },
    });
    const form = await screen.findByTestId('check-access');
    type('Repository URL', 'git@github.com:ada/site.git', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Check access' }));
    const result = await within(form).findByTestId('access-check');
    expect(result.textContent).toMatch(/SSH host key changed.*someone may be in between/);
    expect(within(result).queryByRole('button', { name: /Trust/ })).toBeNull();
  });

  it('removes a credential only after a confirm', async () => {
    const { main } = renderSection({
      deleteCredential: { credentials: [sshKey] },
      getProfile: { gitName: null, gitEmail: null },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Remove the Token (HTTPS) for bitbucket.org' }));
    const dialog = openDialog();
    expect(within(dialog).getByRole('heading').textContent).toBe('Remove access to bitbucket.org?');
    expect(main.of('deleteCredential')).toEqual([]);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    await waitFor(() =>
      expect(screen.getByTestId('credentials').querySelector('[data-credential="bitbucket.org"]')).toBeNull(),
    );
    expect(main.of('deleteCredential')).toEqual([{ params: { id: token.id } }]);
  });

  it("says hearthd's refusal (a build without repository access answers 503)", async () => {
    renderSection({
      listCredentials: new Refusal({
        source: 'hearthd',
        status: 503,
        code: 'unavailable',
        message: 'Repository access is not available in this build',
      }),
      getProfile: { gitName: null, gitEmail: null },
    });
    expect((await screen.findByTestId('credentials-error')).textContent).toBe(
      'Repository access is not available in this build',
    );
  });

  it('saves the profile (git name and e-mail), checked against the schema first', async () => {
    const { main } = renderSection({
      getProfile: { gitName: 'Ada', gitEmail: null },
      putProfile: (r: unknown) => (r as { body: unknown }).body,
    });
    const form = await screen.findByTestId('profile-form');
    expect(within(form).getByLabelText<HTMLInputElement>('Git name').value).toBe('Ada');
    type('Git e-mail', 'not an address', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Save profile' }));
    expect(within(form).getByTestId('profile-error-gitEmail')).toBeTruthy();
    expect(main.of('putProfile')).toEqual([]);
    type('Git e-mail', 'ada@example.com', form);
    type('Git name', 'Ada Lovelace', form);
    fireEvent.click(within(form).getByRole('button', { name: 'Save profile' }));
    await within(form).findByText('Saved.');
    expect(main.of('putProfile')).toEqual([{ body: { gitName: 'Ada Lovelace', gitEmail: 'ada@example.com' } }]);
  });
});
