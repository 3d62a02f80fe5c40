import { useId, useState, type SyntheticEvent } from 'react';
import type { AccessCheck } from '#protocol';
import { Button } from '../../ui/Button.js';
import { TextField } from '../../ui/TextField.js';
import { ConfirmDialog } from '../../ui/Dialog.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { useCheckAccess, useConfirmHostKey } from './queries.js';
import { CHECK_TITLE, checkUrl, refProblem, shortSha } from './repositoryForm.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * "Does my access reach this repository?": hearthd runs git ls-remote with the caller's
 * credential for its host and says what it found. The URL is judged as it is typed (the same
 * parser hearthd uses). An SSH host whose key is not known yet is trusted here, by the user,
 * after comparing the fingerprint it offered — then the check runs again.
 */
export function CheckAccessForm() {
  const id = useId();
  const check = useCheckAccess();
  const confirm = useConfirmHostKey();
  const [url, setUrl] = useState('');
  const [ref, setRef] = useState('');
  const [trusting, setTrusting] = useState(false);
  const urlField = checkUrl(url.trim());
  const badRef = refProblem(ref.trim());

  const run = () => {
    if (urlField.state !== 'ok' || badRef !== null) return;
    confirm.reset();
    check.mutate({ repository: urlField.location.url, ...(ref.trim() !== '' && { ref: ref.trim() }) });
  };
  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    run();
  };
  const result = check.data;
  // The host a key is pinned for is the one the checked URL names (with its port).
  const checkedHost = check.variables ? checkUrl(check.variables.repository) : null;
  const host = checkedHost?.state === 'ok' ? checkedHost.location.credentialHost : null;

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="check-access">
      <div className="check-access-fields">
        <TextField
          id={`${id}-url`}
          name="repository"
          label="Repository URL"
          placeholder="https://github.com/owner/repo.git"
          value={url}
          onValue={setUrl}
          error={urlField.state === 'bad' ? urlField.reason : undefined}
          errorTestId="check-error-repository"
        />
        <TextField
          id={`${id}-ref`}
          name="ref"
          label="Ref (optional)"
          placeholder="default branch"
          value={ref}
          onValue={setRef}
          error={badRef ?? undefined}
          errorTestId="check-error-ref"
        />
      </div>
      <div className="actions">
        <Button type="submit" disabled={check.isPending || urlField.state !== 'ok' || badRef !== null}>
          {check.isPending ? 'Checking…' : 'Check access'}
        </Button>
      </div>
      {check.error && (
        <div className="banner banner-fail" role="alert" data-testid="check-failed">
          {message(check.error)}
        </div>
      )}
      {result && <AccessCheckResult result={result} onTrust={host !== null ? () => setTrusting(true) : undefined} />}
      {confirm.error && (
        <div className="banner banner-fail" role="alert" data-testid="trust-failed">
          {message(confirm.error)}
        </div>
      )}
      <ConfirmDialog
        open={trusting && result?.hostKey != null && host !== null}
        title={`Trust this key for ${host ?? ''}?`}
        confirmLabel="Trust this key"
        onClose={() => setTrusting(false)}
        onConfirm={() => {
          setTrusting(false);
          const checked = check.variables;
          if (result?.hostKey == null || host === null || !checked) return;
          // Trusted: the same check again, now under strict checking.
          confirm.mutate({ host, publicKey: result.hostKey.publicKey }, { onSuccess: () => check.mutate(checked) });
        }}
      >
        <p>
          Only if it matches the fingerprint {host} publishes (its documentation, or its administrator):
          <br />
          <code data-testid="trust-fingerprint">{result?.hostKey?.fingerprint}</code>
        </p>
        <p className="muted small">From then on Hearth and your environments refuse any other key for this host.</p>
      </ConfirmDialog>
    </form>
  );
}

/** What a check found: branches and the commit, or why not, with the next step when there is one. */
export function AccessCheckResult(props: { result: AccessCheck; onTrust?: (() => void) | undefined }) {
  const { result } = props;
  return (
    <div
      className={`check-result ${result.ok ? 'check-result-ok' : 'check-result-fail'}`}
      role="status"
      data-testid="access-check"
      data-code={result.code}
    >
      <StatusBadge tone={result.ok ? 'pass' : 'fail'} label={CHECK_TITLE[result.code]} />
      <p className="check-result-message">{result.message}</p>
      {result.ok && (
        <dl className="facts">
          <div>
            <dt>Default branch</dt>
            <dd>
              <code>{result.defaultBranch ?? '—'}</code>
            </dd>
          </div>
          <div>
            <dt>{result.ref !== null ? `Commit of ${result.ref}` : 'Commit'}</dt>
            <dd>
              {result.commit !== null ? (
                <code title={result.commit} data-testid="access-check-commit">
                  {shortSha(result.commit)}
                </code>
              ) : (
                '—'
              )}
            </dd>
          </div>
          <div>
            <dt>Branches</dt>
            <dd>{result.branches.length}</dd>
          </div>
        </dl>
      )}
      {result.hostKey !== null && (
        <div className="check-host-key" data-testid="offered-host-key">
          <p className="small">
            The host offered the key <code>{result.hostKey.fingerprint}</code>.
            {result.code === 'host-key-changed'
              ? ' It is not the key Hearth trusts for this host: someone may be in between. Hearth refuses it.'
              : ' Compare it with the SSH fingerprints the host publishes before you trust it.'}
          </p>
          {result.code === 'host-key-unknown' && props.onTrust && (
            <Button small onClick={props.onTrust}>
              Trust this key…
            </Button>
          )}
        </div>
      )}
    </div>
  );
}
