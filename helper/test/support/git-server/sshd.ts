import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { GIT_USER } from './git-user.js';
import { ServerProcess } from './server-process.js';

/** Where sshd's own files live: all root-owned, none writable by the git user. */
export interface SshdFiles {
  dir: string;
  config: string;
  hostKey: string;
  authorizedKeys: string;
}

export function sshdFiles(dir: string): SshdFiles {
  return {
    dir,
    config: join(dir, 'sshd_config'),
    hostKey: join(dir, 'host_ed25519'),
    authorizedKeys: join(dir, 'authorized_keys'),
  };
}

/** A fresh ed25519 host key (replacing any); its public line, `ssh-ed25519 AAAA…`, without a comment. */
export async function newHostKey(files: SshdFiles): Promise<string> {
  await rm(files.hostKey, { force: true });
  await rm(`${files.hostKey}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', files.hostKey]);
  await chmod(files.hostKey, 0o600);
  const [type, key] = (await readFile(`${files.hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  return `${type} ${key}`;
}

/**
 * A config that owes nothing to /etc/ssh: one listener, one host key, only the git user, by key
 * only, from an authorized_keys file the fixture writes; no TTY, no forwarding of any kind.
 * GIT_PROTOCOL is accepted so clients speak protocol v2 as they do with real hosts.
 */
export async function writeSshdConfig(files: SshdFiles, address: string, port: number): Promise<void> {
  const lines = [
    `ListenAddress ${address.includes(':') ? `[${address}]` : address}:${port}`,
    `HostKey ${files.hostKey}`,
    'PidFile none',
    `AuthorizedKeysFile ${files.authorizedKeys}`,
    `AllowUsers ${GIT_USER}`,
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'PermitRootLogin no',
    'PermitEmptyPasswords no',
    'UsePAM no',
    'StrictModes yes',
    'DisableForwarding yes',
    'PermitTunnel no',
    'PermitTTY no',
    'PermitUserRC no',
    'AcceptEnv GIT_PROTOCOL',
    'LogLevel VERBOSE',
    '',
  ];
  await writeFile(files.config, lines.join('\n'), { mode: 0o644 });
}

/** sshd in the foreground (-D), logging to stderr (-e), up once it says it listens. */
export async function startSshd(files: SshdFiles, netns: string | undefined): Promise<ServerProcess> {
  // Its privilege-separation directory; a machine without a running sshd may lack it.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const { process } = await ServerProcess.start(
    'sshd',
    netns,
    ['/usr/sbin/sshd', '-D', '-e', '-f', files.config],
    { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    (line) => (/^Server listening on /.test(line) ? true : undefined),
  );
  return process;
}
