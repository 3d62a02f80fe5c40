import type { Credential } from '#protocol';
import { Button } from '../../ui/Button.js';
import { CopyButton } from '../../ui/CopyButton.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { CHECK_TITLE } from './repositoryForm.js';

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const KIND = { token: 'Token (HTTPS)', 'ssh-key': 'SSH key' } as const;

/**
 * The caller's credentials as hearthd lists them: what identifies each, never its secret. Without
 * `onRemove` (the wizard) they are only shown.
 */
export function CredentialList(props: { credentials: Credential[]; onRemove?: (credential: Credential) => void }) {
  const { onRemove } = props;
  if (props.credentials.length === 0)
    return (
      <p className="muted" data-testid="credentials-empty">
        No repository access yet: environments can clone public repositories only.
      </p>
    );
  return (
    <ul className="credentials" data-testid="credentials">
      {props.credentials.map((c) => (
        <li key={c.id} className="credential" data-credential={c.host} data-kind={c.kind}>
          <div className="credential-head">
            <strong className="credential-host">{c.host}</strong>
            <span className="muted small">{KIND[c.kind]}</span>
            {onRemove && (
              <Button
                small
                variant="ghost"
                className="btn-danger credential-remove"
                onClick={() => onRemove(c)}
                aria-label={`Remove the ${KIND[c.kind]} for ${c.host}`}
              >
                Remove
              </Button>
            )}
          </div>
          <dl className="facts credential-facts">
            {c.kind === 'token' && (
              <div>
                <dt>User name</dt>
                <dd>{c.username ?? <span className="muted">none (a placeholder is sent)</span>}</dd>
              </div>
            )}
            <div>
              <dt>CA certificate</dt>
              <dd data-testid="credential-ca">{c.caCertificate ? 'Yes, for this host only' : 'No'}</dd>
            </div>
            <div>
              <dt>Added</dt>
              <dd>{time.format(new Date(c.createdAt))}</dd>
            </div>
            <div>
              <dt>Last check</dt>
              <dd data-testid="credential-last-check">
                {c.lastCheck === null ? (
                  <span className="muted">Not checked yet</span>
                ) : (
                  <>
                    <StatusBadge
                      tone={c.lastCheck.code === 'ok' ? 'pass' : 'fail'}
                      label={CHECK_TITLE[c.lastCheck.code]}
                    />{' '}
                    <span className="muted small">{time.format(new Date(c.lastCheck.at))}</span>
                    <span className="credential-check-message small">
                      {c.lastCheck.message}
                      {c.lastCheck.repository !== null && (
                        <>
                          {' '}
                          (<code>{c.lastCheck.repository}</code>)
                        </>
                      )}
                    </span>
                  </>
                )}
              </dd>
            </div>
          </dl>
          {c.kind === 'ssh-key' && c.publicKey !== null && (
            <PublicKey host={c.host} publicKey={c.publicKey} fingerprint={c.fingerprint} />
          )}
        </li>
      ))}
    </ul>
  );
}

/** The public half to add to the Git host, with its fingerprint and the one thing to do with it. */
export function PublicKey(props: { host: string; publicKey: string; fingerprint?: string | null }) {
  return (
    <div className="credential-key" data-testid="public-key">
      <p className="small">
        Add it to <strong>{props.host}</strong> as a deploy key or user key:
      </p>
      <div className="command">
        <code data-testid="public-key-text">{props.publicKey}</code>
        <CopyButton text={props.publicKey} label={`Copy the public key for ${props.host}`} />
      </div>
      {props.fingerprint && <p className="muted small">Fingerprint {props.fingerprint}</p>}
    </div>
  );
}
