import type { Handlers } from './handlers.js';
import { ApiError } from './api-error.js';

type RepositoryHandlerName =
  | 'getProfile'
  | 'putProfile'
  | 'listCredentials'
  | 'addCredential'
  | 'deleteCredential'
  | 'checkAccess'
  | 'listGitHostKeys'
  | 'confirmGitHostKey';

const notYet = () => Promise.reject(new ApiError('unavailable', 'Repository access is not available in this build'));

/** Repository access: profile, credentials, access checks and Git host keys. */
export function createRepositoryHandlers(): Pick<Handlers, RepositoryHandlerName> {
  return {
    getProfile: notYet,
    putProfile: notYet,
    listCredentials: notYet,
    addCredential: notYet,
    deleteCredential: notYet,
    checkAccess: notYet,
    listGitHostKeys: notYet,
    confirmGitHostKey: notYet,
  };
}
