import type { CredentialRequest } from './parse.js';

/**
 * Whether a guest's credential request is for the environment's own repository: HTTPS only (a
 * token is never sent in clear), the exact host with its port, and the repository's own path —
 * git sends the path when `credential.useHttpPath` is set, which the guest sets for every host,
 * so a request without one is for no repository in particular and gets nothing.
 */
export function matchesRepository(
  request: CredentialRequest,
  repo: { /** host[:port], lower-case, no port when 443 */ host: string; path: string },
): boolean {
  if (request.protocol !== 'https' || request.path === null) return false;
  if (normalHost(request.host) !== normalHost(repo.host)) return false;
  const wanted = repositoryPath(repo.path);
  return wanted !== '' && repositoryPath(request.path) === wanted;
}

/** Host names compare case-insensitively; `:443` is https's default and names the same host. */
function normalHost(host: string): string {
  return host.toLowerCase().replace(/:443$/, '');
}

/**
 * `owner/repo`, `owner/repo.git` and `/owner/repo.git` are one repository; `owner/repo/`,
 * `owner/repo.git/x` or `owner/repo.gitx` are not (no trailing junk).
 */
function repositoryPath(path: string): string {
  return path.replace(/^\//, '').replace(/\.git$/, '');
}
