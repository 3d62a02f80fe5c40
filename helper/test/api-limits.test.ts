import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HearthdProcess } from './support/hearthd-process.js';

/**
 * One HTTP/1.1 connection to hearthd, by hand: the limits are about connections and streams,
 * which a pooling client would hide.
 */
class Connection {
  private buffered = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(path: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(path, () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async until(test: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (this.closed || Date.now() > deadline) throw new Error(`no answer; got so far: ${this.buffered}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** A plain request; resolves with the status and the JSON body. */
  async get(path: string): Promise<{ status: number; body: Record<string, unknown>; head: string }> {
    this.buffered = '';
    this.socket.write(`GET ${path} HTTP/1.1\r\nhost: hearthd\r\n\r\n`);
    let length = -1;
    let head = '';
    await this.until(() => {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return false;
      head = this.buffered.slice(0, end);
      length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      return Buffer.byteLength(this.buffered.slice(end + 4)) >= length;
    });
    const body = this.buffered.slice(this.buffered.indexOf('\r\n\r\n') + 4);
    return { status: Number(head.split(' ')[1]), body: JSON.parse(body) as Record<string, unknown>, head };
  }

  /** Opens the event stream; resolves once `hello` arrived (or with the refusal). */
  async events(path = '/v1/events'): Promise<{ status: number; body?: Record<string, unknown> }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nhost: hearthd\r\n\r\n`);
    await this.until(() => /\r\n\r\n/.test(this.buffered));
    const status = Number(this.buffered.split(' ')[1]);
    if (status !== 200) {
      await this.until(() => /\r\n\r\n[\s\S]*\}/.test(this.buffered));
      return { status, body: JSON.parse(this.buffered.slice(this.buffered.indexOf('{'))) as Record<string, unknown> };
    }
    await this.until(() => this.buffered.includes('event: hello'));
    return { status };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.destroy();
    await this.until(() => this.closed).catch(() => undefined);
  }
}

const opened: Connection[] = [];
async function open(daemon: HearthdProcess): Promise<Connection> {
  const connection = await Connection.open(daemon.paths.socket);
  opened.push(connection);
  return connection;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  // hearthd sees the closes asynchronously; give it a moment before the next test counts.
  await new Promise((r) => setTimeout(r, 200));
});

describe('per-uid limits', () => {
  let daemon: HearthdProcess;
  beforeAll(async () => {
    daemon = await HearthdProcess.start(undefined, [
      '--test-api-limits',
      'connections=100,connectionsPerUid=5,streams=100,streamsPerUid=3',
    ]);
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('refuses a uid its 4th event stream with a JSON 429 naming the limit, and lets it in again once one closes', async () => {
    const streams = [await open(daemon), await open(daemon), await open(daemon)];
    for (const stream of streams) expect((await stream.events()).status).toBe(200);
    const fourth = await open(daemon);
    const refused = await fourth.events();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'too-many-requests' });
    expect(refused.body?.message).toMatch(/uid \d+ already has 3 open event streams, the limit per user \(3\)/);
    await streams[0]!.close();
    await new Promise((r) => setTimeout(r, 200));
    expect((await (await open(daemon)).events()).status).toBe(200);
  });

  it('counts followed logs as streams and gives the slot back when the follow is refused (404)', async () => {
    const connection = await open(daemon);
    for (let i = 0; i < 5; i += 1) {
      const answer = await connection.get('/v1/environments/nope/logs?follow=1');
      expect(answer.status).toBe(404);
    }
    for (let i = 0; i < 3; i += 1) expect((await (await open(daemon)).events()).status).toBe(200);
  });

  it('refuses a uid its 6th connection, answering its first request, then closing it', async () => {
    for (let i = 0; i < 5; i += 1) expect((await (await open(daemon)).get('/v1/version')).status).toBe(200);
    const sixth = await open(daemon);
    const answer = await sixth.get('/v1/version');
    expect(answer.status).toBe(429);
    expect(answer.head).toMatch(/connection: close/i);
    expect(answer.body).toMatchObject({ code: 'too-many-requests' });
    expect(answer.body.message).toMatch(/already has 5 open API connections, the limit per user \(5\)/);
  });
});

describe('limits for all users together', () => {
  let daemon: HearthdProcess;
  beforeAll(async () => {
    daemon = await HearthdProcess.start(undefined, [
      '--test-api-limits',
      'connections=6,connectionsPerUid=100,streams=2,streamsPerUid=100',
    ]);
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('refuses the 3rd event stream', async () => {
    for (let i = 0; i < 2; i += 1) expect((await (await open(daemon)).events()).status).toBe(200);
    const refused = await (await open(daemon)).events();
    expect(refused).toMatchObject({ status: 429, body: { code: 'too-many-requests' } });
    expect(refused.body?.message).toMatch(/already has 2 open event streams, its limit for all users together \(2\)/);
  });

  it('refuses the 7th connection and drops one that never asks', async () => {
    for (let i = 0; i < 6; i += 1) expect((await (await open(daemon)).get('/v1/version')).status).toBe(200);
    const answer = await (await open(daemon)).get('/v1/version');
    expect(answer.status).toBe(429);
    expect(answer.body.message).toMatch(/its limit for all users together \(6\)/);
    const silent = await open(daemon);
    const started = Date.now();
    await new Promise<void>((resolve) => silent.socket.once('close', () => resolve()));
    expect(Date.now() - started).toBeLessThan(5_000);
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await new Promise((r) => setTimeout(r, 200));
    expect((await (await open(daemon)).get('/v1/version')).status).toBe(200);
  });
});
