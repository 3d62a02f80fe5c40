import { parseRepositoryUrl } from '#protocol';
import type { AccessChecker } from '../repositories/check/access-checker.js';
import type { RepositoryStore } from '../repositories/store/repository-store.js';
import type { Handlers, RequestContext } from './handlers.js';
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

export interface RepositoryServices {
  repositories: RepositoryStore;
  accessChecker: AccessChecker;
}

/**
 * Everything here is the caller's own: their profile, their credentials, the host keys they trust.
 * Nobody, root included, sees or changes another's (secrets are personal, not the machine's).
 */
async function ownerOf(context: RequestContext): Promise<number> {
  const uid = await context.callerUid();
  if (uid === undefined)
    throw new ApiError('forbidden', 'hearthd cannot tell who is calling, so it keeps repository access to itself');
  return uid;
}

/** Repository access: profile, credentials, access checks and Git host keys. */
export function createRepositoryHandlers(services: RepositoryServices): Pick<Handlers, RepositoryHandlerName> {
  const { repositories, accessChecker } = services;
  return {
    getProfile: async (_, context) => repositories.profiles.get(await ownerOf(context)),
    putProfile: async ({ body }, context) => repositories.profiles.put(await ownerOf(context), body),
    listCredentials: async (_, context) => ({
      credentials: await repositories.credentials.list(await ownerOf(context)),
    }),
    addCredential: async ({ body }, context) => repositories.credentials.add(await ownerOf(context), body),
    deleteCredential: async ({ params }, context) => ({
      credentials: await repositories.credentials.remove(await ownerOf(context), params.id),
    }),
    checkAccess: async ({ body }, context) => {
      // Before anything else, whatever the caller: a URL git could misread never gets further.
      const parsed = parseRepositoryUrl(body.repository);
      if (!parsed.ok)
        throw new ApiError('invalid-request', `repository: ${parsed.reason}`, [
          { path: '/repository', message: parsed.reason },
        ]);
      return accessChecker.check(await ownerOf(context), parsed.location, body.ref);
    },
    listGitHostKeys: async (_, context) => ({ hostKeys: await repositories.hostKeys.list(await ownerOf(context)) }),
    confirmGitHostKey: async ({ body }, context) => ({
      hostKeys: await repositories.hostKeys.confirm(await ownerOf(context), body.host, body.publicKey),
    }),
  };
}
