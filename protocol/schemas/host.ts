import { Type, type Static } from '@sinclair/typebox';
import { Bytes, OneOf, Timestamp } from './common.js';

export const CheckStatus = OneOf(['pass', 'warn', 'fail']);
export type CheckStatus = Static<typeof CheckStatus>;

export const CheckId = OneOf([
  'arch',
  'cpu-virtualization',
  'kvm-device',
  'kvm-access',
  'kvm-kind',
  'kernel-modules',
  'ip-forwarding',
  'memory',
  'disk',
  'cloud-hypervisor',
  'cloud-hypervisor-firmware',
  'qemu',
  'qemu-img',
  'firewall-tool',
  'ip-tool',
  'dnsmasq',
  'tun-device',
  'vhost-net-device',
  'host-firewall',
  'network-subnet',
]);
export type CheckId = Static<typeof CheckId>;

export const CheckCategory = OneOf(['platform', 'kvm', 'kernel', 'resources', 'hypervisor', 'network']);
export type CheckCategory = Static<typeof CheckCategory>;

export const PackageManager = OneOf(['apt', 'dnf', 'pacman', 'zypper', 'unknown']);
export type PackageManager = Static<typeof PackageManager>;

export const Remedy = Type.Object(
  {
    summary: Type.String({ description: 'What to do, in one sentence' }),
    command: Type.Optional(Type.String({ description: 'The exact command to run, for this distro' })),
  },
  { additionalProperties: false },
);
export type Remedy = Static<typeof Remedy>;

export const ReadinessCheck = Type.Object(
  {
    id: CheckId,
    title: Type.String(),
    category: CheckCategory,
    status: CheckStatus,
    detail: Type.String({ description: 'What was measured' }),
    remedy: Type.Optional(Remedy),
  },
  { additionalProperties: false },
);
export type ReadinessCheck = Static<typeof ReadinessCheck>;

export const Distro = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    version: Type.Optional(Type.String()),
    packageManager: PackageManager,
  },
  { additionalProperties: false },
);
export type Distro = Static<typeof Distro>;

export const Capacity = Type.Object(
  {
    memoryTotalBytes: Bytes,
    memoryAvailableBytes: Bytes,
    runnerReserveBytes: Bytes,
    perEnvironmentBytes: Bytes,
    environments: Type.Integer({
      minimum: 0,
      maximum: 10,
      description: 'How many minimum-size environments fit in available memory (capped at 10)',
    }),
  },
  { additionalProperties: false },
);
export type Capacity = Static<typeof Capacity>;

export const Verdict = OneOf(['ready', 'degraded', 'not-ready']);
export type Verdict = Static<typeof Verdict>;

export const HostReport = Type.Object(
  {
    verdict: Verdict,
    reason: Type.String(),
    checkedAt: Timestamp,
    arch: Type.String(),
    kernel: Type.String(),
    distro: Distro,
    capacity: Capacity,
    disk: Type.Object({ path: Type.String(), freeBytes: Bytes, totalBytes: Bytes }, { additionalProperties: false }),
    checks: Type.Array(ReadinessCheck),
  },
  { additionalProperties: false },
);
export type HostReport = Static<typeof HostReport>;

export const HostQuery = Type.Object(
  {
    fresh: Type.Optional(Type.Boolean({ description: 'Probe the machine now instead of returning the cached report' })),
  },
  { additionalProperties: false },
);
export type HostQuery = Static<typeof HostQuery>;
