import { connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { GuestChannelEndpoint } from '../vmm/driver.js';
import { listenForGuest } from '../vmm/cloud-hypervisor/hybrid-vsock.js';
import { AGENT_LINE_MAX_BYTES, AGENT_LINES_PER_SECOND, isAgentMessage, type AgentMessage } from './agent-messages.js';
import { LineReader } from './line-reader.js';

/** What was thrown away, and why: the channel counts rather than logs each (a flood must not flood the log). */
export interface ChannelDrops {
  overlong: number;
  notJson: number;
  invalid: number;
  rateLimited: number;
}

export interface GuestChannelOptions {
  endpoint: GuestChannelEndpoint;
  /** A line that passed the size, rate and schema checks. */
  onMessage: (message: AgentMessage) => void;
  log: Logger;
  maxLineBytes?: number;
  linesPerSecond?: number;
  /** Reconnect backoff: first wait, doubled up to the last. */
  retryMs?: { first: number; max: number };
}

/**
 * hearthd's end of one guest's private channel. The channel is that VM's own device (QEMU's
 * virtio-serial socket, Cloud Hypervisor's vsock), so whatever arrives speaks only for that
 * guest — and is hostile input all the same: lines are capped (`AGENT_LINE_MAX_BYTES`, a longer
 * one is dropped up to its newline), rated (`AGENT_LINES_PER_SECOND`; past a byte budget the
 * socket is paused, which stalls the guest's writes rather than hearthd), parsed and checked
 * against the schema; anything else is dropped and counted. It connects (QEMU: hearthd's
 * listener that QEMU holds) or listens (Cloud Hypervisor connects to it) and keeps doing so,
 * with backoff, until `close()`: the runtime ends it with the VM.
 */
export class GuestChannel {
  readonly drops: ChannelDrops = { overlong: 0, notJson: 0, invalid: 0, rateLimited: 0 };
  /** Messages delivered so far. */
  delivered = 0;
  private socket: Socket | undefined;
  private server: Server | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private window = { start: 0, lines: 0, bytes: 0 };
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly maxLine: number;
  private readonly perSecond: number;

  constructor(private readonly o: GuestChannelOptions) {
    this.maxLine = o.maxLineBytes ?? AGENT_LINE_MAX_BYTES;
    this.perSecond = o.linesPerSecond ?? AGENT_LINES_PER_SECOND;
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

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.resumeTimer);
    this.socket?.destroy();
    this.socket = undefined;
    this.server?.close();
    this.server = undefined;
  }

  private connect(path: string): void {
    if (this.closed) return;
    const socket = connect(path);
    socket.once('connect', () => this.o.log.debug({ path }, 'guest channel connected'));
    socket.on('error', () => undefined); // 'close' follows; the retry says what matters
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined;
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
        this.socket?.destroy();
        socket.on('error', () => undefined);
        this.adopt(socket);
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

  private adopt(socket: Socket): void {
    this.socket = socket;
    const lines = new LineReader(this.maxLine);
    socket.on('data', (chunk: Buffer) => {
      if (this.budget(socket, chunk.length)) {
        lines.skip();
        return;
      }
      for (const line of lines.push(chunk)) this.line(line);
      this.drops.overlong = lines.overlong;
    });
  }

  /**
   * Counts bytes against this second's budget (the line rate's worth of full lines). A chunk that
   * arrives once the budget is spent is dropped and the socket paused until the next second, so
   * a flood stalls the guest's writes, not hearthd. True: dropped.
   */
  private budget(socket: Socket, bytes: number): boolean {
    const now = Date.now();
    if (now - this.window.start >= 1_000) this.window = { start: now, lines: 0, bytes: 0 };
    const spent = this.window.bytes > this.perSecond * (this.maxLine + 1);
    this.window.bytes += bytes;
    if (!spent) return false;
    this.drops.rateLimited += 1;
    socket.pause();
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => socket.resume(), 1_000 - (now - this.window.start));
    return true;
  }

  private line(bytes: Buffer): void {
    if (++this.window.lines > this.perSecond) {
      this.drops.rateLimited += 1;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.drops.notJson += 1;
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
