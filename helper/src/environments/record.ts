import { Type, type Static } from '@sinclair/typebox';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import {
  ClassName,
  Environment,
  EnvironmentId,
  EnvironmentName,
  EnvironmentState,
  EnvironmentRepository,
  EnvironmentVmm,
  GitHost,
  GitRef,
  HostKey,
  ImageName,
  ProvisioningState,
  Resources,
  SshPublicKey,
  Timestamp,
  VmmKind,
} from '#protocol';
import { compileValidator } from '../validate.js';
import { GUEST_USER } from '../guest/account.js';
import { GUEST_DOMAIN, StoredNetwork } from '../network/guest-network.js';
import { addressOf, type Subnet } from '../network/subnet.js';
import { readBounded, UnsafeFileError } from '../system/safe-read.js';

/**
 * `environment.json`, version 3: what the user asked for (spec), what hearthd last saw (status),
 * how to find the VMM (runtime) and what each component keeps (components) are kept apart, and
 * apart from the wire type, so the API can change without rewriting records and an observation
 * can never overwrite a wish.
 */
/**
 * Resources as stored: the API's limits may narrow (diskGiB went from 16 TiB to 4 TiB), but an
 * environment created under the old limit must still load, or hearthd would lose it.
 */
const StoredResources = Type.Object(
  { ...Resources.properties, diskGiB: Type.Integer({ minimum: 1, maximum: 16 * 1024 }) },
  { additionalProperties: false },
);

/** What a create asked to clone, with the parts of its URL hearthd keys credentials and the clone by. */
function StoredRepository() {
  return Type.Object(
    {
      url: Type.String({ maxLength: 2048 }),
      transport: Type.Union([Type.Literal('https'), Type.Literal('ssh')]),
      credentialHost: GitHost,
      path: Type.String({ maxLength: 2048 }),
      directory: Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$' }),
      ref: Type.Union([GitRef, Type.Null()]),
      /** Hosts besides the repository's whose HTTPS token the guest may ask for (the create's grantHosts). */
      grantHosts: Type.Optional(Type.Array(GitHost, { maxItems: 8 })),
    },
    { additionalProperties: false },
  );
}
export type StoredRepository = Static<ReturnType<typeof StoredRepository>>;

/** How the clone went: what the API shows of it besides the spec. */
const RepositoryStatus = Type.Pick(EnvironmentRepository, ['commit', 'clone']);
export type RepositoryStatus = Static<typeof RepositoryStatus>;

/** Spec fields up to version 2, when the network's place and the host keys were kept in the spec. */
const HostKeys = Type.Array(HostKey, { maxItems: 4 });
const V2Only = { network: Type.Optional(StoredNetwork), hostKeys: Type.Optional(HostKeys) };

const Spec = Type.Object(
  {
    id: EnvironmentId,
    name: EnvironmentName,
    owner: Type.Object(
      { uid: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) },
      { additionalProperties: false },
    ),
    class: ClassName,
    image: ImageName,
    resources: StoredResources,
    /** Written only by the user's commands (create, start, stop, delete), never by an observation. */
    desired: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
    autostart: Type.Boolean(),
    createdAt: Timestamp,
    /** The owner's public key, as given at create; it goes into the seed's authorized_keys. */
    sshPublicKey: Type.Optional(SshPublicKey),
    /** The repository to clone into /workspace, as given at create (its URL passed parseRepositoryUrl). */
    repository: Type.Optional(StoredRepository()),
  },
  { additionalProperties: false },
);
export type Spec = Static<typeof Spec>;

/**
 * What each component keeps about the environment, under its own key, written only by that
 * component (components/component.ts): made once (at create) and kept for the environment's
 * life. Each key is optional: environments of images without provisioning have neither.
 */
export const ComponentStates = Type.Object(
  {
    /** The network component: its place on the bridge. */
    network: Type.Optional(StoredNetwork),
    /** The host-keys component: the guest's host public keys (the private halves are files in its directory). */
    hostKeys: Type.Optional(HostKeys),
  },
  { additionalProperties: false },
);
export type ComponentStates = Static<typeof ComponentStates>;

const Status = Type.Object(
  {
    state: EnvironmentState,
    reason: Type.Union([Type.String(), Type.Null()]),
    vmm: Type.Union([EnvironmentVmm, Type.Null()]),
    updatedAt: Timestamp,
    startedAt: Type.Union([Timestamp, Type.Null()]),
    readyAt: Type.Union([Timestamp, Type.Null()]),
    stoppedAt: Type.Union([Timestamp, Type.Null()]),
    /** What the guest's agent last reported about cloud-init (images with provisioning). */
    provisioning: Type.Optional(ProvisioningState),
    /** The clone of the spec's repository: its progress, and the commit once cloned. */
    repository: Type.Optional(RepositoryStatus),
  },
  { additionalProperties: false },
);
export type Status = Static<typeof Status>;

/** How to find and verify a running VMM after a restart of hearthd. */
export const Runtime = Type.Object(
  {
    kind: VmmKind,
    binary: Type.String(),
    version: Type.String(),
    accel: Type.Union([Type.Literal('kvm'), Type.Literal('tcg')]),
    pid: Type.Integer(),
    startTime: Type.Number(),
    /** Console size when the VMM started: the ready marker is looked for after this. */
    consoleOffset: Type.Integer({ minimum: 0 }),
    /** vmm.log size when the VMM started: what it wrote since is its own account of its end. */
    vmmLogOffset: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type Runtime = Static<typeof Runtime>;

export const RECORD_VERSION = 3;
const RecordV3 = Type.Object(
  {
    version: Type.Literal(RECORD_VERSION),
    spec: Spec,
    status: Status,
    runtime: Type.Union([Runtime, Type.Null()]),
    components: ComponentStates,
  },
  { additionalProperties: false },
);
export type EnvironmentRecord = Static<typeof RecordV3>;

/** Version 2 kept the network's place and the host keys in the spec, and had no component states. */
const RecordV2 = Type.Object(
  {
    version: Type.Literal(2),
    spec: Type.Object({ ...Spec.properties, ...V2Only }, { additionalProperties: false }),
    status: Status,
    runtime: Type.Union([Runtime, Type.Null()]),
  },
  { additionalProperties: false },
);

/** Version 1 stored the wire type itself (before `autostart`). */
const RecordV1 = Type.Object(
  {
    version: Type.Literal(1),
    environment: Type.Object(
      { ...Type.Omit(Environment, ['autostart', 'resources']).properties, resources: StoredResources },
      { additionalProperties: false },
    ),
    runtime: Type.Union([Runtime, Type.Null()]),
  },
  { additionalProperties: false },
);

const isV3 = compileValidator(RecordV3);
const isV2 = compileValidator(RecordV2);
const isV1 = compileValidator(RecordV1);

/** Records are small; anything larger was not written by hearthd. */
const RECORD_MAX_BYTES = 64 * 1024;

/** A record as stored today, from any version hearthd has written; undefined if it is not one. */
export function migrate(raw: unknown): EnvironmentRecord | undefined {
  if (isV3(raw)) return raw;
  if (isV2(raw)) {
    const { network, hostKeys, ...spec } = raw.spec;
    return {
      version: RECORD_VERSION,
      spec,
      status: raw.status,
      runtime: raw.runtime,
      components: { ...(network && { network }), ...(hostKeys && { hostKeys }) },
    };
  }
  if (!isV1(raw)) return undefined;
  const { id, name, owner, class: cls, image, resources, desired, createdAt, ...status } = raw.environment;
  return {
    version: RECORD_VERSION,
    components: {},
    spec: { id, name, owner, class: cls, image, resources, desired, autostart: false, createdAt },
    status: {
      state: status.state,
      reason: status.reason,
      vmm: status.vmm,
      updatedAt: status.updatedAt,
      startedAt: status.startedAt,
      readyAt: status.readyAt,
      stoppedAt: status.stoppedAt,
    },
    runtime: raw.runtime,
  };
}

export type LoadResult =
  { kind: 'missing' } | { kind: 'invalid' } | { kind: 'ok'; record: EnvironmentRecord; migrated: boolean };

/**
 * A record that is a link, FIFO, device or directory is not hearthd's: it is invalid (left alone,
 * logged) rather than an error, because one bad record must not keep hearthd from starting.
 */
export async function loadRecord(file: string): Promise<LoadResult> {
  let text: string | undefined;
  try {
    text = await readBounded(file, RECORD_MAX_BYTES);
  } catch (error) {
    if (error instanceof UnsafeFileError) return { kind: 'invalid' };
    throw error;
  }
  if (text === undefined) return { kind: 'missing' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: 'invalid' };
  }
  const record = migrate(raw);
  return record ? { kind: 'ok', record, migrated: record !== raw } : { kind: 'invalid' };
}

/**
 * Atomically, root-only: a crash leaves the old record or the new one, never half of either.
 * Not write-file-atomic: it resolves a symlink at `file` and writes its target, keeping the old
 * file's owner. Here a fresh file (O_EXCL, never through a link) is renamed over the place, so a
 * link there is replaced, not written through, and the record is always hearthd's own.
 */
export async function saveRecord(file: string, record: EnvironmentRecord): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    const handle = await open(temp, flags, 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await handle.chmod(0o600); // whatever the umask
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The environment as the API shows it. */
/** A just-created environment's record: `creating`, nothing observed yet. */
export function newRecord(o: {
  id: string;
  name: string;
  owner: number | null;
  cls: Resources & { name: string };
  image: string;
  desired: Spec['desired'];
  autostart: boolean;
  time: string;
  sshPublicKey?: string;
  repository?: StoredRepository;
}): EnvironmentRecord {
  return {
    version: RECORD_VERSION,
    spec: {
      id: o.id,
      name: o.name,
      owner: { uid: o.owner },
      class: o.cls.name,
      image: o.image,
      resources: { cpus: o.cls.cpus, memoryMiB: o.cls.memoryMiB, diskGiB: o.cls.diskGiB },
      desired: o.desired,
      autostart: o.autostart,
      createdAt: o.time,
      ...(o.sshPublicKey !== undefined && { sshPublicKey: o.sshPublicKey }),
      ...(o.repository && { repository: o.repository }),
    },
    status: {
      state: 'creating',
      reason: null,
      vmm: null,
      updatedAt: o.time,
      startedAt: null,
      readyAt: null,
      stoppedAt: null,
      ...(o.repository && { repository: pendingClone() }),
    },
    runtime: null,
    // Filled by the components' `init` before the record is first saved.
    components: {},
  };
}

/** `subnet`: the bridge's, from settings: an environment's address is its host number in it. */
export function toWire(record: EnvironmentRecord, subnet: Subnet): Environment {
  const { spec, status } = record;
  const { network: place, hostKeys } = record.components;
  const network = place && {
    address: addressOf(subnet, place.host),
    hostname: `${spec.name}.${GUEST_DOMAIN}`,
    mac: place.mac,
    isolated: place.isolated,
  };
  return {
    id: spec.id,
    name: spec.name,
    owner: { ...spec.owner },
    class: spec.class,
    image: spec.image,
    state: status.state,
    reason: status.reason,
    desired: spec.desired,
    autostart: spec.autostart,
    resources: { ...spec.resources },
    vmm: status.vmm && { ...status.vmm },
    createdAt: spec.createdAt,
    updatedAt: status.updatedAt,
    startedAt: status.startedAt,
    readyAt: status.readyAt,
    stoppedAt: status.stoppedAt,
    network: network ?? null,
    ssh:
      network && spec.sshPublicKey && hostKeys
        ? {
            user: GUEST_USER,
            host: network.address,
            port: 22,
            hostKeyAlias: `hearth-${spec.id}`,
            hostKeys,
          }
        : null,
    provisioning: status.provisioning ?? null,
    repository: spec.repository
      ? {
          url: spec.repository.url,
          host: spec.repository.credentialHost,
          directory: `${WORKSPACE}/${spec.repository.directory}`,
          ref: spec.repository.ref,
          grantHosts: [...(spec.repository.grantHosts ?? [])],
          ...(status.repository ?? pendingClone()),
        }
      : null,
  };
}

/** Where repositories are cloned in the guest. */
export const WORKSPACE = '/workspace';

/** A clone that has not begun (or begins again: a failed one is tried anew at the next start). */
export function pendingClone(): RepositoryStatus {
  return { commit: null, clone: { status: 'pending', phase: null, percent: null, error: null } };
}
