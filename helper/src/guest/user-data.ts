import { stringify } from 'yaml';
import type { HostKey } from '#protocol';
import { GUEST_USER } from './account.js';
import { AGENT_PATH, AGENT_SCRIPT, AGENT_UNIT, AGENT_UNIT_PATH } from './agent-script.js';
import { HOST_KEY_TYPES, keyTypeOf, type HostKeyType } from './host-keys.js';

/**
 * The three files of a NoCloud seed, built as data and serialised by the `yaml` package: no
 * value is ever pasted into YAML text, so a field cannot add keys or documents. Every value comes
 * from the environment's validated spec (its id, DNS-label name, MAC pattern, SSH key pattern)
 * or from hearthd itself (the agent, the host keys it generated).
 */
export interface SeedFiles {
  'meta-data': string;
  'network-config': string;
  'user-data': string;
}

export interface SeedInput {
  /** The environment the seed is for: its id, DNS-label name, NIC's MAC and keys. */
  spec: { id: string; name: string; network?: { mac: string }; sshPublicKey?: string; hostKeys?: HostKey[] };
  /** The private halves hearthd generated (host-keys.ts), by type. */
  hostPrivateKeys: Partial<Record<HostKeyType, string>>;
  /** Test-only (`--test-provision-fail`): a last step that fails, so cloud-init reports an error. */
  failingStep?: boolean;
}

/** What the failing test step prints; the test finds it in cloud-init's error. */
export const TEST_FAILURE_TEXT = 'hearth test: this provisioning step fails on purpose';

/**
 * cloud-init reads YAML 1.1 (PyYAML), where `52:54:00:46:03:37` is a base-60 integer and `yes`
 * a boolean: written as 1.1, every such string is quoted and stays a string.
 */
const yaml = (value: unknown) => stringify(value, { lineWidth: 0, version: '1.1' });

export function seedFiles(input: SeedInput): SeedFiles {
  const { spec } = input;
  // The instance id never changes for an environment: cloud-init runs its once-per-instance
  // modules (users, host keys) at the first boot only, however often the seed is rebuilt.
  const metaData = { 'instance-id': spec.id, 'local-hostname': spec.name };
  // Matched by MAC, so the name the kernel gives the NIC does not matter. Without a network
  // (no network component yet) the guest has no NIC, and the seed names none.
  const networkConfig = {
    version: 2,
    ethernets: spec.network ? { primary: { match: { macaddress: spec.network.mac }, dhcp4: true, dhcp6: false } } : {},
  };
  return {
    'meta-data': yaml(metaData),
    'network-config': yaml(networkConfig),
    'user-data': `#cloud-config\n${yaml(userData(input))}`,
  };
}

function userData({ spec, hostPrivateKeys, failingStep }: SeedInput): Record<string, unknown> {
  const sshKeys: Record<string, string> = {};
  for (const key of spec.hostKeys ?? []) {
    const type = keyTypeOf(key.type);
    const secret = type && hostPrivateKeys[type];
    if (!type || !secret) continue;
    sshKeys[`${type}_private`] = secret;
    sshKeys[`${type}_public`] = key.publicKey;
  }
  // Local builds start the agent they have baked in at boot; a cloud image gets it here (enable
  // reloads systemd itself: a second reload costs seconds under TCG, in the last stage).
  const runcmd: string[][] = [
    ['sh', '-c', 'systemctl is-active --quiet hearth-agent.service || systemctl enable --now hearth-agent.service'],
  ];
  if (failingStep) runcmd.push(['sh', '-c', `echo '${TEST_FAILURE_TEXT}' >&2; exit 3`]);
  return {
    users: [
      {
        name: GUEST_USER,
        gecos: 'Hearth developer',
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: spec.sshPublicKey ? [spec.sshPublicKey] : [],
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    // Delete whatever keys the image came with, install hearthd's, and generate no others: the
    // keys the API reports are then the only ones the guest has.
    ssh_deletekeys: true,
    ssh_keys: sshKeys,
    ssh_genkeytypes: Object.keys(sshKeys).length ? [] : [...HOST_KEY_TYPES],
    // The class's disk is larger than the image's: grow the partition (if any) and the filesystem.
    growpart: { mode: 'auto', devices: ['/'] },
    resize_rootfs: true,
    // Local builds have the agent baked in at the same path; writing it again is harmless and
    // keeps one way of provisioning for every image.
    write_files: [
      { path: AGENT_PATH, owner: 'root:root', permissions: '0755', content: AGENT_SCRIPT },
      { path: AGENT_UNIT_PATH, owner: 'root:root', permissions: '0644', content: AGENT_UNIT },
    ],
    runcmd,
  };
}
