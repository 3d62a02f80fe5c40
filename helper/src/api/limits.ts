import type { Socket } from 'node:net';
import { ApiError } from './api-error.js';

/**
 * How much of hearthd one caller may hold at once. Everyone in group `hearth` may open the
 * socket, so without these a single member could exhaust hearthd's file descriptors and memory
 * (measured: 8,000 event streams were accepted). The per-uid limits leave room for other users
 * when one misbehaves; an app window holds one connection pool and one event stream.
 */
export interface ApiLimits {
  /** Open API connections, all callers together. */
  connections: number;
  /** Open API connections of one uid (callers whose uid is unknown share one bucket). */
  connectionsPerUid: number;
  /** Open server-sent-event streams (`/v1/events`, `…/logs?follow=1`), all callers together. */
  streams: number;
  /** Open server-sent-event streams of one uid. */
  streamsPerUid: number;
  /** A stream whose socket stays full this long (its client reads nothing) is dropped. */
  stallMs: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  connections: 256,
  connectionsPerUid: 64,
  streams: 128,
  streamsPerUid: 32,
  stallMs: 30_000,
};

/** A connection over its limit gets this long to send the request its 429 answers. */
export const REFUSED_CONNECTION_GRACE_MS = 2_000;

export type UidKey = number | 'unknown';
const keyOf = (uid: number | undefined): UidKey => uid ?? 'unknown';
const who = (key: UidKey) => (key === 'unknown' ? 'callers of unknown uid' : `uid ${key}`);

/** Counts held slots in total and per uid. */
export class SlotCounter {
  private total = 0;
  private readonly perUid = new Map<UidKey, number>();

  constructor(
    private readonly totalLimit: number,
    private readonly uidLimit: number,
    /** What is counted, for messages: "API connections", "event streams". */
    private readonly what: string,
    private readonly advice: string,
  ) {}

  get size(): number {
    return this.total;
  }

  /** Takes a slot, or says why not. The returned release is idempotent. */
  tryAcquire(uid: number | undefined): { release: () => void } | { refused: string } {
    const key = keyOf(uid);
    const held = this.perUid.get(key) ?? 0;
    if (this.total >= this.totalLimit)
      return {
        refused: `hearthd already has ${this.total} open ${this.what}, its limit for all users together (${this.totalLimit}); ${this.advice}`,
      };
    if (held >= this.uidLimit)
      return {
        refused: `${who(key)} already has ${held} open ${this.what}, the limit per user (${this.uidLimit}); ${this.advice}`,
      };
    this.total += 1;
    this.perUid.set(key, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        const left = (this.perUid.get(key) ?? 1) - 1;
        if (left > 0) this.perUid.set(key, left);
        else this.perUid.delete(key);
      },
    };
  }

  /** Like tryAcquire, throwing the refusal as a 429. */
  acquire(uid: number | undefined): () => void {
    const slot = this.tryAcquire(uid);
    if ('refused' in slot) throw new ApiError('too-many-requests', slot.refused);
    return slot.release;
  }
}

/**
 * Connection accounting on the server's `connection` event. The total is known at once; the uid
 * only once the kernel has been asked, so a connection over either limit is kept just long enough
 * to answer its first request with a JSON 429 (and `connection: close`) rather than vanishing.
 */
export class ConnectionGate {
  private open = 0;
  private readonly perUid: SlotCounter;
  private readonly refusals = new WeakMap<Socket, Promise<string | undefined>>();

  constructor(
    private readonly limits: ApiLimits,
    private readonly uidOf: (socket: Socket) => Promise<number | undefined>,
  ) {
    // The total is enforced below, before any uid lookup; this counter only does the per-uid part.
    this.perUid = new SlotCounter(Number.MAX_SAFE_INTEGER, limits.connectionsPerUid, 'API connections', ADVICE);
  }

  get size(): number {
    return this.open;
  }

  onConnection(socket: Socket): void {
    this.open += 1;
    let release: (() => void) | undefined;
    let closed = false;
    socket.once('close', () => {
      closed = true;
      this.open -= 1;
      release?.();
    });
    if (this.open > this.limits.connections) {
      const message = `hearthd already has ${this.open - 1} open API connections, its limit for all users together (${this.limits.connections}); ${ADVICE}`;
      this.refuse(socket, Promise.resolve(message));
      return;
    }
    const verdict = this.uidOf(socket).then(
      (uid) => {
        if (closed) return undefined;
        const slot = this.perUid.tryAcquire(uid);
        if ('refused' in slot) return slot.refused;
        release = slot.release;
        return undefined;
      },
      () => undefined,
    );
    this.refusals.set(socket, verdict);
    void verdict.then((refused) => {
      if (refused !== undefined) this.refuse(socket, verdict);
    });
  }

  /** Why this connection's requests are refused, or undefined when it is within the limits. */
  refusal(socket: Socket): Promise<string | undefined> {
    return this.refusals.get(socket) ?? Promise.resolve(undefined);
  }

  private refuse(socket: Socket, message: Promise<string | undefined>): void {
    this.refusals.set(socket, message);
    // A refused connection that never sends a request must not hold its descriptor for long.
    socket.setTimeout(REFUSED_CONNECTION_GRACE_MS, () => socket.destroy());
  }
}

const ADVICE = 'close some and retry (each Hearth window needs one connection and one event stream)';

/** The stream counter with hearthd's messages. */
export function streamCounter(limits: ApiLimits): SlotCounter {
  return new SlotCounter(
    limits.streams,
    limits.streamsPerUid,
    'event streams',
    'close some (each Hearth window follows one event stream; each open log view one more) and retry',
  );
}
