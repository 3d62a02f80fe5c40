import { Type, type Static } from '@sinclair/typebox';

/** The DNS domain guests' names live under (`<name>.hearth`). */
export const GUEST_DOMAIN = 'hearth';

/**
 * An environment's place on the bridge, fixed at create so it keeps its address and MAC across
 * restarts: `host` is its offset in the subnet (the bridge is 1), so the address follows a
 * changed subnet. Stored in the environment's record; defined here, by the network that owns it.
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

/**
 * What the network needs of a guest to attach it, and nothing else of the environment: its id
 * (which names the TAP), its name (its DNS label), whose it is, and its place on the bridge.
 */
export interface GuestAttachment {
  /** `env-` + 12 hex digits. */
  id: string;
  /** A DNS label, validated at create. */
  name: string;
  /** Only this user (and root) reaches the guest from the host; only their guests share its names. */
  ownerUid: number;
  mac: string;
  /** Dotted, inside the bridge's subnet (not the network, bridge or broadcast address). */
  address: string;
  isolated: boolean;
}

/** The user a TAP is made for: the VMM user, who alone may open it. */
export interface TapOwner {
  uid: number;
  gid: number;
}

/**
 * Ports of the per-owner DNS answerers on the bridge address: a guest asks port 53, and the
 * rules send it to its owner's answerer, which knows only that owner's names.
 */
export const DNS_PORTS = { first: 15300, last: 16299 } as const;
