import { createHash } from 'node:crypto';
import type { ImageOs } from '#protocol';
import { AGENT_PATH, AGENT_SCRIPT, AGENT_UNIT, AGENT_UNIT_PATH } from '../../guest/agent-script.js';
import { CREDENTIAL_HELPER_PATH, CREDENTIAL_HELPER_SCRIPT } from '../../guest/credential-helper-script.js';

/**
 * What the local Debian image is made of. Everything that shapes the image is in `Recipe`, and
 * the cache key hashes all of it, so a changed package list, mirror, agent or baked file builds a
 * new image and nothing else does. Package versions are whatever the archive serves on the day of
 * the build (a point release does not rebuild a cached image; a changed recipe or
 * `RECIPE_VERSION` does).
 */

/** Bump when the build steps change in a way the recipe's contents do not show. */
export const RECIPE_VERSION = 1;

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const SECURITY_MIRROR = 'http://deb.debian.org/debian-security';
export const DEFAULT_IMAGE_NAME = 'debian-12-local';
export const SUITE = 'bookworm';
export const IMAGE_OS: ImageOs = { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' };

/** debootstrap has archive signatures checked against this keyring (it skips the check without one). */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * A partitionless disk: the whole /dev/vda is the root filesystem, so cloud-init's resize_rootfs
 * grows it in place once the overlay is grown (no growpart). eth0 (net.ifnames=0): the name the
 * NoCloud network-config and cloud-init's DHCP fallback can rely on whatever the PCI slot.
 * panic=-1: a guest that panics reboots, and a VMM started with -no-reboot exits instead of hanging.
 */
export const IMAGE_CMDLINE = 'root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1';

/** debootstrap --include: enough for a booting systemd; the rest goes in with apt afterwards. */
export const BOOTSTRAP_PACKAGES = ['systemd', 'systemd-sysv', 'udev', 'dbus'] as const;

/**
 * Installed with apt inside the chroot (debootstrap does not resolve cloud-init's dependencies on
 * bookworm), without recommends: each is here for a reason.
 */
export const PACKAGES: ReadonlyArray<{ name: string; why: string }> = [
  { name: 'linux-image-cloud-amd64', why: 'the cloud kernel; installed here so its initrd matches it' },
  { name: 'cloud-init', why: 'provisions the guest from the NoCloud seed' },
  { name: 'openssh-server', why: 'the way in' },
  { name: 'sudo', why: 'the dev user is a sudoer' },
  { name: 'git', why: 'clones the repository' },
  { name: 'ca-certificates', why: 'TLS to Git hosts and package archives' },
  { name: 'python3', why: 'runs the Hearth guest agent' },
  { name: 'ifupdown', why: "cloud-init's network renderer on Debian 12: brings eth0 up" },
  { name: 'isc-dhcp-client', why: 'DHCP for ifupdown' },
  { name: 'iproute2', why: 'cloud-init reads and sets addresses with ip' },
  { name: 'e2fsprogs', why: "resize2fs: cloud-init's resize_rootfs grows / to the class's disk" },
  { name: 'curl', why: 'fetching over HTTP(S) in the environment' },
  { name: 'netbase', why: '/etc/services and /etc/protocols for network tools' },
];

/**
 * Where the build (and later the environment) gets packages: the mirror and, unless there is none
 * (`--security-mirror none`), the security archive. By default Debian's; with a mirror of one's
 * own, only that one unless a security mirror is named too: a machine that reaches only a local
 * mirror must not fail its build on deb.debian.org.
 */
export interface Mirrors {
  mirror: string;
  security: string | null;
}

export function defaultSecurityMirror(mirror: string): string | null {
  return mirror === DEFAULT_MIRROR ? SECURITY_MIRROR : null;
}

/** The image's apt sources (deb822), used by the build's apt runs too. */
export function aptSources({ mirror, security }: Mirrors): string {
  const source = (uri: string, suites: string) =>
    `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: ${DEBIAN_KEYRING}\n`;
  const sources = [source(mirror, `${SUITE} ${SUITE}-updates`)];
  if (security) sources.push(source(security, `${SUITE}-security`));
  return sources.join('\n');
}

/**
 * cloud-init: NoCloud only (hearthd attaches the seed; probing for cloud metadata services would
 * cost time and reach for 169.254.169.254), no growpart (no partition table to grow), and host
 * keys from the seed's ssh_keys (none are baked in). Only the modules Hearth's seed uses
 * (guest/user-data.ts) run: under TCG each other one costs up to seconds of Python on the
 * guest's CPU while it boots (runcmd and scripts-user stay for the steps that belong in the
 * last stage). The locale is C.UTF-8, baked in
 * /etc/default/locale: it is built into libc, where en_US.UTF-8 would need minutes of locale-gen.
 */
export const CLOUD_CFG = `# Written by Hearth's local image build.
datasource_list: [ NoCloud, None ]
growpart:
  mode: "off"
resize_rootfs: true
ssh_deletekeys: true
cloud_init_modules: [ migrator, seed_random, bootcmd, write-files, growpart, resizefs, set_hostname, update_hostname, update_etc_hosts, users-groups, ssh ]
cloud_config_modules: [ set-passwords, runcmd ]
cloud_final_modules: [ scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message, power-state-change ]
`;

/** / is the whole disk; no fsck pass (the kernel mounts it rw from the command line). */
export const FSTAB = '/dev/vda / ext4 defaults,errors=remount-ro 0 0\n';

const HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** A file the build writes into the tree: path inside the image, content, mode. */
export interface BakedFile {
  path: string;
  content: string;
  mode: number;
}

export function bakedFiles(mirrors: Mirrors): BakedFile[] {
  return [
    { path: AGENT_PATH, content: AGENT_SCRIPT, mode: 0o755 },
    { path: AGENT_UNIT_PATH, content: AGENT_UNIT, mode: 0o644 },
    { path: CREDENTIAL_HELPER_PATH, content: CREDENTIAL_HELPER_SCRIPT, mode: 0o755 },
    { path: '/etc/cloud/cloud.cfg.d/90-hearth.cfg', content: CLOUD_CFG, mode: 0o644 },
    { path: '/etc/fstab', content: FSTAB, mode: 0o644 },
    { path: '/etc/hostname', content: 'localhost\n', mode: 0o644 },
    { path: '/etc/hosts', content: HOSTS, mode: 0o644 },
    { path: '/etc/default/locale', content: 'LANG=C.UTF-8\n', mode: 0o644 },
    { path: '/etc/apt/sources.list.d/debian.sources', content: aptSources(mirrors), mode: 0o644 },
    { path: '/etc/apt/sources.list', content: '', mode: 0o644 },
  ];
}

/** The agent is enabled the way systemctl enable would: the WantedBy symlink of its unit. */
export const AGENT_ENABLE_LINK = {
  path: '/etc/systemd/system/sysinit.target.wants/hearth-agent.service',
  target: AGENT_UNIT_PATH,
};

/**
 * Units masked as systemctl mask would (a link to /dev/null). e2scrub_reap removes leftover LVM
 * snapshots of e2scrub runs, of which a VM's single filesystem has none; under TCG it took 15 s
 * of the guest's one CPU at every boot, and multi-user.target (after which cloud-init's last
 * stage runs) waits for it.
 */
export const MASKED_UNITS = ['e2scrub_reap.service'] as const;
const maskLinks = MASKED_UNITS.map((unit) => ({ path: `/etc/systemd/system/${unit}`, target: '/dev/null' }));

export interface Recipe {
  version: number;
  suite: string;
  mirror: string;
  bootstrap: readonly string[];
  packages: readonly string[];
  cmdline: string;
  files: BakedFile[];
  links: Array<{ path: string; target: string }>;
}

/** The security mirror is in the key through the baked sources file, which names it. */
export function recipeFor(mirrors: Mirrors): Recipe {
  return {
    version: RECIPE_VERSION,
    suite: SUITE,
    mirror: mirrors.mirror,
    bootstrap: BOOTSTRAP_PACKAGES,
    packages: PACKAGES.map((p) => p.name),
    cmdline: IMAGE_CMDLINE,
    files: bakedFiles(mirrors),
    links: [AGENT_ENABLE_LINK, ...maskLinks],
  };
}

/** sha256 of the whole recipe: the cache entry's name. */
export function recipeKey(recipe: Recipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}
