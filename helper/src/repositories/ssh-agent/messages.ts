import { SshReader, WireError } from './wire.js';

/**
 * The message numbers of the agent protocol (draft-miller-ssh-agent, now RFC 9987, §6.1) that
 * this agent answers or refuses by name, and the one kind of data it agrees to sign.
 */
export const MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
} as const;

/** Requests that would change what the agent holds: it holds only hearthd's key, so all are refused. */
export const KEY_MANAGEMENT: ReadonlySet<number> = new Set([
  MSG.ADD_IDENTITY,
  MSG.REMOVE_IDENTITY,
  MSG.REMOVE_ALL_IDENTITIES,
  MSG.ADD_SMARTCARD_KEY,
  MSG.REMOVE_SMARTCARD_KEY,
  MSG.LOCK,
  MSG.UNLOCK,
  MSG.ADD_ID_CONSTRAINED,
  MSG.ADD_SMARTCARD_KEY_CONSTRAINED,
]);

export const SESSION_BIND = 'session-bind@openssh.com';

/** RFC 4252 §7's SSH_MSG_USERAUTH_REQUEST. */
const USERAUTH_REQUEST = 50;
/**
 * The two methods a public-key signature authenticates: plain `publickey`, and OpenSSH's
 * `publickey-hostbound-v00@openssh.com` (8.9+, used whenever the server offers it), which also
 * names the server's host key inside the signed data.
 */
const PUBLICKEY = 'publickey';
const PUBLICKEY_HOSTBOUND = 'publickey-hostbound-v00@openssh.com';

export interface UserauthRequest {
  sessionId: Buffer;
  algorithm: string;
  keyBlob: Buffer;
  /** The server's host key, when the method is host-bound; null for plain `publickey`. */
  hostKey: Buffer | null;
}

/**
 * The data of a sign request read as the user-authentication request an SSH client signs (RFC
 * 4252 §7), or null when it is anything else — an `ssh-keygen -Y` signature, a challenge, a
 * request that merely starts like one. Strict: every field in place, nothing after the last.
 */
export function parseUserauthRequest(data: Buffer): UserauthRequest | null {
  try {
    const reader = new SshReader(data);
    const sessionId = reader.string();
    if (reader.byte() !== USERAUTH_REQUEST) return null;
    reader.string(); // the user name: the Git host's business (`git`), not the agent's
    if (reader.text() !== 'ssh-connection') return null;
    const method = reader.text();
    if (method !== PUBLICKEY && method !== PUBLICKEY_HOSTBOUND) return null;
    if (!reader.boolean()) return null;
    const algorithm = reader.text();
    const keyBlob = reader.string();
    const hostKey = method === PUBLICKEY_HOSTBOUND ? reader.string() : null;
    reader.end();
    return { sessionId, algorithm, keyBlob, hostKey };
  } catch (error) {
    if (error instanceof WireError) return null;
    throw error;
  }
}
