import type { Duplex } from 'node:stream';
import { parseRepositoryUrl } from '#protocol';
import type { GuestSession } from '../../guest/session.js';
import type { Logger } from '../../log.js';
import {
  matchesRepository,
  serveGitCredential,
  type CredentialAnswerer,
  type CredentialRequest,
} from '../../repositories/git-credential/index.js';
import { hostKeyBlob, loadSshKey, serveSshAgent, type AgentPolicy } from '../../repositories/ssh-agent/index.js';
import { PLACEHOLDER_USERNAME } from '../../repositories/check/access-checker.js';
import type { RepositoryStore } from '../../repositories/store/repository-store.js';
import type { StoredRepository } from '../record.js';
import type { GuestFacts, RepositoryAccess } from './access.js';

/**
 * Repository access from the owner's store. Every answer is looked up when the guest asks, so a
 * credential removed is refused at once and one replaced is used from the next request; and it
 * is only ever the environment owner's, for the repository's own host (and, over HTTPS, its own
 * path) — whatever the guest names in its request.
 */
export class RepositoryAccessService implements RepositoryAccess {
  constructor(
    private readonly store: RepositoryStore,
    readonly guestPaths: RepositoryAccess['guestPaths'],
  ) {}

  async guestFacts(owner: number | null, repository: StoredRepository): Promise<GuestFacts> {
    if (owner === null) return { hostKeys: [], caCertificate: null, gitName: null, gitEmail: null };
    const [hostKeys, token, profile] = await Promise.all([
      repository.transport === 'ssh' ? this.store.pinnedHostKeys(owner, repository.credentialHost) : [],
      this.store.credentialFor(owner, repository.credentialHost, 'token'),
      this.store.profiles.get(owner),
    ]);
    return {
      hostKeys,
      caCertificate: token?.kind === 'token' ? token.caCertificate : null,
      gitName: profile.gitName,
      gitEmail: profile.gitEmail,
    };
  }

  serve(session: GuestSession, owner: number | null, repository: StoredRepository, log: Logger): () => void {
    const stops = [
      session.serve('git-credential', (stream: Duplex) =>
        serveGitCredential(stream, this.answerer(owner, repository), log),
      ),
      session.serve('ssh-agent', (stream: Duplex) => {
        this.agentPolicy(owner, repository).then(
          (policy) => serveSshAgent(stream, policy, log),
          (error: unknown) => {
            log.warn({ err: error }, 'the relayed SSH agent could not be prepared; the connection is closed');
            stream.destroy();
          },
        );
      }),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private answerer(owner: number | null, repository: StoredRepository): CredentialAnswerer {
    return async (request) => {
      const host = this.hostFor(request, repository);
      if (!host) return { refused: "the request is not for the environment's repository or a host granted to it" };
      if (owner === null) return { refused: 'the environment has no known owner' };
      const credential = await this.store.credentialFor(owner, host, 'token');
      if (credential?.kind !== 'token') return { refused: `the owner has no token for ${host}` };
      const user = host === repository.credentialHost ? parseRepositoryUrl(repository.url) : undefined;
      return {
        username: credential.username ?? (user?.ok ? user.location.user : null) ?? PLACEHOLDER_USERNAME,
        password: credential.token,
      };
    };
  }

  /**
   * The host whose token answers `request`: the repository's own (over HTTPS, for its own path),
   * or a host the create granted (any path on it, HTTPS only); else none.
   */
  private hostFor(request: CredentialRequest, repository: StoredRepository): string | undefined {
    if (
      repository.transport === 'https' &&
      matchesRepository(request, { host: repository.credentialHost, path: repository.path })
    )
      return repository.credentialHost;
    if (request.protocol !== 'https') return undefined;
    const asked = request.host.toLowerCase().replace(/:443$/, '');
    return repository.grantHosts?.find((granted) => granted === asked);
  }

  private async agentPolicy(owner: number | null, repository: StoredRepository): Promise<AgentPolicy> {
    if (owner === null || repository.transport !== 'ssh') return { key: null, hostKeys: [] };
    const [credential, pinned] = await Promise.all([
      this.store.credentialFor(owner, repository.credentialHost, 'ssh-key'),
      this.store.pinnedHostKeys(owner, repository.credentialHost),
    ]);
    return {
      key: credential?.kind === 'ssh-key' ? loadSshKey(credential.privateKeyPem) : null,
      hostKeys: pinned.map((line) => hostKeyBlob(line).blob),
    };
  }
}
