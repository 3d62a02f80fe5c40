import { sign } from 'node:crypto';
import { verifyHostSignature } from './host-signature.js';
import { fingerprintOf, type AgentKey } from './keys.js';
import { KEY_MANAGEMENT, MSG, parseUserauthRequest, SESSION_BIND } from './messages.js';
import { SshReader, SshWriter } from './wire.js';

export interface AgentPolicy {
  /** The one key offered: the owner's key for the repository's host (ed25519, hearthd generated it). */
  key: AgentKey | null;
  /** The repository host's pinned host keys (SSH wire-format blobs); a session bound to any other key is refused. */
  hostKeys: Buffer[];
}

/** What one request came to: the reply to send, and, when refused, why (for the log; never the data). */
export interface Outcome {
  reply: Buffer;
  refused: string | null;
  /** What was granted, for an info line: a bind or a signature (an audit trail of the key's use). */
  granted?: string;
  /** Fields that help the log say what was refused: fingerprints only, never data. */
  detail?: Record<string, string>;
}

/** OpenSSH caps session identifiers at 128 bytes; exchange hashes are 20 to 64. */
const MAX_SESSION_ID = 128;
const ED25519 = 'ssh-ed25519';

const failure = (refused: string, detail?: Record<string, string>): Outcome => ({
  reply: Buffer.from([MSG.FAILURE]),
  refused,
  ...(detail ? { detail } : {}),
});
const success = (): Outcome => ({ reply: Buffer.from([MSG.SUCCESS]), refused: null });

/**
 * One guest connection to the agent. It offers at most one key, and signs with it only what an SSH
 * client signs to log in to the repository's host: a user-authentication request of the session
 * this connection was bound to, by `session-bind@openssh.com`, with a host key hearthd pinned. So
 * a process in the guest can use the key to reach the Git host — nothing else: not another host,
 * not a host that merely claims the name, not `ssh-keygen -Y sign` over arbitrary data.
 */
export class AgentSession {
  private bound: { hostKey: Buffer; sessionId: Buffer } | null = null;

  constructor(private readonly policy: AgentPolicy) {}

  /** Answers one message (its type byte and contents). Throws WireError when it is malformed. */
  handle(message: Buffer): Outcome {
    const reader = new SshReader(message);
    const type = reader.byte();
    if (type === MSG.REQUEST_IDENTITIES) {
      reader.end();
      return this.identities();
    }
    if (type === MSG.SIGN_REQUEST) {
      const keyBlob = reader.string();
      const data = reader.string();
      reader.uint32(); // flags: they choose RSA's hash; an ed25519 signature has no choice to make
      reader.end();
      return this.signRequest(keyBlob, data);
    }
    if (type === MSG.EXTENSION) {
      const name = reader.text();
      if (name !== SESSION_BIND)
        return failure('an extension this agent does not support', { extension: name.slice(0, 64) });
      const hostKey = reader.string();
      const sessionId = reader.string();
      const signature = reader.string();
      const forwarding = reader.boolean();
      reader.end();
      return this.bind(hostKey, sessionId, signature, forwarding);
    }
    if (KEY_MANAGEMENT.has(type))
      return failure('the agent holds only hearthd’s key: adding, removing and locking keys are refused');
    // The draft's answer to a message an agent does not know.
    return failure('a message type this agent does not answer', { type: String(type) });
  }

  private identities(): Outcome {
    const writer = new SshWriter().byte(MSG.IDENTITIES_ANSWER);
    const key = this.policy.key;
    if (!key) writer.uint32(0);
    else writer.uint32(1).string(key.publicKeyBlob).string(key.comment);
    return { reply: writer.toBuffer(), refused: null };
  }

  private bind(hostKey: Buffer, sessionId: Buffer, signature: Buffer, forwarding: boolean): Outcome {
    const detail = { hostKey: safeFingerprint(hostKey) };
    if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID)
      return failure('a session identifier of an impossible length', detail);
    if (this.bound) {
      // A client binds once per connection; the same bind again changes nothing, any other is refused.
      if (this.bound.hostKey.equals(hostKey) && this.bound.sessionId.equals(sessionId)) return success();
      return failure('this connection is already bound to another session', detail);
    }
    if (forwarding) return failure('a forwarded agent connection: the agent signs only for a direct login', detail);
    if (!this.policy.hostKeys.some((pinned) => pinned.equals(hostKey)))
      return failure('the session is with a host key other than the repository host’s pinned key', detail);
    if (!verifyHostSignature(hostKey, signature, sessionId))
      return failure('the host key’s signature over the session identifier does not verify', detail);
    this.bound = { hostKey: Buffer.from(hostKey), sessionId: Buffer.from(sessionId) };
    return { ...success(), granted: 'bound to a session with the repository host', detail };
  }

  private signRequest(keyBlob: Buffer, data: Buffer): Outcome {
    const key = this.policy.key;
    if (!key) return failure('the agent holds no key for this repository’s host');
    const detail = { key: safeFingerprint(keyBlob) };
    if (!key.publicKeyBlob.equals(keyBlob)) return failure('a key the agent does not hold', detail);
    if (!this.bound)
      return failure('no session bound to the repository host (session-bind@openssh.com) on this connection', detail);
    const request = parseUserauthRequest(data);
    if (!request) return failure('the data is not an SSH user-authentication request', detail);
    if (!request.sessionId.equals(this.bound.sessionId))
      return failure('a user-authentication request of another session than the bound one', detail);
    if (request.algorithm !== ED25519 || !request.keyBlob.equals(key.publicKeyBlob))
      return failure('a user-authentication request for another key or algorithm', detail);
    if (request.hostKey && !request.hostKey.equals(this.bound.hostKey))
      return failure('a host-bound request naming another host key than the bound one', detail);
    const signature = sign(null, data, key.privateKey);
    return {
      reply: new SshWriter()
        .byte(MSG.SIGN_RESPONSE)
        .string(new SshWriter().string(ED25519).string(signature).toBuffer())
        .toBuffer(),
      refused: null,
      granted: 'signed a login to the repository host',
      detail: { ...detail, hostKey: safeFingerprint(this.bound.hostKey) },
    };
  }
}

/** A fingerprint for the log; a blob too malformed to hash still gets a line, with no bytes of it. */
function safeFingerprint(blob: Buffer): string {
  return blob.length > 0 && blob.length <= 16_384 ? fingerprintOf(blob) : `(${blob.length} bytes)`;
}
