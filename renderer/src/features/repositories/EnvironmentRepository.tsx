import type { Environment, EnvironmentRepository } from '#protocol';
import { parseRepositoryUrl } from '#protocol';
import { CopyButton } from '../../ui/CopyButton.js';
import { Meter } from '../environments/Meter.js';
import { shortSha } from './repositoryForm.js';
import './repositories.css';

/** `github.com/owner/repo`: the host and path a person recognises, without the scheme or `.git`. */
export function repositoryName(repository: EnvironmentRepository): string {
  const parsed = parseRepositoryUrl(repository.url);
  return parsed.ok ? `${repository.host}/${parsed.location.path.replace(/\.git$/, '')}` : repository.url;
}

/** "cloning 45%" while git reports its progress; the phase as well where there is room for it. */
export function cloneText(clone: EnvironmentRepository['clone'], withPhase: boolean): string {
  const percent = clone.percent !== null ? ` ${clone.percent}%` : '';
  if (withPhase && clone.phase !== null) return `Cloning: ${clone.phase}${percent}`;
  return `cloning${percent}`;
}

/** A dashboard row's line: repository, ref and short commit, or how far the clone is. */
export function RepositoryLine({ env }: { env: Environment }) {
  const repo = env.repository;
  if (repo === null) return null;
  const { clone } = repo;
  return (
    <span className="env-repo" data-testid="env-repository" data-clone={clone.status}>
      repo <code title={repo.url}>{repositoryName(repo)}</code>
      {repo.ref !== null && (
        <>
          {' '}
          at <code data-testid="env-ref">{repo.ref}</code>
        </>
      )}
      {repo.commit !== null && (
        <code title={repo.commit} data-testid="env-commit">
          {shortSha(repo.commit)}
        </code>
      )}
      {clone.status === 'cloning' && <span data-testid="env-clone">{cloneText(clone, false)}</span>}
      {clone.status === 'pending' && env.state !== 'failed' && <span>clone pending</span>}
      {clone.status === 'error' && <span className="env-reason">clone failed</span>}
    </span>
  );
}

/**
 * The details page's Repository card: where it is cloned, the ref and the full commit to copy,
 * git's progress while it clones (phase and percent), and git's own error when it failed.
 */
export function RepositoryCard({ env }: { env: Environment }) {
  const repo = env.repository;
  if (repo === null) return null;
  const { clone } = repo;
  return (
    <section className="card" aria-labelledby="repository-title" data-testid="repository" data-clone={clone.status}>
      <h2 id="repository-title">Repository</h2>
      <dl className="facts">
        <div>
          <dt>Repository</dt>
          <dd>
            <code data-testid="repository-url">{repo.url}</code>
          </dd>
        </div>
        <div>
          <dt>Cloned into</dt>
          <dd>
            <code>{repo.directory}</code>
          </dd>
        </div>
        <div>
          <dt>Ref</dt>
          <dd data-testid="repository-ref">{repo.ref ?? <span className="muted">the default branch</span>}</dd>
        </div>
        <div>
          <dt>Commit</dt>
          <dd>
            {repo.commit !== null ? (
              <span className="repo-commit">
                <code title={repo.commit} data-testid="repository-commit">
                  {repo.commit}
                </code>
                <CopyButton text={repo.commit} label="Copy the commit SHA" />
              </span>
            ) : (
              <span className="muted">not cloned yet</span>
            )}
          </dd>
        </div>
      </dl>
      {clone.status === 'cloning' && (
        <div className="env-repo-clone" data-testid="repository-clone" role="status">
          {clone.percent !== null && (
            <Meter label={`${env.name}: cloning`} value={clone.percent} max={100} text={`${clone.percent}%`} />
          )}
          <span className="muted small">{cloneText(clone, true)}</span>
        </div>
      )}
      {clone.status === 'pending' && env.state !== 'failed' && (
        <p className="muted small" data-testid="repository-clone">
          Cloned once the guest is up.
        </p>
      )}
      {clone.status === 'error' && (
        <div className="banner banner-fail" role="alert" data-testid="repository-clone-error">
          <strong>The clone failed.</strong> git said:
          <pre className="repo-git-error">{clone.error ?? 'nothing (no message)'}</pre>
        </div>
      )}
    </section>
  );
}
