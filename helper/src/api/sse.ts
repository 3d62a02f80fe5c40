import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HearthEvent } from '#protocol';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../log.js';

/** A client that buffers more than this is too slow to follow; it is dropped and may reconnect. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export function formatSse(event: HearthEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Open event streams, so shutdown can end them instead of waiting for clients to leave. */
export class SseStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly bus: EventBus,
    private readonly hello: () => HearthEvent,
    private readonly log: Logger,
  ) {}

  handle(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    this.open.add(res);
    const send = (event: HearthEvent) => {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        return;
      }
      res.write(formatSse(event));
    };
    const unsubscribe = this.bus.subscribe(send);
    this.log.debug({ open: this.open.size }, 'event stream opened');
    const cleanup = () => {
      unsubscribe();
      if (this.open.delete(res)) this.log.debug({ open: this.open.size }, 'event stream closed');
    };
    request.raw.once('close', cleanup);
    res.once('close', cleanup);
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
