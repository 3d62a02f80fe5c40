/**
 * Every stream kind and the one side that may open it. The guest may open only kinds that serve
 * its own requests (a credential, a signature) — never one that makes hearthd connect anywhere:
 * forwarded ports, when they come, are opened by hearthd. An `open` of a kind its sender may not
 * open is refused with `close{error}` and counted, never acted on.
 *
 * | kind           | opened by | what it carries                                                  |
 * |----------------|-----------|------------------------------------------------------------------|
 * | exec           | hearthd   | a process in the guest: stdin → guest; stdout (fd 1), stderr (fd 2) → hearthd; ends with close{exit} |
 * | git-credential | guest     | one connection to /run/hearth/git-credential.sock: git's credential protocol, answered by hearthd |
 * | ssh-agent      | guest     | one connection to /run/hearth/ssh-agent.sock: the SSH agent protocol, answered by hearthd |
 *
 * Adding a kind: a row here (and in the agent's KINDS), its params schema, and a handler on the
 * side that accepts it.
 */
export const STREAM_KINDS = {
  exec: 'host',
  'git-credential': 'guest',
  'ssh-agent': 'guest',
} as const satisfies Record<string, 'host' | 'guest'>;

export type StreamKind = keyof typeof STREAM_KINDS;
export type GuestOpenedKind = { [K in StreamKind]: (typeof STREAM_KINDS)[K] extends 'guest' ? K : never }[StreamKind];

export const isGuestOpenedKind = (kind: string): kind is GuestOpenedKind =>
  Object.hasOwn(STREAM_KINDS, kind) && STREAM_KINDS[kind as StreamKind] === 'guest';

/** hearthd's streams have even ids, the guest's odd ones: neither can take the other's. */
export const isGuestStreamId = (id: number): boolean => id % 2 === 1;
