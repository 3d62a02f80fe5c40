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
});

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

  async subscribe(owner: string, { topic, request }: SubscribeRequest): Promise<string> {
    if ([...this.live.values()].filter((s) => s.owner === owner).length >= MAX_PER_OWNER) {
      throw new IpcFailure('failed', `At most ${MAX_PER_OWNER} subscriptions at a time; stop one first.`);
    }
    const id = `sub-${this.next++}`;
    const abort = new AbortController();
    // Counted (and stoppable by stopOwner) from now, not only once its source answers.
    this.live.set(id, { owner, abort });
    let items;
    try {
      items = await this.sources[topic](request, abort.signal);
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

  private async drain(
    id: string,
    topic: IpcTopicName,
    items: AsyncIterable<TopicEvent<IpcTopicName>>,
    signal: AbortSignal,
  ): Promise<void> {
    let error: IpcError | undefined;
    try {
      for await (const item of items) {
        if (signal.aborted) break;
        this.emit({ id, topic, kind: 'item', item });
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
