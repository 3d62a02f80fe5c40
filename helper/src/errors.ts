/**
 * What went wrong, in hearthd's own terms. Domain code throws these; only `api/` decides which
 * HTTP status and wire code a kind becomes, so nothing below `api/` knows it is served over HTTP.
 */
export type ErrorKind =
  /** The thing named does not exist (or is not the caller's to see). */
  | 'not-found'
  /** It exists, but its current state does not allow this now. */
  | 'conflict'
  /** The request names something invalid here (an unknown class, a class that cannot fit). */
  | 'invalid'
  /** A limit says no: capacity, memory, a cap on how many. */
  | 'limit'
  /** The caller may not do this. */
  | 'forbidden'
  /** Something this machine lacks (a VMM, a tool). */
  | 'unavailable'
  /** It was tried and failed; the message says how. */
  | 'failed';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** What the user can do about it, when there is something. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The message of anything thrown, for reasons and logs. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
