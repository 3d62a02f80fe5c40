import {
  API_REVISION,
  API_VERSION,
  type ConnectionState,
  type ConnectionStatus,
  type HearthEvent,
  type VersionInfo,
} from '#protocol';
import { HearthdClient, HearthdError, HearthdUnreachableError } from '#protocol/client';
import { HELPER_STATE_MESSAGES, unreachableState } from '../../../user/helper-state.js';
import { compareVersions } from './versions.js';

export interface ConnectionOptions {
  socketPath: string;
  /** The hearthd version this app ships (and would install). */
  bundledVersion: string;
  /** Is hearthd installed on this machine? Decides "not installed" from "stopped" when there is no socket. */
  isInstalled: () => Promise<boolean>;
  /** First retry delay; doubles per failure up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** No event (not even a heartbeat) for this long means the stream is dead. Default: 2.5 × heartbeatSeconds. */
  heartbeatTimeoutMs?: number;
  now?: () => number;
}

type Listener<T> = (value: T) => void;

/**
 * Keeps one live connection to hearthd: checks its version, follows its event stream, and when
 * anything breaks, classifies why (for the UI and the tray) and reconnects with backoff. The
 * event stream is the liveness signal: hearthd heartbeats on it, so silence means a dead link.
 */
export class ConnectionManager {
  private current: ConnectionStatus;
  private readonly statusListeners = new Set<Listener<ConnectionStatus>>();
  private readonly eventListeners = new Set<Listener<HearthEvent>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private streamAbort: AbortController | undefined;
  private attempts = 0;
  private shared: HearthdClient | undefined;
  private heartbeatMs = 15_000;
  private readonly now: () => number;

  constructor(private readonly options: ConnectionOptions) {
    this.now = options.now ?? Date.now;
    this.current = this.make('connecting');
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  onStatus(listener: Listener<ConnectionStatus>): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onEvent(listener: Listener<HearthEvent>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * The one client every call of the app goes through: its pool keeps connections alive between
   * calls and reconnects by itself after hearthd restarts, so nothing opens a pool per call.
   * Streams (events, log follows) still get a connection each, inside the client.
   */
  get client(): HearthdClient {
    this.shared ??= new HearthdClient(this.options.socketPath);
    return this.shared;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.streamAbort?.abort();
    this.wake?.();
    await this.loop;
    const client = this.shared;
    this.shared = undefined;
    await client?.close().catch(() => undefined);
  }

  /** Skip the rest of the backoff and try now (after an install, or when the user asks). */
  reconnectNow(): void {
    this.attempts = 0;
    this.wake?.();
  }

  /** Resolves when `predicate` holds for the status, or rejects after `timeoutMs`. */
  waitFor(predicate: (status: ConnectionStatus) => boolean, timeoutMs: number): Promise<ConnectionStatus> {
    if (predicate(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(`still ${this.current.state} after ${Math.round(timeoutMs / 1000)} s: ${this.current.message}`),
        );
      }, timeoutMs);
      const off = this.onStatus((status) => {
        if (!predicate(status)) return;
        clearTimeout(timer);
        off();
        resolve(status);
      });
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.session(this.client);
      } catch (error) {
        if (!this.isRunning()) break;
        await this.classify(error);
      }
      if (!this.isRunning()) break;
      await this.backoff();
    }
  }

  /** One connected session: version check, then follow events until the stream ends or stalls. */
  private async session(client: HearthdClient): Promise<void> {
    const version = await client.call('getVersion');
    // Typed as v1, but an older or newer hearthd may answer anything: check what it said.
    if ((version.api as string) !== API_VERSION || version.apiRevision < API_REVISION) {
      this.set('version-mismatch', {
        version,
        message: `hearthd ${version.hearthd} speaks API ${version.api} revision ${version.apiRevision}; this app needs ${API_VERSION} revision ${API_REVISION} or newer. Install the helper again to update it.`,
      });
      throw new StayError();
    }
    const config = await client.call('getConfig').catch(() => undefined);
    if (config) this.heartbeatMs = config.settings.heartbeatSeconds * 1000;

    const abort = new AbortController();
    this.streamAbort = abort;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), this.options.heartbeatTimeoutMs ?? this.heartbeatMs * 2.5);
    };
    arm();
    try {
      for await (const event of client.events(abort.signal)) {
        arm();
        if (event.type === 'hello') {
          this.attempts = 0;
          this.set('connected', { version });
        }
        if (event.type === 'config') this.heartbeatMs = event.settings.heartbeatSeconds * 1000;
        for (const listener of this.eventListeners) listener(event);
      }
    } finally {
      clearTimeout(watchdog);
      this.streamAbort = undefined;
    }
    if (!this.isRunning()) return;
    if (abort.signal.aborted) throw new Error('hearthd went silent (no heartbeat)');
    throw new StreamEnded();
  }

  /** Read through a method: stop() flips it while the loop awaits. */
  private isRunning(): boolean {
    return this.running;
  }

  private async classify(error: unknown): Promise<void> {
    // hearthd ended the stream (it is stopping or restarting): the next attempt says which.
    if (error instanceof StayError || error instanceof StreamEnded) return;
    if (error instanceof HearthdUnreachableError) {
      const state = await unreachableState(error, this.options.isInstalled);
      this.set(state, state === 'unreachable' ? { message: `The Hearth helper did not answer: ${error.message}` } : {});
      return;
    }
    if (error instanceof HearthdError) {
      this.set('unreachable', { message: `The Hearth helper answered with an error: ${error.message}` });
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.set('unreachable', { message: `Lost the connection to the Hearth helper: ${message}` });
  }

  private backoff(): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 5_000;
    const delay = Math.min(max, initial * 2 ** this.attempts);
    this.attempts += 1;
    this.current = { ...this.current, retryAt: this.now() + delay };
    return new Promise((resolve) => {
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private make(state: ConnectionState, extra: { version?: VersionInfo; message?: string } = {}): ConnectionStatus {
    const version = extra.version;
    return {
      state,
      message: extra.message ?? HELPER_STATE_MESSAGES[state],
      socket: this.options.socketPath,
      bundledVersion: this.options.bundledVersion,
      upgradeAvailable: version !== undefined && compareVersions(this.options.bundledVersion, version.hearthd) > 0,
      since: this.now(),
      ...(version && { version }),
    };
  }

  private set(state: ConnectionState, extra: { version?: VersionInfo; message?: string } = {}): void {
    const next = this.make(state, extra);
    const previous = this.current;
    if (
      previous.state === next.state &&
      previous.message === next.message &&
      previous.version?.hearthd === next.version?.hearthd
    ) {
      return;
    }
    this.current = next;
    for (const listener of this.statusListeners) listener(next);
  }
}

/** The state was already set (version mismatch): back off without reclassifying. */
class StayError extends Error {}

/** hearthd closed the event stream cleanly. */
class StreamEnded extends Error {}
