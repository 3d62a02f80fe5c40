#!/usr/bin/env node
// Runs before `npm test`: says exactly what to install when something the tests need is
// missing, instead of letting a test fail obscurely. No dependencies: it must run before npm ci.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One row per external program the test suite drives for real. */
const PROGRAMS = [
  { bin: 'qemu-system-x86_64', apt: 'qemu-system-x86', why: 'hearthd detects and runs QEMU' },
  { bin: 'qemu-img', apt: 'qemu-utils', why: 'environment disks are qcow2 overlays' },
  { bin: 'curl', apt: 'curl', why: 'a test calls hearthd as another user (setpriv + curl)' },
  // npm ci compiles nothing (koffi's npm package carries its Linux binary); a test compiles its fixture.
  {
    bin: 'cc',
    apt: 'gcc',
    why: 'the caller-identity test compiles its setuid-root fixture (a program that becomes uid 0 and calls hearthd)',
  },
  {
    bin: 'python3',
    apt: 'python3',
    why: 'the caller-identity tests run it; the hearth tests give it a pseudo-terminal',
  },
  { bin: 'chromium', apt: 'chromium', why: "the e2e specs drive the renderer in Debian's Chromium" },
  { bin: 'systemd-analyze', apt: 'systemd', why: 'the hearthd unit is checked with systemd-analyze verify' },
  { bin: 'systemd-sysusers', apt: 'systemd', why: 'the install script creates the hearth group and user' },
  { bin: 'systemd-tmpfiles', apt: 'systemd', why: 'the install script creates /run/hearth' },
  { bin: 'setfacl', apt: 'acl', why: 'the install script grants socket access with an ACL' },
  { bin: 'getfacl', apt: 'acl', why: 'the install-script tests read those ACLs' },
  { bin: 'gpasswd', apt: 'passwd', why: 'the install script adds the user to the hearth group' },
  {
    bin: 'useradd',
    apt: 'passwd',
    why: 'the GUI specs create the hearth group and a member (hearth-e2e) to run the browser bridge as',
  },
  { bin: 'setpriv', apt: 'util-linux', why: "installer progress is written with the caller's identity" },
  { bin: 'getent', apt: 'libc-bin', why: 'the GUI specs look up their hearth member and group' },
  { bin: 'gpgv', apt: 'gpgv', why: 'hearthd checks the signed checksum lists of catalog images with gpgv' },
  { bin: 'gpg', apt: 'gnupg', why: 'the catalog tests sign a fake image site with a key they generate' },
  { bin: 'mkfs.ext4', apt: 'e2fsprogs', why: 'the test guest has an ext4 base disk' },
  { bin: 'debugfs', apt: 'e2fsprogs', why: 'tests read the guest disk from the host' },
  { bin: 'apt-get', apt: 'apt', why: 'the test guest is built from Debian packages' },
  {
    bin: 'debootstrap',
    apt: 'debootstrap',
    why: 'hearthd build-image and the installed-unit test bootstrap Debian trees',
  },
  { bin: 'flock', apt: 'util-linux', why: 'the local image build runs one at a time per machine' },
  {
    bin: 'mkfs.fat',
    apt: 'dosfstools',
    why: "hearthd makes each environment's cloud-init seed (a FAT image); the local image's boot test too",
  },
  { bin: 'mtools', apt: 'mtools', why: 'hearthd copies the seed files into that FAT image without mounting it' },
  {
    bin: 'sshd',
    apt: 'openssh-server',
    why: "the test Git server (helper/test/support/git-server) serves SSH clones with a real sshd; the SSH agent's test logs in through one",
  },
  {
    bin: 'git',
    apt: 'git',
    why: 'the test Git server runs git http-backend and git-shell; the repository tests clone with git',
  },
  { bin: 'ssh-keygen', apt: 'openssh-client', why: "hearthd generates each guest's SSH host keys" },
  { bin: 'git', apt: 'git', why: 'hearthd checks repository access with git ls-remote (as its git user)' },
  { bin: 'ssh', apt: 'openssh-client', why: 'git reaches SSH repositories through ssh in those checks' },
  {
    bin: 'ssh-keyscan',
    apt: 'openssh-client',
    why: "an access check shows an SSH Git host's unknown or changed key for confirmation",
  },
  { bin: 'blkid', apt: 'util-linux', why: "the seed tests read the seed's label" },
  { bin: 'systemd-nspawn', apt: 'systemd-container', why: 'the installed-unit test boots real systemd in a container' },
  { bin: 'nsenter', apt: 'util-linux', why: 'the installed-unit test runs commands inside that container' },
  { bin: 'nft', apt: 'nftables', why: "hearthd's NAT and isolation rules; the network tests read them" },
  { bin: 'dnsmasq', apt: 'dnsmasq-base', why: 'hearthd serves DHCP and DNS to guests with dnsmasq' },
  { bin: 'ip', apt: 'iproute2', why: 'the bridge and TAPs; the network tests build namespaces' },
  { bin: 'bridge', apt: 'iproute2', why: "hearthd turns learning off on guests' TAPs and pins each guest's MAC" },
  { bin: 'openssl', apt: 'openssl', why: "the catalog's redirect test makes an https certificate" },
  { bin: 'tar', apt: 'tar', why: "install-cloud-hypervisor extracts CLOUDHV.fd from Debian's package" },
  { bin: 'xz', apt: 'xz-utils', why: 'that package is xz-compressed' },
  { bin: 'dpkg-deb', apt: 'dpkg', why: 'the Cloud Hypervisor install test builds a firmware package' },
  {
    bin: 'busybox',
    apt: 'busybox-static',
    why: "the network and devenv tests' fake guests and web server run busybox (udhcpc, ping, httpd)",
  },
];

/** Packages the readiness report probes, installed so CI sees a full machine; and PyYAML, which reads the seed as cloud-init does. */
const PROBED_PACKAGES = ['nftables', 'dnsmasq-base', 'kmod', 'iproute2', 'python3-yaml'];

/** Files (not programs) the tests need, and the package that provides each. */
const FILES = [
  {
    path: '/usr/include/stdio.h',
    apt: 'libc6-dev',
    why: "that fixture's C library headers (gcc only recommends them)",
  },
  {
    path: '/usr/share/keyrings/debian-archive-keyring.gpg',
    apt: 'debian-archive-keyring',
    why: 'hearthd build-image has debootstrap check the archive against it',
  },
];

// The programs named here, one a line: helper/test/prerequisites.test.ts checks that every program
// the code and the tests execute is among them.
if (process.argv.includes('--programs')) {
  process.stdout.write(`${PROGRAMS.map((p) => p.bin).join('\n')}\n`);
  process.exit(0);
}

// `.ci/run` installs exactly what this file asks for: one list, no second copy to forget.
if (process.argv.includes('--apt-packages')) {
  const packages = [...PROGRAMS.map((p) => p.apt), ...FILES.map((f) => f.apt), ...PROBED_PACKAGES];
  process.stdout.write(`${[...new Set(packages)].join('\n')}\n`);
  process.exit(0);
}

const problems = [];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  problems.push(`Node.js ${process.versions.node} is too old; Hearth needs 20.19 or newer.`);
}
if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  problems.push('Dependencies are not installed. Run: npm ci');
}

const path = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
const found = (bin) =>
  path.some((dir) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const missing = PROGRAMS.filter((p) => !found(p.bin));
const missingFiles = FILES.filter((f) => !existsSync(f.path));
if (missing.length || missingFiles.length) {
  const isDebian = existsSync('/etc/debian_version');
  const pkgs = [...new Set([...missing, ...missingFiles].map((p) => p.apt))].join(' ');
  for (const p of missing) problems.push(`${p.bin} is missing (${p.why}).`);
  for (const f of missingFiles) problems.push(`${f.path} is missing (${f.why}).`);
  problems.push(
    isDebian
      ? `Install with: sudo apt-get install -y --no-install-recommends ${pkgs}`
      : `Install the equivalents of the Debian packages: ${pkgs}`,
  );
}

if (problems.length) {
  process.stderr.write(`npm test cannot run yet:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
