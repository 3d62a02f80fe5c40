import type { Environment } from '#protocol';
import type { ConnectionManager } from './connection.js';
import type { TrayEnvironment } from './tray-model.js';

/** What the tray shows of an environment; `deleting` reads as stopping, since the VM is going away. */
export function toTrayEnvironment(environment: Environment): TrayEnvironment {
  return {
    id: environment.id,
    name: environment.name,
    state: environment.state === 'deleting' ? 'stopping' : environment.state,
  };
}

/**
 * Keeps the tray's list of environments in step with hearthd: refetched on every connect and on
 * every `environment` event (events carry the changed environment, but refetching keeps the list
 * right after missed events), emptied while hearthd is out of reach.
 */
export class EnvironmentFeed {
  private readonly unsubscribe: Array<() => void> = [];
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly onChange: (environments: TrayEnvironment[]) => void,
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.connection.onStatus((status) => {
        if (status.state === 'connected') void this.refresh();
        else this.onChange([]);
      }),
      this.connection.onEvent((event) => {
        if (event.type === 'environment') void this.refresh();
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Stops an environment from the tray; hearthd's answer (or refusal) is the caller's to show. */
  async stopEnvironment(id: string): Promise<void> {
    await this.connection.client.call('stopEnvironment', { params: { id } });
  }

  /** One fetch at a time; a change during a fetch triggers exactly one more. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      for (let pass = true; pass; pass = this.takeAgain()) {
        try {
          const { environments } = await this.connection.client.call('listEnvironments');
          this.onChange(environments.map(toTrayEnvironment));
        } catch {
          // Unreachable or refused: the connection manager reports that state; keep the last list.
        }
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }
}
