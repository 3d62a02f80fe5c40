import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseMessage {
  event: string;
  data: unknown;
}

/** A server-sent-events client over a Unix socket, as a test reads one: every message kept. */
export class SseReader {
  readonly messages: SseMessage[] = [];
  closed = false;
  private buffer = '';
  private response: IncomingMessage | undefined;

  private constructor(readonly req: ClientRequest) {}

  static open(socketPath: string, path: string): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path, headers: { accept: 'text/event-stream' } });
      const reader = new SseReader(req);
      req.once('error', reject);
      req.once('response', (res) => {
        reader.response = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => reader.take(chunk));
        res.once('close', () => (reader.closed = true));
        res.on('error', () => (reader.closed = true));
        resolve(reader);
      });
      req.end();
    });
  }

  private take(chunk: string): void {
    // Only the new chunk (and the byte before it) can complete a message: a 1 MiB message arrives
    // in many chunks, and scanning it whole on each would make the reader the bottleneck.
    const from = Math.max(0, this.buffer.length - 1);
    this.buffer += chunk;
    let end = this.buffer.indexOf('\n\n', from);
    for (; end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      this.messages.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
    }
  }

  /** Stops reading (the socket fills up, as a stalled client's would). */
  pause(): void {
    this.response?.pause();
    this.response?.socket.pause();
  }

  resume(): void {
    this.response?.socket.resume();
    this.response?.resume();
  }

  close(): void {
    this.req.destroy();
  }
}
