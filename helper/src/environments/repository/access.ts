import type { GuestSession } from '../../guest/session.js';
import type { Logger } from '../../log.js';
import type { StoredRepository } from '../record.js';

/** The public facts about the owner's access to a repository host that the guest is configured with. */
export interface GuestFacts {
  hostKeys: string[];
  caCertificate: string | null;
  gitName: string | null;
  gitEmail: string | null;
}

/**
 * hearthd's side of an environment's repository access, wired by the daemon from the owner's
 * credential store: what the guest may know (public facts), and the answers hearthd gives the
 * guest's credential helper and relayed SSH agent through the guest session — for that owner,
 * that repository's host and path, and nothing else.
 */
export interface RepositoryAccess {
  guestFacts(owner: number | null, repository: StoredRepository): Promise<GuestFacts>;
  /** Starts answering the guest's credential and agent streams; returns how to stop. */
  serve(session: GuestSession, owner: number | null, repository: StoredRepository, log: Logger): () => void;
  /** Where the guest's credential helper and agent socket are (the agent puts them there). */
  guestPaths: { credentialHelper: string; sshAgentSocket: string };
}
