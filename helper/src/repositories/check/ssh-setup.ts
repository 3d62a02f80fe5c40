import type { RepositoryLocation } from '#protocol';
import type { StoredSshKeyCredential } from '../store/credential-store.js';
import type { ScratchFile } from './scratch.js';

/**
 * git runs this for SSH, through sh, exactly as written: everything that varies is in the
 * scratch HOME's ssh config, which `-F` names (ssh itself would read the git user's passwd home).
 */
export const SSH_COMMAND = 'ssh -F "$HOME/.ssh/config"';

/** How known_hosts names a host: bare on port 22, `[host]:port` otherwise; IPv6 without its URL brackets. */
export function knownHostsName(location: Pick<RepositoryLocation, 'host' | 'port'>): string {
  const host = location.host.replace(/^\[(.*)\]$/, '$1');
  return location.port === null ? host : `[${host}]:${location.port}`;
}

/** ssh_config quoting: the paths are hearthd's own (no quote or newline can be in them). */
const quoted = (path: string) => `"${path}"`;

/**
 * The scratch HOME's `.ssh/`: a config that offers only this key, never asks, checks the host key
 * strictly against the owner's pinned keys (nothing else: no system file, no agent, no proxy, no
 * multiplexing), plus those keys and the private key. The key is a 0600 file of the git user for
 * the length of the check: ssh cannot reopen a pipe hearthd (root) made once it runs as another
 * uid (`/dev/fd/N` gives EACCES), so a pipe was tried and does not work. The stored key is in
 * OpenSSH's own format already (ssh reads no PKCS#8 ed25519 key).
 */
export function sshScratchFiles(
  home: string,
  location: RepositoryLocation,
  pinnedKeys: string[],
  credential: StoredSshKeyCredential | undefined,
): ScratchFile[] {
  const dir = `${home}/.ssh`;
  const config = [
    'Host *',
    ...(credential ? [`  IdentityFile ${quoted(`${dir}/id_ed25519`)}`] : ['  IdentityFile none']),
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    '  BatchMode yes',
    '  StrictHostKeyChecking yes',
    `  UserKnownHostsFile ${quoted(`${dir}/known_hosts`)}`,
    '  GlobalKnownHostsFile /dev/null',
    '  CheckHostIP no',
    '  UpdateHostKeys no',
    '  HashKnownHosts no',
    '  ConnectTimeout 10',
    '  ServerAliveInterval 10',
    '  ServerAliveCountMax 2',
    '  PasswordAuthentication no',
    '  KbdInteractiveAuthentication no',
    '  ForwardAgent no',
    '  ForwardX11 no',
    '  ProxyCommand none',
    '  ProxyJump none',
    '  ControlMaster no',
    '  ControlPath none',
    '  PermitLocalCommand no',
    '  ClearAllForwardings yes',
    '',
  ].join('\n');
  const name = knownHostsName(location);
  const files: ScratchFile[] = [
    { path: '.ssh/config', content: config },
    { path: '.ssh/known_hosts', content: pinnedKeys.map((key) => `${name} ${key}\n`).join('') },
  ];
  if (credential)
    files.push({
      path: '.ssh/id_ed25519',
      content: credential.privateKeyPem,
    });
  return files;
}
