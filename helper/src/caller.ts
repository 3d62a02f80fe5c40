/**
 * Who is asking, in the two forms hearthd knows. Defined here, below every folder, because the
 * API (which learns it), the environments (which decide what it may do) and hearthd's own log
 * ring (which decides what it may read) all need it.
 */

/** Who is on the other end of an API connection, as the kernel tells it (api/peer.ts reads it). */
export interface PeerIdentity {
  uid: number;
  /** The primary gid (when unambiguous) and the supplementary groups, ascending, no duplicates. */
  gids: number[];
}

/**
 * Who is asking, as the domain judges it. `uid` is null when the kernel could not tell; such a
 * caller may look at nothing and change nothing.
 */
export interface Caller {
  uid: number | null;
  /** Root, or a member of the admin group: may change settings, classes and images. */
  admin: boolean;
}
