import type { Duplex } from 'node:stream';
import { DomainError } from '../../errors.js';
import type { Logger } from '../../log.js';
import {
  MAX_STREAMS,
  STREAM_WINDOW_BYTES,
  type GuestFrame,
  type HostFrame,
  type OpenFrame,
  type RequestFrame,
  type ResponseError,
  type ResponseFrame,
} from './frames.js';
import { isGuestOpenedKind, isGuestStreamId, type GuestOpenedKind, type StreamKind } from './kinds.js';
import { ChannelStream, StreamClosedError, type StreamLink } from './streams.js';

/** What the mux refused or could not place, by cause: counted, never logged one by one (a flood must not flood the log). */
export interface MuxCounts {
  /** open frames refused: a kind the guest may not open, an even id, an id in use, no handler. */
  refusedOpens: number;
  /** open frames over MAX_STREAMS. */
  overCap: number;
  /** data frames beyond the credit granted (the stream is reset). */
  creditViolations: number;
  /** frames for a stream that is not open (a late close is not counted: both ends may send one). */
  unknownStream: number;
  /** responses to no request of ours. */
  unknownResponse: number;
}

export type StreamHandler = (stream: Duplex) => void;
export type MethodHandler = (params: unknown) => unknown;

/** A guest answered a request with an error. */
export class GuestRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MuxOptions {
  /** One frame to the guest (dropped while no connection: the streams are reset then anyway). */
  send(frame: HostFrame): void;
  congested(): boolean;
  whenDrained(callback: () => void): void;
  log: Logger;
}

/** Guest requests answered at once, at most (each method is quick; more wait their turn as errors). */
const MAX_GUEST_REQUESTS_IN_FLIGHT = 64;

/**
 * The streams and requests of one VM's channel, hearthd's side. It takes schema-checked frames
 * from the channel and holds per-VM caps: at most MAX_STREAMS streams (each with a window of
 * STREAM_WINDOW_BYTES, so at most VM_BUFFER_MAX_BYTES unread), guest-opened streams only of the
 * kinds the guest may open (kinds.ts) and with odd ids, data only within credit. Whatever breaks
 * a rule is refused (close{error}) and counted; nothing a guest sends throws here.
 */
export class Mux {
  readonly counts: MuxCounts = {
    refusedOpens: 0,
    overCap: 0,
    creditViolations: 0,
    unknownStream: 0,
    unknownResponse: 0,
  };
  private readonly streams = new Map<number, ChannelStream>();
  private readonly handlers = new Map<GuestOpenedKind, StreamHandler>();
  private readonly methods = new Map<string, MethodHandler>([['ping', () => ({})]]);
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextStreamId = 2;
  private nextRequestId = 1;
  private guestRequestsInFlight = 0;
  private readonly link: StreamLink;

  constructor(private readonly o: MuxOptions) {
    this.link = {
      send: (frame) => o.send(frame),
      congested: () => o.congested(),
      whenDrained: (callback) => o.whenDrained(callback),
      forget: (stream) => {
        if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
      },
    };
  }

  /** Streams open now, both directions. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Bytes the guest sent that hearthd holds unread, over every stream (≤ VM_BUFFER_MAX_BYTES by the windows). */
  get bufferedBytes(): number {
    let sum = 0;
    for (const stream of this.streams.values()) sum += stream.buffered;
    return sum;
  }

  /** Serves guest-opened streams of `kind`; one handler per kind. */
  serve(kind: GuestOpenedKind, handler: StreamHandler): () => void {
    if (this.handlers.has(kind)) throw new Error(`guest streams of kind ${kind} already have a handler`);
    this.handlers.set(kind, handler);
    return () => {
      if (this.handlers.get(kind) === handler) this.handlers.delete(kind);
    };
  }

  /** Opens a stream of a kind hearthd opens; its params go in the open frame. */
  open(kind: StreamKind, params: unknown, options: { stderr?: boolean } = {}): ChannelStream {
    if (this.streams.size >= MAX_STREAMS)
      throw new DomainError('limit', `this environment has ${MAX_STREAMS} guest streams open already`);
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new ChannelStream(id, kind, this.link, 0, options);
    this.streams.set(id, stream);
    this.o.send({ type: 'open', stream: id, kind, params, window: STREAM_WINDOW_BYTES });
    stream.start(true);
    return stream;
  }

  /** Asks the guest; rejects on its error answer, on timeout, or when the channel is lost. */
  request(method: string, params: unknown, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextRequestId;
    this.nextRequestId = this.nextRequestId >= 2 ** 31 - 1 ? 1 : this.nextRequestId + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new GuestRequestError('timeout', `the guest agent did not answer ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.o.send({ type: 'request', id, method, params });
    });
  }

  /** Every stream and request ends: the connection is gone or the agent restarted. */
  reset(reason: string): void {
    for (const stream of [...this.streams.values()]) stream.reset(new StreamClosedError(reason), undefined);
    this.streams.clear();
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new GuestRequestError('lost', reason));
      this.pending.delete(id);
    }
  }

  /** One schema-checked frame from the guest (hello is the session's). */
  take(frame: Exclude<GuestFrame, { type: 'hello' }>): void {
    switch (frame.type) {
      case 'open':
        this.accept(frame);
        return;
      case 'request':
        this.answer(frame);
        return;
      case 'response':
        this.settle(frame);
        return;
      default:
        break;
    }
    const stream = this.streams.get(frame.stream);
    if (!stream) {
      // Both ends send close once both eofs went: the later one finds the stream gone already.
      if (frame.type !== 'close') this.counts.unknownStream += 1;
      return;
    }
    switch (frame.type) {
      case 'data':
        if (!stream.receive(Buffer.from(frame.data, 'base64'), frame.fd)) {
          this.counts.creditViolations += 1;
          stream.reset(new StreamClosedError('the guest sent beyond its credit'), 'data beyond credit');
        }
        return;
      case 'window':
        stream.receiveWindow(frame.bytes);
        return;
      case 'eof':
        stream.receiveEof();
        return;
      case 'close':
        stream.receiveClose(frame);
        return;
    }
  }

  private accept(frame: OpenFrame): void {
    const refuse = (error: string) => this.o.send({ type: 'close', stream: frame.stream, error });
    if (!isGuestStreamId(frame.stream) || !isGuestOpenedKind(frame.kind) || this.streams.has(frame.stream)) {
      this.counts.refusedOpens += 1;
      // An id in use is the guest's own stream: refusing it must not close that one.
      if (!this.streams.has(frame.stream)) refuse('refused: the guest may not open this stream');
      return;
    }
    if (this.streams.size >= MAX_STREAMS) {
      this.counts.overCap += 1;
      refuse('refused: too many streams');
      return;
    }
    const handler = this.handlers.get(frame.kind);
    if (!handler) {
      this.counts.refusedOpens += 1;
      refuse('refused: nothing serves this kind');
      return;
    }
    const stream = new ChannelStream(frame.stream, frame.kind, this.link, frame.window);
    this.streams.set(frame.stream, stream);
    stream.start(false);
    try {
      handler(stream);
    } catch (error) {
      this.o.log.warn({ err: error, kind: frame.kind }, 'guest stream handler failed');
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private answer(frame: RequestFrame): void {
    const reply = (body: { result: unknown } | { error: ResponseError }) =>
      this.o.send({ type: 'response', id: frame.id, ...body });
    const method = this.methods.get(frame.method);
    if (!method) {
      reply({ error: { code: 'unknown-method', message: `hearthd has no method ${frame.method}` } });
      return;
    }
    if (this.guestRequestsInFlight >= MAX_GUEST_REQUESTS_IN_FLIGHT) {
      reply({ error: { code: 'busy', message: 'too many requests at once' } });
      return;
    }
    this.guestRequestsInFlight += 1;
    Promise.resolve()
      .then(() => method(frame.params))
      .then(
        (result) => reply({ result: result ?? null }),
        () => reply({ error: { code: 'failed', message: `${frame.method} failed` } }),
      )
      .finally(() => (this.guestRequestsInFlight -= 1));
  }

  private settle(frame: ResponseFrame): void {
    const waiting = this.pending.get(frame.id);
    if (!waiting) {
      this.counts.unknownResponse += 1;
      return;
    }
    this.pending.delete(frame.id);
    clearTimeout(waiting.timer);
    if (frame.error) waiting.reject(new GuestRequestError(frame.error.code, frame.error.message));
    else waiting.resolve(frame.result ?? null);
  }
}
