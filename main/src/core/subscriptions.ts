import type { HearthdClient } from '#protocol/client';
import type { IpcError, IpcTopicName, SubscribeRequest, SubscriptionEvent, TopicEvent, TopicRequest } from '#protocol';
import { IpcFailure, toIpcError } from './ipc-router.js';

/**
 * Where a topic's items come from. `open` runs before `subscribe` answers, so a refusal (no such
 * environment) is the call's error; the returned iterable is then drained until it ends or the
 * signal aborts.
 */
export type TopicSource<T extends IpcTopicName> = (
  request: TopicRequest<T>,
  signal: AbortSignal,
) => Promise<AsyncIterable<TopicEvent<T>>>;
export type TopicSources = { [T in IpcTopicName]: TopicSource<T> };

/** The sources the app serves, each over the one shared hearthd client. */
export const hearthdTopics = (client: () => HearthdClient): TopicSources => ({
  logs: async (request, signal) => {
    // hearthd only refuses a follow once the stream opens; asking first makes "no such
    // environment" the subscribe call's own error instead of an immediate end event.
    await client().call('getEnvironment', { params: request.params });
    return client().follow('getEnvironmentLogs', { params: request.params, query: { ...request.query } }, signal);
  },
  // hearthd decides what of its log the caller may see; nothing to ask first.
  hearthdLog: (request, signal) =>
    Promise.resolve(client().follow('getHearthdLog', { query: { ...request.query } }, signal)),
});

/**
 * One topic's subscribe request and item event, for a topic chosen by a type parameter. Indexing
 * these mapped types with a generic `T` keeps request, source and item correlated (TypeScript
 * substitutes `T` into the row), so the dispatch below needs no casts.
 */
type RequestRows = { [T in IpcTopicName]: { topic: T; request: TopicRequest<T> } };
type ItemRows = { [T in IpcTopicName]: { id: string; topic: T; kind: 'item'; item: TopicEvent<T> } };
type ItemMakers = { [T in IpcTopicName]: (id: string, item: TopicEvent<T>) => ItemRows[T] };
/** One row per topic: a literal topic is what lets TypeScript check each item against its topic. */
const itemOf: ItemMakers = {
  logs: (id, item) => ({ id, topic: 'logs', kind: 'item', item }),
  hearthdLog: (id, item) => ({ id, topic: 'hearthdLog', kind: 'item', item }),
};

/** Enough for every window to follow a few logs (and later stats), not enough to exhaust hearthd. */
const MAX_PER_OWNER = 16;

interface Live {
  owner: string;
  abort: AbortController;
}

/**
 * Typed subscriptions over IPC: `subscribe` starts one for its sender, items go out as
 * `subscription` events carrying the id, and a subscription ends when its stream ends, on
 * `unsubscribe`, or when its window goes (`stopOwner`). One mechanism for every topic.
 */
export class SubscriptionHub {
  private readonly live = new Map<string, Live>();
  private next = 1;

  constructor(
    private readonly sources: TopicSources,
    private readonly emit: (event: SubscriptionEvent) => void,
  ) {}

  subscribe(owner: string, request: SubscribeRequest): Promise<string> {
    return this.start(owner, request);
  }

  // T is what ties topic, request, source and items together inside; it is meant to be inferred once.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  private async start<T extends IpcTopicName>(owner: string, { topic, request }: RequestRows[T]): Promise<string> {
    if ([...this.live.values()].filter((s) => s.owner === owner).length >= MAX_PER_OWNER) {
      throw new IpcFailure('failed', `At most ${MAX_PER_OWNER} subscriptions at a time; stop one first.`);
    }
    const id = `sub-${this.next++}`;
    const abort = new AbortController();
    // Counted (and stoppable by stopOwner) from now, not only once its source answers.
    this.live.set(id, { owner, abort });
    const source: TopicSource<T> = this.sources[topic];
    let items: AsyncIterable<TopicEvent<T>>;
    try {
      items = await source(request, abort.signal);
    } catch (error) {
      this.live.delete(id);
      throw error;
    }
    void this.drain(id, topic, items, abort.signal);
    return id;
  }

  unsubscribe(id: string): void {
    this.live.get(id)?.abort.abort();
  }

  /** The window went away (closed, crashed, reloaded): its subscriptions go with it. */
  stopOwner(owner: string): void {
    for (const live of this.live.values()) if (live.owner === owner) live.abort.abort();
  }

  stopAll(): void {
    for (const live of this.live.values()) live.abort.abort();
  }

  get size(): number {
    return this.live.size;
  }

  private async drain<T extends IpcTopicName>(
    id: string,
    topic: T,
    items: AsyncIterable<TopicEvent<T>>,
    signal: AbortSignal,
  ): Promise<void> {
    let error: IpcError | undefined;
    try {
      for await (const item of items) {
        if (signal.aborted) break;
        const make: ItemMakers[T] = itemOf[topic];
        this.emit(make(id, item));
      }
    } catch (caught) {
      if (!signal.aborted) {
        error = toIpcError(caught) ?? {
          source: 'ipc',
          code: 'internal',
          message: caught instanceof Error ? caught.message : String(caught),
        };
      }
    } finally {
      this.live.delete(id);
    }
    this.emit({ id, topic, kind: 'end', ...(error && { error }) });
  }
}
