import { join } from 'node:path';

/** Where the user's side of SSH lives, all under one home (the user's, or a test's temporary one). */
export interface SshPaths {
  home: string;
  /** `~/.config/hearth`: 0700, the user's. */
  dir: string;
  key: string;
  publicKey: string;
  /** The one ssh_config Hearth writes; the user's ~/.ssh/config includes it. */
  config: string;
  knownHosts: string;
  userConfig: string;
}

export function sshPaths(home: string): SshPaths {
  const dir = join(home, '.config', 'hearth');
  return {
    home,
    dir,
    key: join(dir, 'id_ed25519'),
    publicKey: join(dir, 'id_ed25519.pub'),
    config: join(dir, 'ssh_config'),
    knownHosts: join(dir, 'known_hosts'),
    userConfig: join(home, '.ssh', 'config'),
  };
}

/**
 * A path as an ssh_config argument, quoted (homes with spaces exist). ssh expands `~` from the
 * password database, not $HOME, so paths are written out absolute. A quote or a control character
 * cannot be written safely at all; nor can `%`, which IdentityFile reads as a token and Include
 * (OpenSSH 9.2) does not, so no one spelling means the same path in both. Those are refused.
 */
export function configPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  if (/["%\u0000-\u001f\u007f]/.test(path)) {
    throw new Error(`${JSON.stringify(path)} cannot be written into an ssh config (a quote, % or control character)`);
  }
  return `"${path}"`;
}
