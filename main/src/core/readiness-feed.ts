import type { Verdict } from '#protocol';
import type { ConnectionManager } from './connection.js';

export interface Readiness {
  verdict: Verdict;
  reason: string;
}

/**
 * The host readiness verdict for the tray: read from /v1/host on every connect, then kept from
 * hearthd's `readiness` events (which carry verdict and reason), unknown while disconnected.
 */
export class ReadinessFeed {
  private readonly unsubscribe: Array<() => void> = [];
  private generation = 0;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly onChange: (readiness: Readiness | undefined) => void,
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.connection.onStatus((status) => {
        const generation = ++this.generation;
        if (status.state !== 'connected') {
          this.onChange(undefined);
          return;
        }
        this.connection.client.call('getHost').then(
          // A readiness event or a disconnect since this call started is newer than its answer.
          ({ verdict, reason }) => generation === this.generation && this.onChange({ verdict, reason }),
          () => undefined, // The connection manager reports why hearthd did not answer.
        );
      }),
      this.connection.onEvent((event) => {
        if (event.type !== 'readiness') return;
        this.generation++;
        this.onChange({ verdict: event.verdict, reason: event.reason });
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
