import type { Logger } from '../log.js';
import type { GuestChannelEndpoint } from '../vmm/driver.js';
import type { AgentMessage } from './agent-messages.js';
import { GuestChannel, type GuestChannelOptions } from './channel.js';

export type GuestListener = (message: AgentMessage) => void;

export interface GuestSessionOptions {
  /** Where the VM's VMM offers the guest channel; undefined: this VM has none (no provisioning). */
  endpoint: GuestChannelEndpoint | undefined;
  log: Logger;
  /** Channel tuning (tests): line size, rate, reconnect backoff. */
  channel?: Omit<GuestChannelOptions, 'endpoint' | 'log' | 'onMessage'>;
}

/**
 * hearthd's side of one running VM's guest, for as long as this hearthd holds the VMM: opened
 * on launch and on reattach, closed with the environment's runtime. Guest work subscribes here
 * instead of opening channels of its own — readiness first; the two-way protocol's requests and
 * answers next. Today the channel carries the agent's reports only (one-way: status and
 * readiness), each a whole snapshot of its kind, so the newest of each is kept for a subscriber
 * that comes late.
 */
export class GuestSession {
  private readonly listeners = new Set<GuestListener>();
  private channel: GuestChannel | undefined;
  private closed = false;
  /** The newest message of each kind the guest sent, in the order they last arrived. */
  private readonly newestOfKind = new Map<AgentMessage['type'], AgentMessage>();

  constructor(private readonly o: GuestSessionOptions) {}

  /** True when the VM has a guest channel (images with provisioning). */
  get available(): boolean {
    return this.o.endpoint !== undefined;
  }

  /** Starts listening to the guest (idempotent; nothing without a channel or once closed). */
  open(): this {
    if (this.channel || this.closed || !this.o.endpoint) return this;
    this.channel = new GuestChannel({
      ...this.o.channel,
      endpoint: this.o.endpoint,
      log: this.o.log,
      onMessage: (message) => {
        this.newestOfKind.delete(message.type);
        this.newestOfKind.set(message.type, message);
        for (const listener of [...this.listeners]) listener(message);
      },
    }).start();
    return this;
  }

  /** The newest message of each kind so far (each is a whole snapshot of its kind), oldest first. */
  newest(): AgentMessage[] {
    return [...this.newestOfKind.values()];
  }

  /** The newest message the guest sent, if any. */
  get latest(): AgentMessage | undefined {
    return this.newest().at(-1);
  }

  /** Every message from now on, in order, until the returned function is called or the session closes. */
  subscribe(listener: GuestListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Ends the channel and every subscription; what the channel dropped is logged once, here. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    const channel = this.channel;
    this.channel = undefined;
    if (!channel) return;
    channel.close();
    const { drops } = channel;
    if (Object.values(drops).some((n) => n > 0))
      this.o.log.warn({ drops, delivered: channel.delivered }, 'guest channel dropped lines');
  }
}
