import { useState } from 'react';
import type { Credential } from '#protocol';
import { ConfirmDialog } from '../../ui/Dialog.js';
import { AddCredentialForm } from './AddCredentialForm.js';
import { CheckAccessForm } from './CheckAccessForm.js';
import { CredentialList } from './CredentialList.js';
import { HostKeyList } from './HostKeyList.js';
import { useCredentials, useDeleteCredential } from './queries.js';
import './repositories.css';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The section's heading id: Settings scrolls to it when the address names it (#/settings/repositories). */
export const REPOSITORY_ACCESS_TITLE = 'repository-access-title';

/**
 * Repository access (Settings): the caller's credentials per Git host, adding a token or an SSH
 * key, checking that access reaches a repository, and removing. Each member sees and changes only
 * their own; hearthd keeps the secrets and shows them to no one.
 */
export function RepositoryAccessSection({ connected }: { connected: boolean }) {
  const credentials = useCredentials(connected);
  const remove = useDeleteCredential();
  const [removing, setRemoving] = useState<Credential | null>(null);

  return (
    <section className="card" aria-labelledby={REPOSITORY_ACCESS_TITLE} data-testid="repository-access">
      <h2 id={REPOSITORY_ACCESS_TITLE} className="scroll-target" tabIndex={-1}>
        Repository access
      </h2>
      <RepositoryAccessHelp />
      {credentials.error && (
        <div className="banner banner-fail" role="alert" data-testid="credentials-error">
          {message(credentials.error)}
        </div>
      )}
      {remove.error && (
        <div className="banner banner-fail" role="alert" data-testid="credential-remove-error">
          {message(remove.error)}
        </div>
      )}
      {credentials.data && <CredentialList credentials={credentials.data} onRemove={setRemoving} />}
      {connected && (
        <>
          <AddCredentialForm />
          <h3 className="repository-subtitle">Check access</h3>
          <p className="muted small">
            Hearth runs <code>git ls-remote</code> with your access for the repository&apos;s host, as an unprivileged
            user, and says what it found.
          </p>
          <CheckAccessForm />
          <HostKeyList connected={connected} />
        </>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove access to ${removing?.host ?? ''}?`}
        confirmLabel="Remove"
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          if (removing) remove.mutate(removing.id);
          setRemoving(null);
        }}
      >
        <p>
          Hearth forgets the {removing?.kind === 'ssh-key' ? 'key pair' : 'token'} at once, and your environments stop
          receiving it.{' '}
          {removing?.kind === 'ssh-key'
            ? 'Remove its public key from the host too.'
            : 'Revoke the token at the host too if you no longer use it.'}
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** What access is for and how it is used: the same words in Settings and in the wizard. */
export function RepositoryAccessHelp() {
  return (
    <p className="muted small">
      Access per Git host (GitHub, GitLab, Bitbucket, Azure DevOps or your own server), used to clone into your
      environments and to fetch and push from them. It is never written into an environment: git there asks Hearth for
      it each time. Code that runs in an environment can still use it for the repository&apos;s host, so prefer
      fine-grained tokens limited to the repositories you need, or an SSH deploy key per repository.
    </p>
  );
}
