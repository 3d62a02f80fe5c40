import { Type, type Static } from '@sinclair/typebox';
import { OneOf, Timestamp } from './common.js';

/**
 * A repository URL, https or ssh (`ssh://git@host/path` or scp-like `git@host:path`). The schema
 * bounds its length and characters; `parseRepositoryUrl` (protocol/repository-url.ts) decides
 * the rest, purely syntactically, on both sides of the API — the form validates in place, hearthd
 * refuses with a 400 naming `repository` before it looks at anything else.
 */
export const RepositoryUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'https://host/owner/repo(.git) or git@host:owner/repo(.git) or ssh://git@host[:port]/owner/repo(.git); no credentials in it',
});

/**
 * A branch, tag or commit. Stricter than git's check-ref-format: no leading `-` (an option),
 * no `..`, no `@{`, nothing but the characters of ordinary names.
 */
export const GitRef = Type.String({
  pattern: '^(?!.*\\.\\.)(?!.*//)(?!.*@\\{)(?!.*\\.lock$)(?!/)(?!.*/$)[A-Za-z0-9_][A-Za-z0-9._/@+-]{0,199}$',
  maxLength: 200,
  description: 'A branch, tag or full commit SHA; default: the remote default branch',
});

/** A Git host as credentials and host keys are keyed: a lower-case host name or IP literal, and a port unless the default. */
export const GitHost = Type.String({
  pattern:
    '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|\\[[0-9a-f:.]{2,45}\\])(:[1-9][0-9]{0,4})?$',
  maxLength: 260,
  description: 'Host name or IP literal as it appears in repository URLs, with :port when not the default',
});

export const CredentialId = Type.String({ pattern: '^cred-[0-9a-f]{12}$' });
export const CredentialParams = Type.Object({ id: CredentialId }, { additionalProperties: false });

export const CredentialKind = OneOf(['token', 'ssh-key'], {
  description: 'token: a personal access token for HTTPS; ssh-key: a key pair hearthd generated for SSH',
});
export type CredentialKind = Static<typeof CredentialKind>;

/** PEM text of one or more CA certificates (self-hosted servers); used for that host only. */
export const CaCertificate = Type.String({
  pattern: '^(-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\r\\n]+-----END CERTIFICATE-----\\s*)+$',
  maxLength: 32_768,
});

export const AccessCheckCode = OneOf(
  [
    'ok',
    'unknown-host',
    'unreachable',
    'auth-refused',
    'repository-not-found',
    'ref-not-found',
    'host-key-unknown',
    'host-key-changed',
    'tls-untrusted',
    'no-credential',
    'timeout',
    'failed',
  ],
  { description: 'What a check of repository access found; each has its own message' },
);
export type AccessCheckCode = Static<typeof AccessCheckCode>;

export const LastCheck = Type.Object(
  {
    code: AccessCheckCode,
    message: Type.String({ maxLength: 2000 }),
    repository: Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]),
    at: Timestamp,
  },
  { additionalProperties: false },
);

/** A credential as the API shows it: never its secret (the token, the private key). */
export const Credential = Type.Object(
  {
    id: CredentialId,
    host: GitHost,
    kind: CredentialKind,
    username: Type.Union([Type.String({ maxLength: 200 }), Type.Null()], {
      description: 'The user name HTTPS sends with the token (Bitbucket, Azure DevOps); null: a placeholder',
    }),
    publicKey: Type.Union([Type.String(), Type.Null()], {
      description: 'ssh-key: the public half to add to the Git host as a deploy or user key',
    }),
    fingerprint: Type.Union([Type.String(), Type.Null()], { description: 'ssh-key: SHA256:… of the public key' }),
    caCertificate: Type.Boolean({ description: 'A CA certificate is kept for this host' }),
    createdAt: Timestamp,
    lastCheck: Type.Union([LastCheck, Type.Null()]),
  },
  { additionalProperties: false },
);
export type Credential = Static<typeof Credential>;

export const CredentialList = Type.Object({ credentials: Type.Array(Credential) }, { additionalProperties: false });
export type CredentialList = Static<typeof CredentialList>;

export const AddCredential = Type.Union([
  Type.Object(
    {
      host: GitHost,
      kind: Type.Literal('token'),
      token: Type.String({
        minLength: 1,
        maxLength: 4096,
        pattern: '^[!-~]+$',
        description: 'The personal access token; write-only: never shown again',
      }),
      username: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._@+-]{1,200}$' })),
      caCertificate: Type.Optional(CaCertificate),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      host: GitHost,
      kind: Type.Literal('ssh-key'),
    },
    { additionalProperties: false },
  ),
]);
export type AddCredential = Static<typeof AddCredential>;

/** An SSH Git host's key, pinned for one owner: preloaded (github.com, gitlab.com, bitbucket.org) or confirmed. */
export const GitHostKey = Type.Object(
  {
    host: GitHost,
    publicKey: Type.String({ description: '"<type> <base64>", as known_hosts holds it' }),
    fingerprint: Type.String({ description: 'SHA256:…' }),
    source: OneOf(['preloaded', 'confirmed']),
    confirmedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);
export type GitHostKey = Static<typeof GitHostKey>;

export const GitHostKeyList = Type.Object({ hostKeys: Type.Array(GitHostKey) }, { additionalProperties: false });
export type GitHostKeyList = Static<typeof GitHostKeyList>;

export const ConfirmGitHostKey = Type.Object(
  {
    host: GitHost,
    publicKey: Type.String({
      pattern: '^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]{16,8192}={0,3}$',
      maxLength: 8300,
      description: 'The key the check offered (its fingerprint was shown to you)',
    }),
  },
  { additionalProperties: false },
);

export const CheckAccess = Type.Object(
  {
    repository: RepositoryUrl,
    ref: Type.Optional(GitRef),
  },
  { additionalProperties: false },
);
export type CheckAccess = Static<typeof CheckAccess>;

export const AccessCheck = Type.Object(
  {
    ok: Type.Boolean(),
    code: AccessCheckCode,
    message: Type.String({ maxLength: 2000 }),
    credentialId: Type.Union([CredentialId, Type.Null()], { description: 'The credential the check used' }),
    defaultBranch: Type.Union([Type.String(), Type.Null()]),
    branches: Type.Array(Type.String(), { maxItems: 500, description: 'Branch names, for suggestions' }),
    ref: Type.Union([Type.String(), Type.Null()], { description: 'The ref asked for, or the default branch' }),
    commit: Type.Union([Type.String({ pattern: '^[0-9a-f]{40}$' }), Type.Null()], {
      description: 'What the ref points at now',
    }),
    hostKey: Type.Union(
      [
        Type.Object(
          { publicKey: Type.String(), fingerprint: Type.String() },
          { additionalProperties: false, description: 'host-key-unknown / -changed: the key the host offered' },
        ),
        Type.Null(),
      ],
      { description: 'For SSH: the key the host offered when it is not the pinned one' },
    ),
  },
  { additionalProperties: false },
);
export type AccessCheck = Static<typeof AccessCheck>;

/** Per-owner settings; the git identity commits in environments are made with. */
export const Profile = Type.Object(
  {
    gitName: Type.Union([
      Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\x00-\\x1f\\x7f<>]+$' }),
      Type.Null(),
    ]),
    gitEmail: Type.Union([
      Type.String({ maxLength: 254, pattern: '^[^\\s@<>\\x00-\\x1f]+@[^\\s@<>\\x00-\\x1f]+$' }),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);
export type Profile = Static<typeof Profile>;

/** The repository of an environment, and how its clone went. */
export const EnvironmentRepository = Type.Object(
  {
    url: Type.String(),
    host: GitHost,
    directory: Type.String({ description: 'Where it is cloned: /workspace/<repo>' }),
    ref: Type.Union([Type.String(), Type.Null()], { description: 'As asked for; null: the default branch' }),
    grantHosts: Type.Array(GitHost, { description: 'Further hosts whose HTTPS token the guest may ask for' }),
    commit: Type.Union([Type.String({ pattern: '^[0-9a-f]{40}$' }), Type.Null()], {
      description: 'HEAD of the clone, once cloned',
    }),
    clone: Type.Object(
      {
        status: OneOf(['pending', 'cloning', 'done', 'error']),
        phase: Type.Union([Type.String({ maxLength: 64 }), Type.Null()], {
          description: "git's current phase (Receiving objects, Resolving deltas, …)",
        }),
        percent: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()]),
        error: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()], { description: "git's error" }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type EnvironmentRepository = Static<typeof EnvironmentRepository>;
