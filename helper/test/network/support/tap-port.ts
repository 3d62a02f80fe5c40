import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { ethernet, ipBytes, macBytes } from './frames.js';

const RELAY = join(import.meta.dirname, 'tap-relay.py');

/**
 * A guest's side of its TAP, opened in namespace `ns` as a VMM opens it (tap-relay.py holds the
 * fd): frames sent here enter the bridge from the guest, and every frame the bridge gives the
 * guest is kept, in order, for the test to look through. Like a guest's kernel, it answers ARP
 * for its own address.
 */
export class TapPort {
  readonly received: Buffer[] = [];
  /** Told of every frame as it arrives: what `next` and `ask` wait on. */
  private readonly arrivals = new EventEmitter();
  private buffered = Buffer.alloc(0);
  private readonly opened: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly self: { mac: string; address: string },
  ) {
    let ready: () => void;
    let failed: (error: Error) => void;
    this.opened = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    const errors: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => errors.push(chunk.toString('utf8')));
    child.once('exit', (code) => failed(new Error(`tap relay exited (${String(code)}): ${errors.join('')}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 2) {
        const length = this.buffered.readUInt16BE(0);
        if (this.buffered.length < 2 + length) break;
        const frame = this.buffered.subarray(2, 2 + length);
        this.buffered = this.buffered.subarray(2 + length);
        if (length === 0) ready();
        else {
          const kept = Buffer.from(frame);
          this.received.push(kept);
          this.answerArp(frame);
          this.arrivals.emit('frame', kept);
        }
      }
    });
  }

  static async open(ns: string, tap: string, self: { mac: string; address: string }): Promise<TapPort> {
    const child = spawn('ip', ['netns', 'exec', ns, 'python3', RELAY, tap], { stdio: ['pipe', 'pipe', 'pipe'] });
    const port = new TapPort(child, self);
    await port.opened;
    return port;
  }

  /** A reply to "who has my address?" (ARP request, Ethernet/IPv4). */
  private answerArp(frame: Buffer): void {
    if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0806 || frame.readUInt16BE(20) !== 1) return;
    if (!frame.subarray(38, 42).equals(ipBytes(this.self.address))) return;
    const asker = frame.subarray(22, 28);
    const reply = Buffer.concat([
      frame.subarray(14, 20), // hardware and protocol types and sizes, as asked
      Buffer.from([0, 2]),
      macBytes(this.self.mac),
      ipBytes(this.self.address),
      asker,
      frame.subarray(28, 32),
    ]);
    const to = [...asker].map((b) => b.toString(16).padStart(2, '0')).join(':');
    this.send(ethernet(to, this.self.mac, 0x0806, reply));
  }

  send(frame: Buffer): void {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(frame.length);
    this.child.stdin!.write(Buffer.concat([head, frame]));
  }

  /** Sends many frames, then waits until the relay has taken them all. */
  async sendAll(frames: readonly Buffer[]): Promise<void> {
    for (const frame of frames) this.send(frame);
    await new Promise<void>((resolve) => this.child.stdin!.write(Buffer.alloc(0), () => resolve()));
  }

  /** The first frame from now on that `match` accepts, or undefined after `timeoutMs`. */
  async next(match: (frame: Buffer) => boolean, timeoutMs = 3_000): Promise<Buffer | undefined> {
    return this.firstSince(this.received.length, match, timeoutMs);
  }

  /**
   * Sends `frame`, then waits for the first answer `match` accepts; sends it again every
   * `timeoutMs / attempts`, as a guest's DHCP client or resolver would when one is lost.
   */
  async ask(
    frame: Buffer,
    match: (frame: Buffer) => boolean,
    timeoutMs = 3_000,
    attempts = 3,
  ): Promise<Buffer | undefined> {
    const from = this.received.length;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      this.send(frame);
      const until = Math.min(deadline, Date.now() + timeoutMs / attempts);
      const found = await this.firstSince(from, match, until - Date.now());
      if (found) return found;
    }
    return undefined;
  }

  /** The first frame `match` accepts among those received since index `from`, as soon as it arrives. */
  private firstSince(from: number, match: (frame: Buffer) => boolean, timeoutMs: number): Promise<Buffer | undefined> {
    const already = this.received.slice(from).find(match);
    if (already || timeoutMs <= 0) return Promise.resolve(already);
    return new Promise((resolve) => {
      const done = (found: Buffer | undefined) => {
        clearTimeout(timer);
        this.arrivals.off('frame', onFrame);
        resolve(found);
      };
      const onFrame = (arrived: Buffer) => {
        if (match(arrived)) done(arrived);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.arrivals.on('frame', onFrame);
    });
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}
