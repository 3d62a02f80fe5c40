import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from './common.js';

export const VmmKind = OneOf(['cloud-hypervisor', 'qemu']);
export type VmmKind = Static<typeof VmmKind>;

export const DetectedVmm = Type.Object(
  {
    kind: VmmKind,
    path: Type.String(),
    version: Type.String(),
  },
  { additionalProperties: false },
);
export type DetectedVmm = Static<typeof DetectedVmm>;

export const VersionInfo = Type.Object(
  {
    hearthd: Type.String({ description: 'hearthd release' }),
    api: Type.Literal('v1'),
    apiRevision: Type.Integer({
      minimum: 1,
      description: 'Bumped on every backwards-compatible addition to v1',
    }),
    vmms: Type.Array(DetectedVmm, { description: 'VMMs found on this machine' }),
  },
  { additionalProperties: false },
);
export type VersionInfo = Static<typeof VersionInfo>;

export const HypervisorSetting = OneOf(['auto', 'cloud-hypervisor', 'qemu'], {
  description: 'Which VMM runs environments; auto prefers Cloud Hypervisor',
});
export const AccelSetting = OneOf(['auto', 'kvm', 'tcg'], {
  description: 'QEMU accelerator; auto uses KVM when it is usable',
});

export const Settings = Type.Object(
  {
    hypervisor: HypervisorSetting,
    accel: AccelSetting,
    heartbeatSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
    readinessIntervalSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
    maxEnvironments: Type.Integer({
      minimum: 1,
      maximum: 10,
      description: 'Environments that may run at once (hard cap 10)',
    }),
    maxEnvironmentsPerOwner: Type.Integer({
      minimum: 1,
      maximum: 64,
      description:
        'Environments (running or not) one user may have, so no one member takes every slot (root is exempt)',
    }),
    minimumMemoryMiB: Type.Integer({
      minimum: 64,
      maximum: 1024 * 1024,
      description: 'Smallest memory an environment class may have (default 2048)',
    }),
    reservedHostMemoryMiB: Type.Integer({
      minimum: 256,
      maximum: 1024 * 1024,
      description: 'Host memory never given to environments (for the desktop and hearthd)',
    }),
    bootTimeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      description: 'How long a starting environment may take to report ready before it is ended as failed',
    }),
    provisionTimeoutSeconds: Type.Integer({
      minimum: 10,
      maximum: 7200,
      description:
        "How long cloud-init may take, from the VMM's start until the guest's agent reports it finished, before the environment is ended as failed",
    }),
    networkSubnet: Type.String({
      pattern:
        '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}/(1[6-9]|2[0-4])$',
      description:
        "The bridge's IPv4 subnet (CIDR, /16 to /24); the bridge takes the first address, environments the rest. One that overlaps an existing route is refused",
    }),
    stopTimeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 600,
      description: 'How long a stop waits after the ACPI power button before killing the VMM',
    }),
  },
  { additionalProperties: false },
);
export type Settings = Static<typeof Settings>;

export const SettingsPatch = Type.Partial(Settings, { additionalProperties: false, minProperties: 1 });
export type SettingsPatch = Static<typeof SettingsPatch>;

export const ConfigView = Type.Object(
  {
    settings: Settings,
    overriddenByFlags: Type.Array(Type.KeyOf(Settings), {
      description:
        'Settings fixed by hearthd command-line flags for this run; changes to them are saved but take effect only without the flag',
    }),
  },
  { additionalProperties: false },
);
export type ConfigView = Static<typeof ConfigView>;

/** Who is asking, as hearthd sees it (the kernel's peer credentials), and what they may change. */
export const CallerInfo = Type.Object(
  {
    uid: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null when the kernel did not say' }),
    admin: Type.Boolean({ description: 'Root or a member of hearth-admin: may change settings, classes and images' }),
  },
  { additionalProperties: false },
);
export type CallerInfo = Static<typeof CallerInfo>;
