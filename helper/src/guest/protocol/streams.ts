import { Duplex, Readable } from 'node:stream';
import { DATA_FRAME_MAX_BYTES, STREAM_WINDOW_BYTES, type CloseFrame, type HostFrame } from './frames.js';

/** What a stream needs of its multiplexer: a way out, and to be forgotten once closed. */
export interface StreamLink {
  send(frame: HostFrame): void;
  /** True while the channel's outgoing buffer is over its mark (a guest that does not read). */
  congested(): boolean;
  whenDrained(callback: () => void): void;
  forget(stream: ChannelStream): void;
}

/** Why a stream ended early, as its Duplex's error says it. */
export class StreamClosedError extends Error {}

/** Grant credit once this much room opened up: fewer window frames than one per read. */
const GRANT_STEP = STREAM_WINDOW_BYTES / 4;

/**
 * One multiplexed stream as a node Duplex, with the window protocol under node's backpressure:
 *
 *  - receiving: hearthd grants the guest credit (`window` frames) only for room it has: what it
 *    granted and has not received yet plus what sits unread in the readable buffers never exceeds
 *    STREAM_WINDOW_BYTES. A reader that stops reading stops the grants, so the guest's sender
 *    stalls on this stream alone; a data frame beyond the credit is a violation (the mux resets
 *    the stream).
 *  - sending: a write goes out as data frames only as far as the guest's credit reaches; the rest
 *    waits, with the write's callback, for its next `window` frame, and for the channel's
 *    outgoing buffer to drain.
 *  - end() sends `eof` (half-close); the guest's `eof` ends the readable side. Once both went,
 *    `close` is sent and the stream forgotten. destroy() before that aborts it (close{error}).
 *
 * exec streams carry stderr (fd 2) on a second Readable, `stderr`, under the same window.
 */
export class ChannelStream extends Duplex {
  /** The guest's credit for us: what we may still send. */
  private sendCredit: number;
  /** Our credit for the guest: what it may still send before another window frame. */
  private granted = 0;
  private pendingWrite: { chunk: Buffer; callback: (error?: Error | null) => void } | undefined;
  private waitingForDrain = false;
  private eofSent = false;
  private eofReceived = false;
  private closeSent = false;
  private closeReceived = false;
  /** fd 2 of an exec stream; undefined for every other kind. */
  readonly stderr: Readable | undefined;
  /**
   * How the stream ended, as soon as it did — not when its readers finished: the guest's close
   * frame (exec: with the exit status), or the error that reset or destroyed it.
   */
  readonly ended: Promise<CloseFrame | Error>;
  private settleEnded!: (how: CloseFrame | Error) => void;

  constructor(
    readonly id: number,
    readonly kind: string,
    private readonly link: StreamLink,
    /** The credit the guest granted in its `open` (guest-opened) or 0 until its first window. */
    initialCredit: number,
    options: { stderr?: boolean } = {},
  ) {
    super({
      readableHighWaterMark: STREAM_WINDOW_BYTES,
      writableHighWaterMark: DATA_FRAME_MAX_BYTES,
      allowHalfOpen: true,
    });
    this.sendCredit = initialCredit;
    this.ended = new Promise((resolve) => (this.settleEnded = resolve));
    this.stderr = options.stderr
      ? new Readable({ highWaterMark: STREAM_WINDOW_BYTES, read: () => process.nextTick(() => this.grant()) })
      : undefined;
    // An abort is also told by `ended` (and exec's `exit`): a consumer that listens to neither
    // must not bring hearthd down with an unhandled 'error'.
    this.on('error', () => undefined);
    this.stderr?.on('error', () => undefined);
  }

  /**
   * Starts receiving: a stream hearthd opens announced its whole window in the `open` frame; one
   * the guest opened gets it now, in a `window` frame.
   */
  start(announcedInOpen: boolean): void {
    if (announcedInOpen) this.granted = STREAM_WINDOW_BYTES;
    else this.grant();
  }

  /** Bytes received and not read yet, on both readables. */
  get buffered(): number {
    return this.readableLength + (this.stderr?.readableLength ?? 0);
  }

  get isClosed(): boolean {
    return this.closeSent || this.closeReceived;
  }

  // --- from the guest (the mux checked the frame's schema and that the stream is ours) ---

  /** A data frame; false: beyond the credit granted, or after eof (the mux resets the stream). */
  receive(data: Buffer, fd: 1 | 2 | undefined): boolean {
    if (this.eofReceived || data.length > this.granted) return false;
    this.granted -= data.length;
    const target = fd === 2 && this.stderr ? this.stderr : this;
    if (data.length > 0) target.push(data);
    this.grant();
    return true;
  }

  receiveWindow(bytes: number): void {
    this.sendCredit = Math.min(this.sendCredit + bytes, 2 ** 31);
    this.pump();
  }

  receiveEof(): void {
    if (this.eofReceived) return;
    this.eofReceived = true;
    this.push(null);
    this.stderr?.push(null);
    this.finishIfDone();
  }

  /** The guest closed the stream: cleanly (what was received stays readable) or with an error. */
  receiveClose(frame: CloseFrame): void {
    if (this.isClosed) return;
    this.closeReceived = true;
    this.settleEnded(frame);
    this.link.forget(this);
    if (frame.error !== undefined) {
      this.fail(new StreamClosedError(`the guest closed the stream: ${frame.error}`));
      return;
    }
    this.receiveEof();
    this.dropPendingWrite(new StreamClosedError('the guest closed the stream'));
    if (!this.writableEnded) this.end();
  }

  /** Ends it at once with `error` (a violation, the channel lost); sends close{error} when `tell`. */
  reset(error: Error, tell: string | undefined): void {
    if (this.isClosed) return;
    if (tell !== undefined) {
      this.closeSent = true;
      this.link.send({ type: 'close', stream: this.id, error: tell });
    } else {
      this.closeReceived = true;
    }
    this.link.forget(this);
    this.fail(error);
  }

  // --- node's side ---

  override _read(): void {
    // Node asks before it takes what it will hand the reader out of the buffer: the room shows
    // once that is done. Node asks no more until a push, which only a grant brings.
    process.nextTick(() => this.grant());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.isClosed) {
      callback(new StreamClosedError('the stream is closed'));
      return;
    }
    this.pendingWrite = { chunk, callback };
    this.pump();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.isClosed && !this.eofSent) {
      this.eofSent = true;
      this.link.send({ type: 'eof', stream: this.id });
    }
    callback();
    this.finishIfDone();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.dropPendingWrite(error ?? new StreamClosedError('the stream was destroyed'));
    if (!this.isClosed) {
      this.closeSent = true;
      const clean = this.eofSent && this.eofReceived && !error;
      this.link.send(clean ? { type: 'close', stream: this.id } : { type: 'close', stream: this.id, error: 'aborted' });
      this.link.forget(this);
    }
    if (this.stderr && !this.stderr.destroyed) this.stderr.destroy();
    this.settleEnded(error ?? new StreamClosedError('the stream was closed'));
    callback(error);
  }

  private fail(error: Error): void {
    this.settleEnded(error);
    this.dropPendingWrite(error);
    this.stderr?.destroy(error);
    this.destroy(error);
  }

  private dropPendingWrite(error: Error): void {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.callback(error);
  }

  /**
   * Sends as much of the pending write as the guest's credit allows, and no more while the
   * channel's outgoing buffer is over its mark (a guest may grant credit it never reads); the
   * write's callback once all of it went.
   */
  private pump(): void {
    const pending = this.pendingWrite;
    if (!pending || this.isClosed) return;
    while (pending.chunk.length > 0 && this.sendCredit > 0) {
      if (this.link.congested()) {
        if (!this.waitingForDrain) {
          this.waitingForDrain = true;
          this.link.whenDrained(() => {
            this.waitingForDrain = false;
            this.pump();
          });
        }
        return;
      }
      const n = Math.min(pending.chunk.length, this.sendCredit, DATA_FRAME_MAX_BYTES);
      this.link.send({ type: 'data', stream: this.id, data: pending.chunk.subarray(0, n).toString('base64') });
      this.sendCredit -= n;
      pending.chunk = pending.chunk.subarray(n);
    }
    if (pending.chunk.length > 0) return; // the next window frame pumps again
    this.pendingWrite = undefined;
    pending.callback();
  }

  /** Grants what room opened up, if enough did: granted + unread never exceeds the window. */
  private grant(): void {
    if (this.isClosed || this.eofReceived) return;
    const room = STREAM_WINDOW_BYTES - this.granted - this.buffered;
    if (room < GRANT_STEP && !(this.granted === 0 && room > 0)) return;
    this.granted += room;
    this.link.send({ type: 'window', stream: this.id, bytes: room });
  }

  private finishIfDone(): void {
    if (!this.eofSent || !this.eofReceived || this.isClosed) return;
    this.closeSent = true;
    this.link.send({ type: 'close', stream: this.id });
    this.settleEnded({ type: 'close', stream: this.id });
    this.link.forget(this);
  }
}
