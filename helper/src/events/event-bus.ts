import type { HearthEvent } from '#protocol';

type Unsent<E> = E extends HearthEvent ? Omit<E, 'seq' | 'time'> : never;
export type EventInput = Unsent<HearthEvent>;
export type Listener = (event: HearthEvent) => void;

/**
 * In-process fan-out of hearthd's events. Published events are numbered 1, 2, 3… per run, so
 * a client can spot a gap. A listener that throws is dropped: one bad client cannot stop others.
 */
export class EventBus {
  private seq = 0;
  private readonly listeners = new Set<Listener>();

  publish(input: EventInput): HearthEvent {
    this.seq += 1;
    const event = this.withEnvelope(input);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
    return event;
  }

  /**
   * An event for one client only (such as `hello`): it carries the number of the last published
   * event, so the next one the client sees is `seq + 1`.
   */
  unpublished(input: EventInput): HearthEvent {
    return this.withEnvelope(input);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private withEnvelope(input: EventInput): HearthEvent {
    return { ...input, seq: this.seq, time: new Date().toISOString() };
  }
}
