import { createHash } from 'node:crypto';
import type { HostKey } from '#protocol';
import { GUEST_USER } from './account.js';
import { READINESS_AGENT_VERSION, type AgentMessage, type AgentReadiness } from './agent-messages.js';

/** What hearthd expects of this environment's guest: the owner's key and the host keys it made. */
export interface UsableExpectations {
  sshPublicKey?: string | undefined;
  hostKeys?: readonly HostKey[] | undefined;
}

/**
 * When a provisioned guest is usable — the moment its environment turns `running`. Not when
 * cloud-init's last stage ends (it runs after multi-user.target, long after the user, the key
 * and sshd are in place), but when the guest's agent reports facts that, compared with what
 * hearthd expects of this environment, leave nothing missing:
 *
 *  - the developer user exists;
 *  - the owner's key is in its authorized_keys, as sshd would read them (when there is a key);
 *  - something listens on port 22;
 *  - the guest has every host key hearthd made for it (so a strictly checking client connects).
 *
 * The repository cloned into the environment joins this list (a new fact of a newer agent).
 *
 * An agent older than READINESS_AGENT_VERSION reports no facts: then the guest is usable once
 * cloud-init is done, as before. cloud-init's errors fail the environment either way (readiness.ts).
 */
export class UsableJudge {
  /** The agent's announced version; 1 until it announces one (the first agent announced none). */
  agentVersion = 1;
  private facts: AgentReadiness | undefined;
  private readonly ownerKey: string | null;
  private readonly hostKeys: string[];

  constructor(expected: UsableExpectations) {
    this.ownerKey = expected.sshPublicKey ? fingerprintOf(expected.sshPublicKey) : null;
    this.hostKeys = (expected.hostKeys ?? []).map((k) => k.publicKey);
  }

  /** Whether this agent's readiness decides (it reports facts) rather than cloud-init's end. */
  get reportsReadiness(): boolean {
    return this.agentVersion >= READINESS_AGENT_VERSION;
  }

  /**
   * Takes one message; true when it makes the guest usable: facts that leave nothing missing, or,
   * from an agent that reports none, cloud-init done.
   */
  take(message: AgentMessage): boolean {
    if (message.type === 'readiness') {
      this.agentVersion = Math.max(this.agentVersion, message.agent);
      this.facts = message;
      return this.missing().length === 0;
    }
    return !this.reportsReadiness && message.cloudInit === 'done';
  }

  /** What the last facts lack, in words for the journal and a timeout's reason; all of it before any. */
  missing(): string[] {
    const facts = this.facts;
    const needs: Array<[boolean, string]> = [
      [facts?.user === true, `the user ${GUEST_USER}`],
      [
        this.ownerKey === null || (facts?.authorizedKeys.includes(this.ownerKey) ?? false),
        `the owner's key in ${GUEST_USER}'s authorized_keys`,
      ],
      [facts?.sshd === true, 'sshd listening on port 22'],
      [this.hostKeys.every((key) => facts?.hostKeys.includes(key) ?? false), 'the host keys hearthd made'],
    ];
    return needs.filter(([met]) => !met).map(([, what]) => what);
  }
}

/** An OpenSSH public key's SHA256 fingerprint, as `ssh-keygen -l` prints it (and the agent reports). */
export function fingerprintOf(publicKey: string): string {
  const blob = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
