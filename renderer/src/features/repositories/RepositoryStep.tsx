import type { SetupStepProps } from '../setup/setupSteps.js';
import { AddCredentialForm } from './AddCredentialForm.js';
import { CredentialList } from './CredentialList.js';
import { useCredentials } from './queries.js';
import { RepositoryAccessHelp } from './RepositoryAccessSection.js';
import './repositories.css';

/**
 * The wizard's optional step: access to private repositories, added here or later in Settings →
 * Repository access (where it is also checked and removed). Skipping it is fine: public
 * repositories clone without any.
 */
export function RepositoryStep({ context, headingId }: SetupStepProps) {
  const connected = context.connection?.state === 'connected';
  const credentials = useCredentials(connected);
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        Repository access
      </h2>
      <p className="muted">
        Optional: to clone private repositories into your environments, and to push from them. You can skip this and add
        access later in Settings → Repository access, where you can also check it.
      </p>
      {!connected ? (
        <p className="banner banner-warn" role="status">
          The helper keeps repository access, and it is not connected yet. Install it in an earlier step.
        </p>
      ) : (
        <div className="card">
          <RepositoryAccessHelp />
          {credentials.data && credentials.data.length > 0 && <CredentialList credentials={credentials.data} />}
          {credentials.error && (
            <div className="banner banner-fail" role="alert">
              {credentials.error.message}
            </div>
          )}
          <AddCredentialForm />
        </div>
      )}
    </>
  );
}
