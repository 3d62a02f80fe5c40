import { Type, type Static } from '@sinclair/typebox';

/** The DNS domain every guest's name lives under (`<name>.hearth`). */
export const GUEST_DOMAIN = 'hearth';

/**
 * An environment's place on the bridge, fixed at create so it keeps its address and MAC across
 * restarts: `host` is its offset in the subnet (the bridge is 1), so the address follows a
 * changed subnet. The network owns this shape; the environment record stores it.
 */
export const StoredNetwork = Type.Object(
  {
    host: Type.Integer({ minimum: 2, maximum: 65534 }),
    mac: Type.String({ pattern: '^52:54:00(:[0-9a-f]{2}){3}$' }),
    isolated: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type StoredNetwork = Static<typeof StoredNetwork>;

/** What the network needs to know of an environment to put it on the bridge. */
export interface NetworkAttachment {
  id: string;
  name: string;
  owner: { uid: number | null };
  network?: StoredNetwork;
}
