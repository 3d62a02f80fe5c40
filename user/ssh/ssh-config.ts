import type { Environment } from '#protocol';
import { configPath, type SshPaths } from './paths.js';

/**
 * The Hearth-owned ssh_config and known_hosts, rendered from hearthd's environment list. Pure:
 * the same list gives the same bytes, so a sync that changes nothing writes nothing.
 *
 * Every value lands in a file ssh parses, so each is checked against a strict pattern first; an
 * environment with a value that does not fit is left out rather than written half-escaped.
 */

const NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST = /^(\d{1,3}\.){3}\d{1,3}$|^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const ALIAS = /^hearth-env-[0-9a-f]{12}$/;
const HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]{16,8192}={0,3}$/;

export const HOST_SUFFIX = '.hearth';

interface Entry {
  name: string;
  host: string;
  user: string;
  port: number;
  alias: string;
  hostKeys: string[];
}

/** The environments the user can SSH into: their own, with an address and SSH details that fit. */
export function sshEntries(environments: readonly Environment[], uid: number | null): Entry[] {
  const entries: Entry[] = [];
  for (const env of environments) {
    const ssh = env.ssh;
    // An admin sees everyone's environments; only their own accept this user's key.
    if (ssh === null || (uid !== null && env.owner.uid !== uid)) continue;
    const fits =
      NAME.test(env.name) &&
      HOST.test(ssh.host) &&
      USER.test(ssh.user) &&
      ALIAS.test(ssh.hostKeyAlias) &&
      Number.isInteger(ssh.port) &&
      ssh.port >= 1 &&
      ssh.port <= 65535;
    if (!fits) continue;
    entries.push({
      name: env.name,
      host: ssh.host,
      user: ssh.user,
      port: ssh.port,
      alias: ssh.hostKeyAlias,
      hostKeys: ssh.hostKeys.map((k) => k.publicKey.trim()).filter((k) => HOST_KEY.test(k)),
    });
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

export function renderSshConfig(entries: readonly Entry[], paths: SshPaths): string {
  const lines = [
    '# Written by Hearth from the environments hearthd reports; rewritten whenever they change.',
    '# Do not edit. To override a setting for one environment, put a "Host <name>.hearth" block',
    '# above the Include line in ~/.ssh/config: ssh keeps the first value it finds.',
  ];
  for (const e of entries) {
    lines.push(
      '',
      `Host ${e.name}${HOST_SUFFIX}`,
      `  HostName ${e.host}`,
      `  User ${e.user}`,
      `  Port ${e.port}`,
      `  IdentityFile ${configPath(paths.key)}`,
      '  IdentitiesOnly yes',
      // known_hosts is keyed by the environment's id, not its name or address: a name deleted
      // and created again, or an address reused, is a new host with its own keys.
      `  HostKeyAlias ${e.alias}`,
      '  CheckHostIP no',
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile ${configPath(paths.knownHosts)}`,
      // The file is Hearth's and rewritten from the API; ssh must not add to it.
      '  UpdateHostKeys no',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderKnownHosts(entries: readonly Entry[]): string {
  const lines = ['# Written by Hearth: the host keys hearthd generated for each environment, by HostKeyAlias.'];
  for (const e of entries) for (const key of e.hostKeys) lines.push(`${e.alias} ${key}`);
  return `${lines.join('\n')}\n`;
}
