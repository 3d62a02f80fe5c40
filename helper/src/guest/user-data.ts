import { stringify } from 'yaml';
import type { HostKey } from '#protocol';
import { GUEST_USER } from './account.js';
import { AGENT_PATH, AGENT_SCRIPT, AGENT_UNIT_PATH } from './agent-script.js';
import { CREDENTIAL_HELPER_PATH, CREDENTIAL_HELPER_SCRIPT } from './credential-helper-script.js';
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

/** sshd reads its drop-ins first (Debian 12, Ubuntu 22.04+), and the first value of a setting wins. */
export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/50-hearth.conf';
export const SSHD_SETTINGS =
  '# Written by Hearth: keys only.\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n';

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
  const runcmd: string[][] = [];
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
    // No password logins, from the first start of sshd: a drop-in written in cloud-init's first
    // stage (sshd starts after it). Not `ssh_pwauth: false`: that edits sshd_config in the config
    // stage and restarts sshd — after the agent may have reported it listening, so a client
    // connecting at `running` could be refused.
    write_files: [{ path: SSHD_DROP_IN, owner: 'root:root', permissions: '0644', content: SSHD_SETTINGS }],
    // Delete whatever keys the image came with, install hearthd's, and generate no others: the
    // keys the API reports are then the only ones the guest has.
    ssh_deletekeys: true,
    ssh_keys: sshKeys,
    ssh_genkeytypes: Object.keys(sshKeys).length ? [] : [...HOST_KEY_TYPES],
    // The class's disk is larger than the image's: grow the partition (if any) and the filesystem.
    growpart: { mode: 'auto', devices: ['/'] },
    resize_rootfs: true,
    bootcmd: [agentBootCommand()],
    ...(runcmd.length ? { runcmd } : {}),
  };
}

/** The transient unit bootcmd starts the agent as, on images that have none baked in. */
export const AGENT_BOOT_UNIT = 'hearth-agent.service';

/**
 * bootcmd runs at every boot in cloud-init's first networked stage (before the user, its key and
 * sshd exist, so the agent sees them appear), where runcmd would wait for the last stage, after
 * multi-user.target. It runs before write_files, so it writes the agent itself (the script is its
 * `$1`, git's credential helper `$2`: cloud-init quotes each word of a list, nothing is pasted
 * into shell text), then starts it
 * as a transient unit: no unit file, no daemon-reload (seconds under TCG). Without default
 * dependencies, or the unit would wait for sysinit.target, which waits for this very stage.
 * An image with the agent baked in (its unit file exists: local builds, and guests a Hearth
 * before bootcmd provisioned) starts its own at sysinit, and this does nothing.
 */
function agentBootCommand(): string[] {
  const dir = AGENT_PATH.slice(0, AGENT_PATH.lastIndexOf('/'));
  // set -e: a step that fails fails the bootcmd, and cloud-init's error names it.
  const script = [
    'set -e',
    `[ -e ${AGENT_UNIT_PATH} ] && exit 0`,
    'umask 022',
    `mkdir -p ${dir}`,
    `printf '%s' "$1" > ${AGENT_PATH}.new && chmod 0755 ${AGENT_PATH}.new && mv -f ${AGENT_PATH}.new ${AGENT_PATH}`,
    `printf '%s' "$2" > ${CREDENTIAL_HELPER_PATH}.new && chmod 0755 ${CREDENTIAL_HELPER_PATH}.new && ` +
      `mv -f ${CREDENTIAL_HELPER_PATH}.new ${CREDENTIAL_HELPER_PATH}`,
    `exec systemd-run --no-block --unit=${AGENT_BOOT_UNIT} --description='Hearth guest agent' ` +
      `-p DefaultDependencies=no -p Restart=always -p RestartSec=2 /usr/bin/python3 ${AGENT_PATH}`,
  ].join('\n');
  return ['sh', '-c', script, 'hearth-agent-boot', AGENT_SCRIPT, CREDENTIAL_HELPER_SCRIPT];
}
