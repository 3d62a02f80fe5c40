import { join } from 'node:path';
import type { CredentialKind } from '#protocol';
import type { Logger } from '../../log.js';
import { CredentialStore, type StoredCredential } from './credential-store.js';
import { HostKeyStore } from './host-key-store.js';
import { OwnerFiles } from './owner-files.js';
import { ProfileStore } from './profile-store.js';

/** Everything hearthd keeps per owner about repository access, under `<state>/repositories/<uid>/`. */
export class RepositoryStore {
  readonly credentials: CredentialStore;
  readonly profiles: ProfileStore;
  readonly hostKeys: HostKeyStore;

  constructor(stateDir: string, log: Logger) {
    const files = new OwnerFiles(join(stateDir, 'repositories'), log);
    this.credentials = new CredentialStore(files);
    this.profiles = new ProfileStore(files);
    this.hostKeys = new HostKeyStore(files);
  }

  /** The owner's credential of `kind` for `credentialHost` (host[:port]), secret included: in-process use only. */
  credentialFor(ownerUid: number, credentialHost: string, kind: CredentialKind): Promise<StoredCredential | undefined> {
    return this.credentials.credentialFor(ownerUid, credentialHost, kind);
  }

  /** The host keys `credentialHost` may present to this owner ("type base64" lines): the guest's known_hosts. */
  pinnedHostKeys(ownerUid: number, credentialHost: string): Promise<string[]> {
    return this.hostKeys.pinnedHostKeys(ownerUid, credentialHost);
  }
}
