import type { HearthdLogEntry, IpcError, SubscriptionEvent, TopicRequest } from '#protocol';
import { api, call } from '../../hearth.js';
import type { LineInput, LogBuffer, Source } from './log-buffer.js';

/**
 * Which log a viewer shows. An environment's console or its hearthd event log, or hearthd's own
 * log (admins: all of it; members: the entries about their own environments).
 */
export type LogFeed = { kind: 'environment'; id: string; source: 'console' | 'events' } | { kind: 'hearthd' };

/** How many lines a viewer asks for when it opens (the contract allows up to 10,000). */
export const INITIAL_TAIL = 5_000;

export const sourceOf = (feed: LogFeed): Source => (feed.kind === 'hearthd' ? 'hearthd' : feed.source);

/** A hearthd entry as a line: its own time and level, and the environment it is about. */
export function entryLine(entry: HearthdLogEntry): LineInput {
  const about = entry.environment ? `[${entry.environment.name}] ` : '';
  return { text: `${about}${entry.msg}`, time: Date.parse(entry.time), level: entry.level, source: 'hearthd' };
}

/**
 * A line of an environment's event log is one JSON object {time, event, message}: shown as
 * "event  message" with hearthd's time. Anything else (a torn line) is shown as it came.
 */
export function eventLine(raw: string, arrived: number): LineInput {
  try {
    const parsed = JSON.parse(raw) as { time?: unknown; event?: unknown; message?: unknown };
    if (typeof parsed.event === 'string' && typeof parsed.message === 'string') {
      const time = typeof parsed.time === 'string' ? Date.parse(parsed.time) : NaN;
      return {
        text: `${parsed.event}  ${parsed.message}`,
        time: Number.isNaN(time) ? arrived : time,
        source: 'events',
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { text: raw, time: arrived, source: 'events' };
}

export interface FeedStatus {
  state: 'connecting' | 'live' | 'ended';
  error?: IpcError | { message: string };
}

/**
 * Follows one feed into a buffer. Items are matched to the subscription by id; those that
 * arrive before `subscribe` has answered (the browser bridge carries events and answers on
 * different connections) are held and replayed. `resume` re-subscribes without the tail, so
 * lines already shown are not shown twice.
 */
export class FeedFollower {
  private id: string | undefined;
  private early = new Map<string, SubscriptionEvent[]>();
  private stopListening: (() => void) | undefined;
  private stopped = false;
  status: FeedStatus = { state: 'connecting' };
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly feed: LogFeed,
    private readonly buffer: LogBuffer,
  ) {}

  start(tail = INITIAL_TAIL): void {
    this.stopped = false;
    this.stopListening ??= api().on('subscription', (event) => this.onEvent(event));
    this.setStatus({ state: 'connecting' });
    const subscription =
      this.feed.kind === 'hearthd'
        ? call('subscribe', { topic: 'hearthdLog', request: { query: { tail } } satisfies TopicRequest<'hearthdLog'> })
        : call('subscribe', {
            topic: 'logs',
            request: { params: { id: this.feed.id }, query: { tail, source: this.feed.source } },
          });
    subscription.then(
      ({ id }) => {
        if (this.stopped) {
          void call('unsubscribe', { id }).catch(() => undefined);
          return;
        }
        this.id = id;
        this.setStatus({ state: 'live' });
        const held = this.early.get(id) ?? [];
        this.early.clear();
        for (const event of held) this.onEvent(event);
      },
      (error: unknown) => {
        this.setStatus({
          state: 'ended',
          error: (error as { error?: IpcError }).error ?? { message: String(error) },
        });
      },
    );
  }

  resume(): void {
    this.start(0);
  }

  stop(): void {
    this.stopped = true;
    this.stopListening?.();
    this.stopListening = undefined;
    if (this.id !== undefined) void call('unsubscribe', { id: this.id }).catch(() => undefined);
    this.id = undefined;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onEvent(event: SubscriptionEvent): void {
    if (this.id === undefined) {
      // Not ours yet, or not ours at all: keep a bounded few until the answer says which.
      if (this.stopped || this.early.size > 64) return;
      const held = this.early.get(event.id) ?? [];
      held.push(event);
      this.early.set(event.id, held);
      return;
    }
    if (event.id !== this.id) return;
    if (event.kind === 'end') {
      this.id = undefined;
      this.setStatus({ state: 'ended', ...(event.error && { error: event.error }) });
      return;
    }
    const now = Date.now();
    const item = event.item;
    if (item.type === 'entries') this.buffer.append(item.entries.map(entryLine));
    else if (this.feed.kind === 'environment' && this.feed.source === 'events')
      this.buffer.append(item.lines.map((line) => eventLine(line, now)));
    else this.buffer.appendTexts(item.lines, 'console', now);
  }

  private setStatus(status: FeedStatus): void {
    this.status = status;
    for (const listener of this.listeners) listener();
  }
}
