import { randomBytes, X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { AddCredential, Credential, CredentialKind } from '#protocol';
import { DomainError } from '../../errors.js';
import type { OwnerFiles } from './owner-files.js';
import { keyComment } from './key-comment.js';
import { generateSshKey } from '../ssh-agent/index.js';

const CheckRecord = Type.Object({
  code: Type.String(),
  message: Type.String(),
  repository: Type.Union([Type.String(), Type.Null()]),
  at: Type.String(),
});

const Common = {
  id: Type.String({ pattern: '^cred-[0-9a-f]{12}$' }),
  host: Type.String(),
  createdAt: Type.String(),
  lastCheck: Type.Union([CheckRecord, Type.Null()]),
};

/** A credential as hearthd keeps it, secret included (`credentials.json`, 0600, root's). */
const StoredCredential = Type.Union([
  Type.Object({
    ...Common,
    kind: Type.Literal('token'),
    token: Type.String(),
    username: Type.Union([Type.String(), Type.Null()]),
    caCertificate: Type.Union([Type.String(), Type.Null()]),
  }),
  Type.Object({
    ...Common,
    kind: Type.Literal('ssh-key'),
    /** Unencrypted OpenSSH format (ssh-agent/keys.ts): ssh reads it as it is, the relayed agent with loadSshKey. */
    privateKeyPem: Type.String(),
    publicKey: Type.String(),
    fingerprint: Type.String(),
  }),
]);
export type StoredCredential = Static<typeof StoredCredential>;
export type StoredTokenCredential = Extract<StoredCredential, { kind: 'token' }>;
export type StoredSshKeyCredential = Extract<StoredCredential, { kind: 'ssh-key' }>;

const CredentialsFile = Type.Object({ credentials: Type.Array(StoredCredential) });
const FILE = 'credentials';

/** What the API may show of a credential: never the token or the private key. */
export function publicView(credential: StoredCredential): Credential {
  const lastCheck = credential.lastCheck as Credential['lastCheck'];
  if (credential.kind === 'token')
    return {
      id: credential.id,
      host: credential.host,
      kind: 'token',
      username: credential.username,
      publicKey: null,
      fingerprint: null,
      caCertificate: credential.caCertificate !== null,
      createdAt: credential.createdAt,
      lastCheck,
    };
  return {
    id: credential.id,
    host: credential.host,
    kind: 'ssh-key',
    username: null,
    publicKey: credential.publicKey,
    fingerprint: credential.fingerprint,
    caCertificate: false,
    createdAt: credential.createdAt,
    lastCheck,
  };
}

/** Every certificate in a PEM bundle must parse: a wrong paste is refused now, not as a TLS failure later. */
function checkCaCertificates(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    for (const block of blocks) new X509Certificate(block);
  } catch {
    throw new DomainError('invalid', 'The CA certificate is not a PEM certificate (or one of them is not)');
  }
}

/**
 * Repository credentials per owner: at most one per (host, kind). Only the owner's own are ever
 * read or changed through here (root included: secrets are personal, not the machine's).
 */
export class CredentialStore {
  constructor(private readonly files: OwnerFiles) {}

  private async all(uid: number): Promise<StoredCredential[]> {
    return (await this.files.read(uid, FILE, CredentialsFile, { credentials: [] })).credentials;
  }

  async list(uid: number): Promise<Credential[]> {
    return (await this.all(uid)).map(publicView);
  }

  /** Adds one, replacing the owner's credential of that kind for that host. */
  add(uid: number, input: AddCredential): Promise<Credential> {
    if (input.kind === 'token' && input.caCertificate !== undefined) checkCaCertificates(input.caCertificate);
    return this.files.exclusive(uid, async () => {
      const common = {
        id: `cred-${randomBytes(6).toString('hex')}`,
        host: input.host,
        createdAt: new Date().toISOString(),
        lastCheck: null,
      };
      let created: StoredCredential;
      if (input.kind === 'token') {
        created = {
          ...common,
          kind: 'token',
          token: input.token,
          username: input.username ?? null,
          caCertificate: input.caCertificate ?? null,
        };
      } else {
        const key = generateSshKey(await keyComment(uid, input.host));
        created = { ...common, kind: 'ssh-key', ...key };
      }
      const kept = (await this.all(uid)).filter((c) => !(c.host === input.host && c.kind === input.kind));
      await this.files.write(uid, FILE, { credentials: [...kept, created] });
      return publicView(created);
    });
  }

  remove(uid: number, id: string): Promise<Credential[]> {
    return this.files.exclusive(uid, async () => {
      const all = await this.all(uid);
      const kept = all.filter((c) => c.id !== id);
      if (kept.length === all.length) throw new DomainError('not-found', `You have no credential ${id}`);
      await this.files.write(uid, FILE, { credentials: kept });
      return kept.map(publicView);
    });
  }

  /** The owner's credential for a host, secret included: for hearthd's own use, never an answer. */
  async credentialFor(uid: number, host: string, kind: CredentialKind): Promise<StoredCredential | undefined> {
    return (await this.all(uid)).find((c) => c.host === host && c.kind === kind);
  }

  /** Remembers what the last check with this credential found (kept when the credential is gone). */
  recordCheck(uid: number, id: string, check: NonNullable<Credential['lastCheck']>): Promise<void> {
    return this.files.exclusive(uid, async () => {
      const all = await this.all(uid);
      const found = all.find((c) => c.id === id);
      if (!found) return;
      found.lastCheck = check;
      await this.files.write(uid, FILE, { credentials: all });
    });
  }
}
