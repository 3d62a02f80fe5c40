import { parseRepositoryUrl } from '#protocol';
import { GUEST_USER } from '../../guest/account.js';
import { knownHostsName } from '../../repositories/check/ssh-setup.js';
import { WORKSPACE, type StoredRepository } from '../record.js';
import { mustRunInGuest, runInGuest, type GuestExec } from './guest-exec.js';

/** What the guest's git and ssh are told about the repository's host: public facts only, never a secret. */
export interface GuestGitSetup {
  repository: StoredRepository;
  /** The guest's credential helper (it asks hearthd through the channel; it stores nothing). */
  credentialHelper: string;
  /** The guest's relayed SSH agent socket (hearthd answers; nothing of the key is in the guest). */
  sshAgentSocket: string;
  /** The owner's pinned keys for an SSH host, "type base64". */
  hostKeys: string[];
  /** PEM of the CA the owner gave for this host (self-hosted servers), else null. */
  caCertificate: string | null;
  /** The owner's profile: who commits. */
  gitName: string | null;
  gitEmail: string | null;
}

/** Files Hearth writes in the guest (root-owned, world-readable: public facts). */
export const GUEST_SSH_CONFIG = '/etc/ssh/ssh_config.d/50-hearth-git.conf';
export const GUEST_KNOWN_HOSTS = '/etc/ssh/hearth_known_hosts';
export const GUEST_CA_DIR = '/usr/local/share/hearth/git-ca';

/**
 * Configures the guest, as root, for the repository's host only: git asks the credential helper
 * (HTTPS), never follows a redirect, trusts the owner's CA for that host; ssh uses the relayed
 * agent and the pinned host keys, strictly. Every value goes in as its own argument or as file
 * content on stdin — nothing is pasted into shell text. Run before every clone; idempotent.
 */
export async function configureGuestGit(guest: GuestExec, s: GuestGitSetup): Promise<void> {
  const root = (argv: string[], what: string, input?: string) =>
    mustRunInGuest(guest, what, { argv, user: 'root' }, input === undefined ? {} : { input });
  const gitConfig = (key: string, value: string) =>
    root(['git', 'config', '--system', '--replace-all', key, value], `git config ${key}`);
  await ensureGit(guest);
  const { repository } = s;
  const parsed = parseRepositoryUrl(repository.url);
  if (!parsed.ok) throw new Error(`the stored repository URL is refused: ${parsed.reason}`);
  const { location } = parsed;
  // The helper is asked with the path, so hearthd answers for this repository and no other; the
  // granted hosts get it too (hearthd answers any path there), and no host follows a redirect.
  const helped = [
    ...(repository.transport === 'https' ? [repository.credentialHost] : []),
    ...(repository.grantHosts ?? []),
  ];
  for (const host of helped) {
    const origin = `https://${host}`;
    await gitConfig(`credential.${origin}.helper`, s.credentialHelper);
    await gitConfig(`credential.${origin}.useHttpPath`, 'true');
    await gitConfig(`http.${origin}/.followRedirects`, 'false');
  }
  if (repository.transport === 'https') {
    const origin = `https://${repository.credentialHost}`;
    if (s.caCertificate) {
      const file = `${GUEST_CA_DIR}/${repository.credentialHost.replace(/[^A-Za-z0-9.-]/g, '_')}.pem`;
      await root(['install', '-d', '-m', '0755', GUEST_CA_DIR], 'making the CA directory');
      await root(['tee', file], 'writing the CA certificate', s.caCertificate);
      await gitConfig(`http.${origin}/.sslCAInfo`, file);
    }
  } else {
    const known = s.hostKeys.map((key) => `${knownHostsName(location)} ${key}\n`).join('');
    await root(['tee', GUEST_KNOWN_HOSTS], 'writing the pinned host keys', known);
    const config = [
      '# Written by Hearth: the repository host, through the relayed agent and its pinned keys only.',
      `Host ${location.host.replace(/^\[(.*)\]$/, '$1')}`,
      `  IdentityAgent ${s.sshAgentSocket}`,
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile ${GUEST_KNOWN_HOSTS}`,
      '  ForwardAgent no',
      '',
    ].join('\n');
    await root(['tee', GUEST_SSH_CONFIG], 'writing the ssh configuration', config);
  }
  if (s.gitName) await gitConfig('user.name', s.gitName);
  if (s.gitEmail) await gitConfig('user.email', s.gitEmail);
  await root(['install', '-d', '-o', GUEST_USER, '-g', GUEST_USER, '-m', '0755', WORKSPACE], `making ${WORKSPACE}`);
}

/**
 * Local images have git; some cloud images (Debian's) do not: then it is installed from the
 * image's own archive, as root, before anything else needs it.
 */
async function ensureGit(guest: GuestExec): Promise<void> {
  const present = await runInGuest(guest, { argv: ['git', '--version'], user: 'root' }).then(
    (run) => run.code === 0,
    () => false,
  );
  if (present) return;
  const apt = { user: 'root', env: { DEBIAN_FRONTEND: 'noninteractive' } };
  await mustRunInGuest(guest, 'apt-get update', { ...apt, argv: ['apt-get', 'update', '-q'] });
  await mustRunInGuest(guest, 'installing git', {
    ...apt,
    argv: ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'git', 'ca-certificates'],
  });
}
