/** The bridge hearthd makes; tests run hearthd in network namespaces of their own, so one name serves. */
export const DEFAULT_BRIDGE = 'hearth0';
/**
 * A TAP's name from its environment's id (`env-` + 12 hex): `hth` + the 12 hex digits, 15
 * characters, the kernel's limit. The id is the record's own, validated; the name never comes
 * from a caller.
 */
export function tapName(envId: string): string {
  const match = /^env-([0-9a-f]{12})$/.exec(envId);
  if (!match) throw new Error(`not an environment id: ${envId}`);
  return `hth${match[1]!}`;
}

/** Interface names hearthd made: a TAP, or nothing of its own. */
export const TAP_PATTERN = /^hth[0-9a-f]{12}$/;

/** A bridge name hearthd will use: the kernel's limit and only characters nft and ip read plainly. */
export const BRIDGE_PATTERN = /^[a-z][a-z0-9-]{0,14}$/;
