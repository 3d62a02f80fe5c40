import { useId, useState, type SyntheticEvent } from 'react';
import type { Credential, CredentialKind } from '#protocol';
import { Button } from '../../ui/Button.js';
import { TextField } from '../../ui/TextField.js';
import { PublicKey } from './CredentialList.js';
import { useAddCredential } from './queries.js';
import { EMPTY_TOKEN, HOST_RULE, hostOf, validateToken, type TokenDraft, type TokenField } from './repositoryForm.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Add repository access for one Git host: a personal access token (HTTPS), or a key pair hearthd
 * makes (SSH) whose public half the user adds to the host. The token is write-only: the field is
 * emptied once hearthd has it, and nothing shows it again. Used in Settings and in the wizard.
 */
export function AddCredentialForm(props: { onAdded?: (credential: Credential) => void }) {
  const id = useId();
  const [kind, setKind] = useState<CredentialKind>('token');
  return (
    <div className="add-credential" data-testid="add-credential">
      <fieldset className="settings-fieldset">
        <legend>Add access</legend>
        <div className="add-credential-kinds">
          {(
            [
              ['token', 'Personal access token (HTTPS)'],
              ['ssh-key', 'SSH key made by Hearth'],
            ] as const
          ).map(([value, label]) => (
            <div className="checkbox-row" key={value}>
              <input
                type="radio"
                id={`${id}-kind-${value}`}
                name={`${id}-kind`}
                checked={kind === value}
                onChange={() => setKind(value)}
              />
              <label htmlFor={`${id}-kind-${value}`}>{label}</label>
            </div>
          ))}
        </div>
      </fieldset>
      {kind === 'token' ? <TokenForm {...props} /> : <SshKeyForm {...props} />}
    </div>
  );
}

function TokenForm(props: { onAdded?: (credential: Credential) => void }) {
  const id = useId();
  const add = useAddCredential();
  const [draft, setDraft] = useState<TokenDraft>(EMPTY_TOKEN);
  const [errors, setErrors] = useState<Partial<Record<TokenField, string>>>({});
  const [added, setAdded] = useState<Credential | null>(null);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const checked = validateToken(draft);
    if ('errors' in checked) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setAdded(null);
    add.mutate(checked.body, {
      onSuccess: (credential) => {
        // hearthd has it now; the window keeps nothing of it, not even in the mutation's state.
        setDraft(EMPTY_TOKEN);
        add.reset();
        setAdded(credential);
        props.onAdded?.(credential);
      },
    });
  };

  const field = (name: TokenField) => ({
    id: `${id}-${name}`,
    name,
    value: draft[name],
    onValue: (value: string) => setDraft({ ...draft, [name]: value }),
    error: errors[name],
    errorTestId: `token-error-${name}`,
  });

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="token-form">
      <TextField
        label="Git host"
        placeholder="github.com"
        help="As in the repository URL, with its port if it names one; pasting a repository URL works too."
        {...field('host')}
      />
      <TextField
        label="Token"
        type="password"
        help="Prefer a fine-grained token limited to the repositories you work on, with read and write access to their contents. Hearth stores it for you only and never shows it again."
        {...field('token')}
      />
      <TextField
        label="User name (optional)"
        help="Bitbucket and Azure DevOps need one; GitHub and GitLab do not."
        {...field('username')}
      />
      <details className="field" open={draft.caCertificate !== '' || errors.caCertificate !== undefined}>
        <summary>Self-hosted server with its own certificate authority</summary>
        <label htmlFor={`${id}-caCertificate`}>CA certificate (PEM, optional)</label>
        <textarea
          id={`${id}-caCertificate`}
          name="caCertificate"
          className="input add-credential-ca"
          rows={4}
          spellCheck={false}
          placeholder="-----BEGIN CERTIFICATE-----"
          value={draft.caCertificate}
          onChange={(e) => setDraft({ ...draft, caCertificate: e.target.value })}
          aria-invalid={errors.caCertificate !== undefined}
          aria-describedby={`${id}-caCertificate-help${errors.caCertificate !== undefined ? ` ${id}-caCertificate-error` : ''}`}
        />
        <p className="muted small" id={`${id}-caCertificate-help`}>
          Trusted for this host only, by Hearth&apos;s checks and by git in your environments.
        </p>
        {errors.caCertificate !== undefined && (
          <p className="field-error" id={`${id}-caCertificate-error`} data-testid="token-error-caCertificate">
            {errors.caCertificate}
          </p>
        )}
      </details>
      {add.error && (
        <div className="banner banner-fail" role="alert" data-testid="add-credential-error">
          {message(add.error)}
        </div>
      )}
      {added && (
        <p className="banner banner-info" role="status" data-testid="credential-added">
          Token for <strong>{added.host}</strong> added. Check access below with one of its repositories.
        </p>
      )}
      <div className="actions">
        <Button type="submit" variant="primary" disabled={add.isPending}>
          {add.isPending ? 'Adding…' : 'Add token'}
        </Button>
      </div>
    </form>
  );
}

function SshKeyForm(props: { onAdded?: (credential: Credential) => void }) {
  const id = useId();
  const add = useAddCredential();
  const [host, setHost] = useState('');
  const [invalid, setInvalid] = useState(false);
  const [made, setMade] = useState<Credential | null>(null);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const checked = hostOf(host);
    setInvalid(checked === null);
    if (checked === null) return;
    setMade(null);
    add.mutate(
      { host: checked, kind: 'ssh-key' },
      {
        onSuccess: (credential) => {
          setMade(credential);
          props.onAdded?.(credential);
        },
      },
    );
  };

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="ssh-key-form">
      <TextField
        id={`${id}-host`}
        name="host"
        label="Git host"
        placeholder="github.com"
        value={host}
        onValue={setHost}
        help="Hearth makes a key pair for you and this host; its private half never leaves hearthd. Your own SSH keys are never needed. Making one again replaces the key for this host."
        error={invalid ? HOST_RULE : undefined}
        errorTestId="ssh-key-error-host"
      />
      {add.error && (
        <div className="banner banner-fail" role="alert" data-testid="add-credential-error">
          {message(add.error)}
        </div>
      )}
      {made?.publicKey != null && (
        <div role="status" data-testid="ssh-key-made">
          <PublicKey host={made.host} publicKey={made.publicKey} fingerprint={made.fingerprint} />
        </div>
      )}
      <div className="actions">
        <Button type="submit" variant="primary" disabled={add.isPending}>
          {add.isPending ? 'Making the key…' : 'Make SSH key'}
        </Button>
      </div>
    </form>
  );
}
