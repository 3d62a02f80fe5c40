import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HearthEvent } from '#protocol';
import type { Caller } from '../caller.js';
import { eventFor } from '../environments/event-visibility.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../log.js';
import { DEFAULT_API_LIMITS } from './limits.js';

/**
 * Past this much unsent output a stream says it is full: a log follow stops reading its file
 * until the socket drains. A burst is queued faster than any socket drains, so fullness alone
 * says nothing about the client; only how long it stays full does (stallMs).
 */
const FULL_BYTES = 256 * 1024;
/**
 * The memory backstop: a stream holding more than this is dropped at once. A follow stops at
 * FULL_BYTES plus one file read (1 MiB) plus its tail, and events are small, so only a client
 * that stalls while events keep coming gets here before its stall timeout.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export function formatSse(event: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One open server-sent-events response. */
export interface SseConnection {
  /** Sends one message; false when the stream is full (wait for onDrain before sending more). */
  send(event: string, data: unknown, id?: number): boolean;
  /** Called each time a full stream has room again. */
  onDrain(listener: () => void): void;
  end(): void;
  /** Called once when the client goes or the stream is ended. */
  onClose(listener: () => void): void;
}

/**
 * Every open server-sent-events response (the event stream and followed logs), so shutdown can
 * end them instead of waiting for clients to leave.
 */
export class SseStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly bus: EventBus,
    private readonly hello: () => HearthEvent,
    private readonly log: Logger,
    /** A client whose socket stays full this long is not reading; it is dropped and may reconnect. */
    private readonly stallMs = DEFAULT_API_LIMITS.stallMs,
  ) {}

  /**
   * Takes the response over from Fastify and starts an SSE stream on it. `release` (the caller's
   * stream slot, see limits.ts) is called once when the stream ends.
   */
  start(request: FastifyRequest, reply: FastifyReply, release?: () => void): SseConnection {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    this.open.add(res);
    this.log.debug({ open: this.open.size }, 'event stream opened');
    let seq = 0;
    const listeners: Array<() => void> = release ? [release] : [];
    const drainListeners: Array<() => void> = [];
    let closed = false;
    let stall: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearTimeout(stall);
      if (this.open.delete(res)) this.log.debug({ open: this.open.size }, 'event stream closed');
      for (const listener of listeners) listener();
    };
    request.raw.once('close', cleanup);
    res.once('close', cleanup);
    res.on('drain', () => {
      clearTimeout(stall);
      stall = undefined;
      for (const listener of drainListeners) listener();
    });
    const drop = (why: string) => {
      this.log.warn({ buffered: res.writableLength }, why);
      res.destroy();
    };
    return {
      send: (event, data, id) => {
        if (closed) return false;
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          drop('event stream dropped: its client holds too much unsent output');
          return false;
        }
        seq += 1;
        res.write(formatSse(event, id ?? seq, data));
        if (res.writableLength < FULL_BYTES) return true;
        // Full: the clock starts at the first full write and stops at the next drain.
        stall ??= setTimeout(
          () => drop(`event stream dropped: its client read nothing for ${this.stallMs} ms`),
          this.stallMs,
        );
        return false;
      },
      onDrain: (listener) => {
        drainListeners.push(listener);
      },
      end: () => {
        res.end();
        cleanup();
      },
      onClose: (listener) => {
        if (closed) listener();
        else listeners.push(listener);
      },
    };
  }

  /**
   * `GET /v1/events`: hello, then every published event the caller may see (environment-scoped
   * events only about its own environments; see eventFor).
   */
  handle(request: FastifyRequest, reply: FastifyReply, caller: Caller, release?: () => void): void {
    const connection = this.start(request, reply, release);
    const send = (event: HearthEvent) => {
      const visible = eventFor(caller, event);
      if (visible) connection.send(visible.type, visible, visible.seq);
    };
    connection.onClose(this.bus.subscribe(send));
    send(this.hello());
  }

  get count(): number {
    return this.open.size;
  }

  endAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
