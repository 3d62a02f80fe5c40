import { useEffect, useState } from 'react';
import { hrefOf } from '../../app/router.js';
import { TextField } from '../../ui/TextField.js';
import { useBranchSuggestions } from './queries.js';
import { CHECK_TITLE, checkUrl, grantHostsOf, refProblem } from './repositoryForm.js';
import './repositories.css';

/** How long typing must pause before a URL is checked for branches (each check runs git ls-remote). */
export const SUGGEST_DELAY_MS = 600;
const SHA = /^[0-9a-f]{40}$/;

export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The create form's repository URL and ref, both optional. The URL is judged as it is typed
 * (parseRepositoryUrl: the reason under the field); once it is valid and typing pauses, hearthd
 * checks access and its branches become the ref's suggestions, with the default branch as the
 * placeholder. A check that fails (no access for the host, say) is said under the fields: the
 * form can still be sent, and hearthd's own answer decides.
 */
export function RepositoryFields(props: {
  idPrefix: string;
  url: string;
  onUrl: (url: string) => void;
  gitRef: string;
  onRef: (ref: string) => void;
  grantHosts: string;
  onGrantHosts: (hosts: string) => void;
  /** hearthd's refusals of the last create, per field. */
  errors: { repository?: string | undefined; ref?: string | undefined; grantHosts?: string | undefined };
}) {
  const { idPrefix: id } = props;
  const urlField = checkUrl(props.url.trim());
  const refRule = refProblem(props.gitRef.trim());
  const checkable = useDebounced(urlField.state === 'ok' ? urlField.location.url : null, SUGGEST_DELAY_MS);
  const suggestions = useBranchSuggestions(urlField.state === 'ok' ? checkable : null);
  // Only what was found for the URL in the field now (not the one before it, while typing pauses).
  const check = urlField.state === 'ok' && checkable === urlField.location.url ? suggestions.data : undefined;
  const branches = check?.ok ? check.branches : [];
  const urlError = urlField.state === 'bad' ? urlField.reason : props.errors.repository;
  const refError = refRule ?? props.errors.ref;
  const granted = grantHostsOf(props.grantHosts);
  const grantError = 'problem' in granted ? granted.problem : props.errors.grantHosts;
  const ref = props.gitRef.trim();
  const notABranch = ref !== '' && refRule === null && check?.ok === true && !branches.includes(ref) && !SHA.test(ref);

  return (
    <div className="repo-fields" data-testid="repo-fields">
      <TextField
        id={`${id}-repository`}
        name="repository"
        label="Repository URL (optional)"
        placeholder="https://github.com/owner/repo.git"
        value={props.url}
        onValue={props.onUrl}
        help={
          urlField.state === 'ok' ? (
            <>
              Cloned into <code>/workspace/{urlField.location.directory}</code>.
            </>
          ) : (
            <>https:// or SSH (git@host:owner/repo.git); cloned into /workspace.</>
          )
        }
        error={urlError}
        errorTestId="error-repository"
      />
      <TextField
        id={`${id}-ref`}
        name="ref"
        label="Ref (optional)"
        list={`${id}-branches`}
        placeholder={check?.defaultBranch ?? 'default branch'}
        value={props.gitRef}
        onValue={props.onRef}
        disabled={urlField.state !== 'ok'}
        help={notABranch ? 'Not one of its branches: it is cloned if it names a tag or commit.' : undefined}
        error={refError}
        errorTestId="error-ref"
      />
      <datalist id={`${id}-branches`} data-testid="branch-suggestions">
        {branches.map((b) => (
          <option key={b} value={b} />
        ))}
      </datalist>
      <TextField
        id={`${id}-grantHosts`}
        fieldClassName="repo-grant"
        name="grantHosts"
        label="Also use my tokens for (optional)"
        placeholder="submodules.example.com"
        value={props.grantHosts}
        onValue={props.onGrantHosts}
        disabled={urlField.state !== 'ok'}
        help="Hosts besides the repository's whose HTTPS token git in the environment may ask for (submodules, dependencies), separated by spaces."
        error={grantError}
        errorTestId="error-grantHosts"
      />
      {urlField.state === 'ok' && (
        <SuggestionState
          url={urlField.location.url}
          settled={checkable}
          suggestions={suggestions}
          host={urlField.location.credentialHost}
        />
      )}
    </div>
  );
}

/** What the suggestions check found, under both fields: checking, branches, or why not. */
function SuggestionState(props: {
  url: string;
  settled: string | null;
  host: string;
  suggestions: ReturnType<typeof useBranchSuggestions>;
}) {
  const { suggestions } = props;
  const settings = hrefOf({ page: 'settings', section: 'repositories' });
  if (props.settled !== props.url || suggestions.isFetching)
    return (
      <p className="muted small repo-check" role="status" data-testid="repo-check" data-state="checking">
        Checking access…
      </p>
    );
  if (suggestions.error)
    return (
      <p className="muted small repo-check" role="status" data-testid="repo-check" data-state="unavailable">
        Branches cannot be suggested: {suggestions.error.message}
      </p>
    );
  const check = suggestions.data;
  if (!check) return null;
  if (check.ok)
    return (
      <p className="muted small repo-check" role="status" data-testid="repo-check" data-state="ok">
        Access works: {check.branches.length} branch{check.branches.length === 1 ? '' : 'es'}, default{' '}
        <code>{check.defaultBranch ?? '—'}</code>.
      </p>
    );
  return (
    <p className="field-error repo-check" role="status" data-testid="repo-check" data-state={check.code}>
      {CHECK_TITLE[check.code]}: {check.message.replace(/\.$/, '')}.
      {check.code === 'no-credential' || check.code === 'auth-refused' || check.code.startsWith('host-key') ? (
        <>
          {' '}
          {check.code === 'no-credential' ? `Add one for ${props.host} in ` : 'See '}
          <a href={settings}>Settings → Repository access</a>.
        </>
      ) : null}
    </p>
  );
}
