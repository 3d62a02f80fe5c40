import { connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { GuestChannelEndpoint } from '../vmm/driver.js';
import { listenForGuest } from '../vmm/cloud-hypervisor/hybrid-vsock.js';
import { AGENT_LINE_MAX_BYTES, AGENT_LINES_PER_SECOND, isAgentMessage, type AgentMessage } from './agent-messages.js';
import { LineReader } from './line-reader.js';
import { guestFrameValidators, isFrameType, type GuestFrame } from './protocol/frames.js';

/** What was thrown away, and why: the channel counts rather than logs each (a flood must not flood the log). */
export interface ChannelDrops {
  overlong: number;
  notJson: number;
  invalid: number;
  /** v1 reports beyond their rate. */
  rateLimited: number;
}

export interface GuestChannelOptions {
  endpoint: GuestChannelEndpoint;
  /** A v1 report (status, readiness) that passed the size, rate and schema checks. */
  onMessage: (message: AgentMessage) => void;
  /** A v2 frame that passed the size and schema checks. */
  onFrame?: (frame: GuestFrame) => void;
  /** A connection to the guest's device began (send the host hello) or ended (its streams are gone). */
  onConnect?: () => void;
  onDisconnect?: () => void;
  log: Logger;
  maxLineBytes?: number;
  /** v1 reports a second; more are dropped. */
  linesPerSecond?: number;
  /** What the channel reads a second (bytes, lines); past either it stops reading until the next tenth. */
  bytesPerSecond?: number;
  framesPerSecond?: number;
  /** Reconnect backoff: first wait, doubled up to the last. */
  retryMs?: { first: number; max: number };
}

/** The read budget is spent per tenth of a second, so a guest over it waits 100 ms, not a second. */
const BUDGET_TICK_MS = 100;
const BYTES_PER_SECOND = 8 * 1024 * 1024;
const FRAMES_PER_SECOND = 2_000;
/** Past this much unsent to the guest, hearthd stops reading from it until the guest reads. */
export const OUTGOING_HIGH_BYTES = 1024 * 1024;

/**
 * hearthd's end of one guest's private channel. The channel is that VM's own device (QEMU's
 * virtio-serial socket, Cloud Hypervisor's vsock), so whatever arrives speaks only for that
 * guest — and is hostile input all the same: lines are capped (`AGENT_LINE_MAX_BYTES`, a longer
 * one is dropped up to its newline), parsed and checked against the schema of their type (v1
 * reports, v2 frames); anything else is dropped and counted. v1 reports are also rated.
 *
 * A flood costs hearthd a fixed budget, never more: past `bytesPerSecond` or `framesPerSecond`
 * within a tenth of a second the socket is paused until the next tenth (nothing is dropped: the
 * guest's writes stall, only its own), and while more than OUTGOING_HIGH_BYTES wait to go to a
 * guest that does not read, nothing more is read from it either — its requests and opens wait.
 *
 * It connects (QEMU: hearthd's listener that QEMU holds) or listens (Cloud Hypervisor connects to
 * it) and keeps doing so, with backoff, until `close()`: the runtime ends it with the VM.
 */
export class GuestChannel {
  readonly drops: ChannelDrops = { overlong: 0, notJson: 0, invalid: 0, rateLimited: 0 };
  /** Lines delivered so far (reports and frames). */
  delivered = 0;
  /** Times the read budget paused the socket. */
  throttled = 0;
  private socket: Socket | undefined;
  private server: Server | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private reportWindow = { start: 0, lines: 0 };
  private budgetWindow = { start: 0, lines: 0, bytes: 0 };
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Lines read but not yet handled: the budget ran out inside a chunk (at most one chunk's worth). */
  private backlog: Buffer[] = [];
  /** The next backlog line to handle (an index, not shift(): a chunk of short lines is 30,000 of them). */
  private backlogAt = 0;
  private readonly pausedFor = new Set<'budget' | 'outgoing'>();
  private drained: Array<() => void> = [];
  private readonly maxLine: number;
  private readonly reportsPerSecond: number;
  private readonly bytesPerTick: number;
  private readonly linesPerTick: number;

  constructor(private readonly o: GuestChannelOptions) {
    this.maxLine = o.maxLineBytes ?? AGENT_LINE_MAX_BYTES;
    this.reportsPerSecond = o.linesPerSecond ?? AGENT_LINES_PER_SECOND;
    this.bytesPerTick = ((o.bytesPerSecond ?? BYTES_PER_SECOND) * BUDGET_TICK_MS) / 1_000;
    this.linesPerTick = Math.max(1, ((o.framesPerSecond ?? FRAMES_PER_SECOND) * BUDGET_TICK_MS) / 1_000);
    this.retryMs = o.retryMs?.first ?? 250;
  }

  start(): this {
    if ('connect' in this.o.endpoint) this.connect(this.o.endpoint.connect);
    else this.listen(this.o.endpoint.listen);
    return this;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** One line to the guest; false when there is no connection (the line is lost, as the guest would lose it). */
  send(line: string): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed) return false;
    socket.write(line);
    if (socket.writableLength > OUTGOING_HIGH_BYTES && !this.pausedFor.has('outgoing')) {
      this.pause('outgoing');
      socket.once('drain', () => {
        if (this.socket !== socket) return;
        this.release('outgoing');
        for (const callback of this.drained.splice(0)) callback();
      });
    }
    return true;
  }

  /** Bytes written to the guest that it has not taken yet (held by hearthd's socket). */
  get unsentBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** True while the guest has not read what hearthd sent it (past OUTGOING_HIGH_BYTES). */
  get congested(): boolean {
    return this.pausedFor.has('outgoing');
  }

  whenDrained(callback: () => void): void {
    if (this.congested) this.drained.push(callback);
    else callback();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.resumeTimer);
    this.drop();
    this.server?.close();
    this.server = undefined;
  }

  private connect(path: string): void {
    if (this.closed) return;
    const socket = connect(path);
    socket.once('connect', () => {
      this.o.log.debug({ path }, 'guest channel connected');
      if (this.socket === socket) this.o.onConnect?.();
    });
    socket.on('error', () => undefined); // 'close' follows; the retry says what matters
    socket.once('close', () => {
      this.retry(() => this.connect(path));
    });
    this.adopt(socket);
  }

  /**
   * Cloud Hypervisor connects to us; the newest connection is the guest's current one. The
   * listener is made by `listenForGuest`, which knows what the VMM user may reach in its vsock
   * directory.
   */
  private listen(path: string): void {
    if (this.closed) return;
    const failed = (error: unknown) => {
      this.o.log.warn({ err: error, path }, 'guest channel listener failed; retrying');
      this.retry(() => this.listen(path));
    };
    listenForGuest(path).then((server) => {
      if (this.closed) {
        server.close();
        return;
      }
      server.on('connection', (socket: Socket) => {
        socket.on('error', () => undefined);
        this.adopt(socket);
        this.o.onConnect?.();
      });
      server.on('error', (error) => {
        server.close();
        if (this.server === server) this.server = undefined;
        failed(error);
      });
      this.server = server;
    }, failed);
  }

  private retry(again: () => void): void {
    if (this.closed) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.o.retryMs?.max ?? 5_000);
    this.retryTimer = setTimeout(again, wait);
  }

  /** Lets go of the current connection, if any: its streams end with it. */
  private drop(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.destroy();
    this.backlog = [];
    this.backlogAt = 0;
    this.pausedFor.clear();
    clearTimeout(this.resumeTimer);
    this.drained = [];
    this.o.onDisconnect?.();
  }

  private adopt(socket: Socket): void {
    this.drop();
    this.socket = socket;
    socket.once('close', () => {
      if (this.socket === socket) this.drop();
    });
    const lines = new LineReader(this.maxLine);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.budgetWindow.bytes += chunk.length;
      for (const line of lines.push(chunk)) this.backlog.push(line);
      this.drops.overlong = lines.overlong;
      this.work(socket);
    });
  }

  /** Handles backlog lines while this tenth's budget lasts; then pauses until the next tenth. */
  private work(socket: Socket): void {
    while (this.backlogAt < this.backlog.length || this.budgetWindow.bytes > this.bytesPerTick) {
      const now = Date.now();
      if (now - this.budgetWindow.start >= BUDGET_TICK_MS) {
        const carried = Math.max(0, this.budgetWindow.bytes - this.bytesPerTick);
        this.budgetWindow = { start: now, lines: 0, bytes: carried };
      }
      if (this.budgetWindow.lines >= this.linesPerTick || this.budgetWindow.bytes > this.bytesPerTick) {
        this.throttled += 1;
        this.pause('budget');
        clearTimeout(this.resumeTimer);
        this.resumeTimer = setTimeout(
          () => {
            if (this.socket !== socket) return;
            this.budgetWindow = {
              start: Date.now(),
              lines: 0,
              bytes: Math.max(0, this.budgetWindow.bytes - this.bytesPerTick),
            };
            this.work(socket);
            if (this.backlogAt >= this.backlog.length && this.budgetWindow.bytes <= this.bytesPerTick)
              this.release('budget');
          },
          Math.max(1, BUDGET_TICK_MS - (now - this.budgetWindow.start)),
        );
        return;
      }
      const line = this.backlog[this.backlogAt++];
      if (!line) break;
      if (this.backlogAt === this.backlog.length) {
        this.backlog = [];
        this.backlogAt = 0;
      }
      this.budgetWindow.lines += 1;
      this.line(line);
      if (this.socket !== socket) return;
    }
  }

  private pause(reason: 'budget' | 'outgoing'): void {
    this.pausedFor.add(reason);
    this.socket?.pause();
  }

  private release(reason: 'budget' | 'outgoing'): void {
    this.pausedFor.delete(reason);
    if (this.pausedFor.size === 0) this.socket?.resume();
  }

  private line(bytes: Buffer): void {
    // Not JSON unless it opens an object: most junk is told without a parse.
    if (bytes[0] !== 0x7b) {
      this.drops.notJson += 1;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.drops.notJson += 1;
      return;
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (isFrameType(type)) {
      if (!guestFrameValidators[type](value)) {
        this.drops.invalid += 1;
        return;
      }
      this.delivered += 1;
      this.retryMs = this.o.retryMs?.first ?? 250;
      this.o.onFrame?.(value as GuestFrame);
      return;
    }
    const now = Date.now();
    if (now - this.reportWindow.start >= 1_000) this.reportWindow = { start: now, lines: 0 };
    if (++this.reportWindow.lines > this.reportsPerSecond) {
      this.drops.rateLimited += 1;
      return;
    }
    if (!isAgentMessage(value)) {
      this.drops.invalid += 1;
      return;
    }
    // A guest that talks sense again is reconnected quickly the next time.
    this.retryMs = this.o.retryMs?.first ?? 250;
    this.delivered += 1;
    this.o.onMessage(value);
  }
}
