import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanSource, scanTable, TABLES, type Found } from './support/program-scan.js';

/**
 * Every program the code and the tests execute is a named prerequisite: `npm test` starts with
 * scripts/check-prerequisites.mjs, which tells a new machine what to install, and a program it does
 * not name fails later, obscurely (`env: 'busybox': No such file or directory`).
 */

const REPO = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['helper', 'main', 'cli', 'user', 'e2e', 'scripts', 'bench'];

/**
 * Programs executed but deliberately not prerequisites, each with why. Shell builtins and the
 * base system every Debian has (coreutils, util-linux's mount, passwd's tools) are not packages a
 * user could lack; the others are optional or only probed.
 */
const NOT_PREREQUISITES: Record<string, string> = {
  sh: 'the shell, in every base system',
  bash: 'the shell, in every base system',
  cat: 'coreutils: in every base system',
  cp: 'coreutils: in every base system',
  chmod: 'coreutils: in every base system',
  chroot: 'coreutils: in every base system',
  df: 'coreutils: in every base system',
  du: 'coreutils: in every base system',
  env: 'coreutils: in every base system',
  id: 'coreutils: in every base system',
  ls: 'coreutils: in every base system',
  mkdir: 'coreutils: in every base system',
  mkfifo: 'coreutils: in every base system',
  mknod: 'coreutils: in every base system',
  rm: 'coreutils: in every base system',
  touch: 'coreutils: in every base system',
  readlink: 'coreutils: in every base system',
  stat: 'coreutils: in every base system',
  hearth:
    "Hearth's own command (dist/cli/hearth.cjs), installed by the install script; run inside the installed-unit container",
  zsh: "optional: the completion test checks hearth's zsh script where zsh is installed, and says it skipped otherwise",
  fish: "optional: the completion test checks hearth's fish script where fish is installed, and says it skipped otherwise",
  find: 'findutils: in every base system',
  mount: 'util-linux: in every base system',
  umount: 'util-linux: in every base system',
  unshare: 'util-linux: in every base system',
  groupadd: 'passwd: in every base system (useradd, named, brings it)',
  groupdel: 'passwd: in every base system (useradd, named, brings it)',
  usermod: 'passwd: in every base system (useradd, named, brings it)',
  'dpkg-query': 'dpkg: in every Debian base system',
  git: 'the repository is a git clone; tests list its files and find its main checkout with it',
  node: 'the test runner itself',
  npm: 'the test runner itself',
  which: 'debianutils: in every base system; the installed-unit test probes the container with it',
  systemctl: 'runs inside the systemd-nspawn container (systemd, named), never on the host',
  journalctl: 'runs inside the systemd-nspawn container (systemd, named), never on the host',
  'dbus-send': "the tray's optional desktop notification: absent on servers, and never run by tests",
  'rsvg-convert': 'npm run icons only, a maintainer step outside npm test (librsvg2-bin)',
  iptables: "hearthd's host report probes for it and says it is optional; nothing runs it",
  'cloud-hypervisor': 'not packaged anywhere: the tests run the contract double in its place',
  'mkfs.vfat': 'the same program as mkfs.fat (dosfstools, named)',
  mcopy: 'mtools (named) provides it',
  ssh: 'openssh-client (named for ssh-keygen) provides it',
  'ssh-keyscan': 'openssh-client (named for ssh-keygen) provides it',
  'apt-cache': 'apt (named for apt-get) provides it',
  zstd: 'the test guest build decompresses .ko.zst only on kernels that use it; Debian 12 uses xz (named)',
  ss: 'iproute2 (named for ip) provides it',
};

function sourceFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', ...SCANNED], {
    cwd: REPO,
    encoding: 'utf8',
  });
  return listed.split('\n').filter((f) => /\.(ts|tsx|mts|mjs|cjs|js)$/.test(f));
}

function executed(): Found[] {
  const found: Found[] = [];
  for (const file of sourceFiles()) found.push(...scanSource(file, readFileSync(join(REPO, file), 'utf8')));
  for (const table of TABLES) found.push(...scanTable(join(REPO, table.file), table.name, table.take));
  return found.map((f) => ({ ...f, where: relative(REPO, resolve(REPO, f.where)) }));
}

function named(): Set<string> {
  const out = execFileSync(process.execPath, [join(REPO, 'scripts', 'check-prerequisites.mjs'), '--programs'], {
    encoding: 'utf8',
  });
  return new Set(out.split('\n').filter(Boolean));
}

describe('prerequisites', () => {
  it('names every program the code and the tests execute', () => {
    const found = executed();
    const programs = named();
    const unnamed = found.filter((f) => !programs.has(f.program) && !(f.program in NOT_PREREQUISITES));
    const byProgram = new Map<string, string[]>();
    for (const f of unnamed) byProgram.set(f.program, [...(byProgram.get(f.program) ?? []), f.where]);
    expect(Object.fromEntries(byProgram)).toEqual({});
    // The scan sees the programs it must, so an empty answer above means something.
    const seen = new Set(found.map((f) => f.program));
    for (const program of ['ip', 'nft', 'dnsmasq', 'busybox', 'setpriv', 'qemu-img', 'gpgv', 'mkfs.fat', 'nsenter'])
      expect(seen, program).toContain(program);
  });

  it('allows nothing it does not need: each exception is a program something executes', () => {
    const seen = new Set(executed().map((f) => f.program));
    expect(Object.keys(NOT_PREREQUISITES).filter((p) => !seen.has(p))).toEqual([]);
  });

  it('reads programs where code runs them', () => {
    const code = [
      "execa('alpha', ['x']);",
      "spawn('/usr/bin/beta', [a]);",
      "await findExecutable(host, 'gamma');",
      "inNs(ns, ['delta', 'arg']);",
      "run('ip', ['netns', 'exec', ns, 'epsilon', '-x']);",
      "const as = ['setpriv', `--reuid=${uid}`, '--clear-groups', 'zeta', 'y'];",
      "m.exec(['nsenter', '-t', pid, '-m', '--', 'eta']);",
      "call('getEnvironment', { params });", // not a program: no argument array
    ].join('\n');
    expect(scanSource('probe.ts', code).map((f) => f.program)).toEqual([
      'alpha',
      'beta',
      'gamma',
      'delta',
      'ip',
      'epsilon',
      'zeta',
      'nsenter',
      'eta',
    ]);
  });
});
