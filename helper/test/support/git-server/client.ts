/** What a test's git client needs to talk to the test Git server (see index.ts). */

/**
 * git's environment, built from nothing: run git with it and `extendEnv: false`. This machine
 * exports GIT_SSL_CAINFO (the system bundle), which beats `-c http.sslCAInfo=…`; a global or system
 * config (credential helpers, user.*) would change what is tested.
 */
export function cleanGitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Client',
    GIT_AUTHOR_EMAIL: 'client@hearth.invalid',
    GIT_COMMITTER_NAME: 'Client',
    GIT_COMMITTER_EMAIL: 'client@hearth.invalid',
    ...extra,
  };
}

/** The HTTPS URL with the token as the password (any user name does). */
export function withToken(url: string, token: string): string {
  return url.replace('https://', `https://anyone:${token}@`);
}

/** An ssh command line for GIT_SSH_COMMAND: this key only, no config, strict checking against `knownHosts`. */
export function sshCommand(key: string, knownHosts: string): string {
  return [
    'ssh -F /dev/null',
    `-i ${key}`,
    '-o IdentitiesOnly=yes',
    '-o BatchMode=yes',
    '-o StrictHostKeyChecking=yes',
    `-o UserKnownHostsFile=${knownHosts}`,
    '-o GlobalKnownHostsFile=/dev/null',
  ].join(' ');
}
