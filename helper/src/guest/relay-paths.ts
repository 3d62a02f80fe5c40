/**
 * Where the guest's git and ssh reach hearthd (the agent's relays) and the credential helper git
 * runs: the lead's git and ssh configuration in the guest points at these.
 */
export const RELAY_DIR = '/run/hearth';
export const CREDENTIAL_SOCKET = `${RELAY_DIR}/git-credential.sock`;
export const SSH_AGENT_SOCKET = `${RELAY_DIR}/ssh-agent.sock`;
/** git's `credential.helper` (an absolute path: git runs it as is). */
export const CREDENTIAL_HELPER_PATH = '/usr/local/lib/hearth/git-credential-hearth';

/** The relay sockets, by the stream kind each connection becomes. */
export const RELAY_SOCKETS = [
  { kind: 'git-credential', name: 'git-credential.sock' },
  { kind: 'ssh-agent', name: 'ssh-agent.sock' },
] as const;
