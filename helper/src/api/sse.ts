import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HearthEvent } from '#protocol';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../log.js';

/** A client that buffers more than this is too slow to follow; it is dropped and may reconnect. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export function formatSse(event: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One open server-sent-events response. */
export interface SseConnection {
  /** Sends one message; drops the client if it cannot keep up. */
  send(event: string, data: unknown, id?: number): void;
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
    let closed = false;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      if (this.open.delete(res)) this.log.debug({ open: this.open.size }, 'event stream closed');
      for (const listener of listeners) listener();
    };
    request.raw.once('close', cleanup);
    res.once('close', cleanup);
    return {
      send: (event, data, id) => {
        if (closed) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          res.destroy();
          return;
        }
        seq += 1;
        res.write(formatSse(event, id ?? seq, data));
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

  /** `GET /v1/events`: hello, then every published event. */
  handle(request: FastifyRequest, reply: FastifyReply, release?: () => void): void {
    const connection = this.start(request, reply, release);
    const send = (event: HearthEvent) => {
      connection.send(event.type, event, event.seq);
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
