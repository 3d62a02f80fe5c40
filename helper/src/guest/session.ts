import type { Duplex } from 'node:stream';
import { DomainError } from '../errors.js';
import type { Logger } from '../log.js';
import type { GuestChannelEndpoint } from '../vmm/driver.js';
import type { AgentMessage } from './agent-messages.js';
import { GuestChannel, type ChannelDrops, type GuestChannelOptions } from './channel.js';
import { ExecParams, processOf, type ExecSpec, type GuestProcess } from './protocol/exec.js';
import { frameLine, PROTOCOL_VERSION, type GuestFrame, type GuestHello } from './protocol/frames.js';
import type { GuestOpenedKind } from './protocol/kinds.js';
import { Mux, type MuxCounts } from './protocol/mux.js';
import { compileValidator } from '../validate.js';

export type GuestListener = (message: AgentMessage) => void;

/** The agent as its hello introduced it (protocol ≥ 2). */
export interface AgentPeer {
  protocol: number;
  agent: number;
  /** Random, fresh on every agent start: a new one means the agent restarted and its streams are gone. */
  session: string;
  features: string[];
}

/** What a feature of protocol v2 answers when the guest's agent does not speak it. */
export const AGENT_TOO_OLD_MESSAGE = 'the agent in this image is too old: rebuild or re-download the image';
export const agentTooOld = (): DomainError => new DomainError('unavailable', AGENT_TOO_OLD_MESSAGE);

export interface GuestSessionOptions {
  /** Where the VM's VMM offers the guest channel; undefined: this VM has none (no provisioning). */
  endpoint: GuestChannelEndpoint | undefined;
  log: Logger;
  /** Channel tuning (tests): line size, rates, reconnect backoff. */
  channel?: Omit<GuestChannelOptions, 'endpoint' | 'log' | 'onMessage' | 'onFrame' | 'onConnect' | 'onDisconnect'>;
}

/** What `GuestSession.stats` reports. */
export interface GuestChannelStats {
  openStreams: number;
  /** Bytes the guest sent on streams that hearthd holds unread (≤ VM_BUFFER_MAX_BYTES). */
  bufferedBytes: number;
  refused: MuxCounts;
  dropped: ChannelDrops;
  delivered: number;
  /** Times the read budget paused the channel. */
  throttled: number;
  /** What hearthd wrote to the guest and the guest has not read (≈ OUTGOING_HIGH_BYTES at most). */
  unsentBytes: number;
}
const NO_REFUSALS: MuxCounts = {
  refusedOpens: 0,
  overCap: 0,
  creditViolations: 0,
  unknownStream: 0,
  unknownResponse: 0,
};
const NO_DROPS: ChannelDrops = { overlong: 0, notJson: 0, invalid: 0, rateLimited: 0 };

const isExecParams = compileValidator(ExecParams);
/** A v1 agent is not asked for its hello more often than this. */
const HELLO_AGAIN_MS = 5_000;

interface PeerWaiter {
  resolve: (peer: AgentPeer) => void;
  reject: (error: Error) => void;
  graceMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * hearthd's side of one running VM's guest, for as long as this hearthd holds the VMM: opened
 * on launch and on reattach, closed with the environment's runtime. Guest work goes through
 * here instead of opening channels of its own: the agent's reports (v1: status and readiness,
 * each a whole snapshot of its kind, the newest of each kept for a subscriber that comes late),
 * and protocol v2 — the agent's hello, requests, and streams (`exec`, and the guest's relays
 * served by `serve`). A v1 agent sends no hello; v2 features then fail with AGENT_TOO_OLD_MESSAGE.
 */
export class GuestSession {
  private readonly listeners = new Set<GuestListener>();
  private channel: GuestChannel | undefined;
  private mux: Mux | undefined;
  private closed = false;
  private peer_: AgentPeer | undefined;
  private readonly peerWaiters = new Set<PeerWaiter>();
  private helloAskedAt = 0;
  /** The newest message of each kind the guest sent, in the order they last arrived. */
  private readonly newestOfKind = new Map<AgentMessage['type'], AgentMessage>();
  /** Handlers registered before the channel opened (serve may come first). */
  private readonly handlers = new Map<GuestOpenedKind, (stream: Duplex) => void>();

  constructor(private readonly o: GuestSessionOptions) {}

  /** True when the VM has a guest channel (images with provisioning). */
  get available(): boolean {
    return this.o.endpoint !== undefined;
  }

  /** Starts listening to the guest (idempotent; nothing without a channel or once closed). */
  open(): this {
    if (this.channel || this.closed || !this.o.endpoint) return this;
    const channel = new GuestChannel({
      ...this.o.channel,
      endpoint: this.o.endpoint,
      log: this.o.log,
      onMessage: (message) => this.report(message),
      onFrame: (frame) => this.frame(frame),
      onConnect: () => {
        this.mux?.reset('the guest channel reconnected');
        this.sayHello();
      },
      onDisconnect: () => this.mux?.reset('the guest channel was lost'),
    });
    this.channel = channel;
    this.mux = new Mux({
      send: (frame) => channel.send(frameLine(frame)),
      congested: () => channel.congested,
      whenDrained: (callback) => channel.whenDrained(callback),
      log: this.o.log,
    });
    for (const [kind, handler] of this.handlers) this.mux.serve(kind, handler);
    channel.start();
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

  /** The agent's hello once it said one (protocol ≥ 2); undefined for a v1 agent or before it spoke. */
  get peer(): AgentPeer | undefined {
    return this.peer_;
  }

  /**
   * Resolves with the peer once a hello arrives; rejects with the too-old DomainError if the
   * agent reports (status, readiness) but sends no hello within `graceMs` of that, or when the
   * session closes (or has no channel).
   */
  whenPeer(graceMs = 10_000): Promise<AgentPeer> {
    if (this.peer_) return Promise.resolve(this.peer_);
    if (this.closed || !this.available)
      return Promise.reject(new DomainError('unavailable', "this environment's guest channel is closed"));
    return new Promise((resolve, reject) => {
      const waiter: PeerWaiter = { resolve, reject, graceMs };
      this.peerWaiters.add(waiter);
      if (this.newestOfKind.size > 0) {
        this.askHelloAgain();
        this.startGrace(waiter);
      }
    });
  }

  /**
   * Runs argv in the guest as `user`; throws the too-old DomainError for an agent without exec
   * (call `await whenPeer()` first: before the agent said hello, it is unavailable).
   */
  exec(spec: ExecSpec): GuestProcess {
    const mux = this.readyMux('exec');
    const params: ExecParams = {
      argv: spec.argv,
      user: spec.user,
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      ...(spec.env !== undefined ? { env: spec.env } : {}),
      stdin: spec.stdin ?? false,
    };
    if (!isExecParams(params)) throw new DomainError('invalid', 'a guest command that the agent would refuse');
    const stream = mux.open('exec', params, { stderr: true });
    return processOf(stream, spec, (signal) => {
      mux.request('signal', { stream: stream.id, signal }).catch(() => undefined);
    });
  }

  /** Asks the agent (`ping` answers `{}`); rejects with the too-old error for a v1 agent. */
  request(method: string, params?: unknown, timeoutMs?: number): Promise<unknown> {
    return this.readyMux(undefined).request(method, params, timeoutMs);
  }

  /** Serves guest-opened streams of one kind; one handler per kind; returns an unregister function. */
  serve(kind: GuestOpenedKind, handler: (stream: Duplex) => void): () => void {
    if (this.handlers.has(kind)) throw new Error(`guest streams of kind ${kind} already have a handler`);
    this.handlers.set(kind, handler);
    const unserve = this.mux?.serve(kind, handler);
    return () => {
      if (this.handlers.get(kind) === handler) this.handlers.delete(kind);
      unserve?.();
    };
  }

  /** The channel's and the streams' state, and what was dropped or refused (tests, diagnostics). */
  get stats(): GuestChannelStats {
    return {
      openStreams: this.mux?.openStreams ?? 0,
      bufferedBytes: this.mux?.bufferedBytes ?? 0,
      refused: { ...(this.mux?.counts ?? NO_REFUSALS) },
      dropped: { ...(this.channel?.drops ?? NO_DROPS) },
      delivered: this.channel?.delivered ?? 0,
      throttled: this.channel?.throttled ?? 0,
      unsentBytes: this.channel?.unsentBytes ?? 0,
    };
  }

  /** Ends the channel and every subscription; what the channel dropped is logged once, here. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    for (const waiter of this.peerWaiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new DomainError('unavailable', "this environment's guest channel is closed"));
    }
    this.peerWaiters.clear();
    const channel = this.channel;
    const mux = this.mux;
    this.channel = undefined;
    this.mux = undefined;
    if (!channel) return;
    mux?.reset('the guest session closed');
    channel.close();
    const { drops } = channel;
    if (Object.values(drops).some((n) => n > 0))
      this.o.log.warn({ drops, delivered: channel.delivered }, 'guest channel dropped lines');
    const counts = mux?.counts;
    if (counts && Object.values(counts).some((n) => n > 0))
      this.o.log.warn({ counts, throttled: channel.throttled }, 'guest channel refused frames');
  }

  private readyMux(feature: string | undefined): Mux {
    const mux = this.mux;
    const channel = this.channel;
    if (!mux || !channel || this.closed)
      throw new DomainError('unavailable', "this environment's guest channel is closed");
    const peer = this.peer_;
    if (!peer) {
      if (this.newestOfKind.size > 0) throw agentTooOld();
      throw new DomainError('unavailable', 'the guest agent has not said hello yet');
    }
    if (feature !== undefined && !peer.features.includes(feature)) throw agentTooOld();
    if (!channel.connected) throw new DomainError('unavailable', 'the guest channel is not connected right now');
    return mux;
  }

  private report(message: AgentMessage): void {
    this.newestOfKind.delete(message.type);
    this.newestOfKind.set(message.type, message);
    if (!this.peer_ && this.peerWaiters.size > 0) {
      this.askHelloAgain();
      for (const waiter of this.peerWaiters) this.startGrace(waiter);
    }
    for (const listener of [...this.listeners]) listener(message);
  }

  private frame(frame: GuestFrame): void {
    if (frame.type === 'hello') {
      this.hello(frame);
      return;
    }
    this.mux?.take(frame);
  }

  private hello(hello: GuestHello): void {
    // A new session id: the agent restarted, and every stream it had went with it.
    if (this.peer_ && this.peer_.session !== hello.session) this.mux?.reset('the guest agent restarted');
    this.peer_ = {
      protocol: hello.protocol,
      agent: hello.agent,
      session: hello.session,
      features: [...hello.features],
    };
    for (const waiter of this.peerWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.peer_);
    }
    this.peerWaiters.clear();
  }

  private sayHello(): void {
    this.helloAskedAt = Date.now();
    this.channel?.send(frameLine({ type: 'hello', protocol: PROTOCOL_VERSION }));
  }

  /** A reporting agent that has not said hello: maybe it missed ours; once more, not often. */
  private askHelloAgain(): void {
    if (Date.now() - this.helloAskedAt >= HELLO_AGAIN_MS) this.sayHello();
  }

  private startGrace(waiter: PeerWaiter): void {
    if (waiter.timer) return;
    waiter.timer = setTimeout(() => {
      if (this.peer_ || !this.peerWaiters.delete(waiter)) return;
      waiter.reject(agentTooOld());
    }, waiter.graceMs);
  }
}
