import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthEvent, type HearthEventOf } from '#protocol';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { assertMatches } from './support/schema.js';
import { eventually } from './support/eventually.js';

/** Opens a raw SSE connection, waits for its first bytes, then drops it abruptly. */
function connectAndDrop(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/v1/events', headers: { accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.once('error', (error) => (req.destroyed ? resolve() : reject(error)));
    req.end();
  });
}

describe('event stream', () => {
  let daemon: HearthdProcess;
  beforeAll(async () => {
    daemon = await HearthdProcess.start(await makePaths(), ['--heartbeat-seconds', '1', '--log-level', 'debug']);
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('says hello, then sends a heartbeat within its interval', async () => {
    const client = daemon.client();
    const controller = new AbortController();
    const stream = client.events(controller.signal);
    const hello = (await stream.next()).value as HearthEventOf<'hello'>;
    assertMatches(HearthEvent, hello);
    expect(hello).toMatchObject({ type: 'hello', api: 'v1' });
    const started = Date.now();
    let heartbeat: HearthEvent | undefined;
    for await (const event of stream) {
      assertMatches(HearthEvent, event);
      if (event.type === 'heartbeat') {
        heartbeat = event;
        break;
      }
    }
    expect(heartbeat).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2_500); // interval 1 s, with slack for a loaded machine
    expect(heartbeat!.seq).toBeGreaterThan(hello.seq);
    controller.abort();
    await client.close();
  });

  it('announces settings changes to subscribers', async () => {
    const client = daemon.client();
    const controller = new AbortController();
    const stream = client.events(controller.signal);
    await stream.next();
    await client.call('updateConfig', { body: { readinessIntervalSeconds: 300 } });
    let change: HearthEvent | undefined;
    for await (const event of stream) {
      if (event.type === 'config') {
        change = event;
        break;
      }
    }
    expect(change).toMatchObject({ type: 'config', settings: { readinessIntervalSeconds: 300 } });
    controller.abort();
    await client.close();
  });

  it('survives 20 clients connecting and dropping, and forgets them', async () => {
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: 10 }, () => connectAndDrop(daemon.paths.socket)));
    }
    const client = daemon.client();
    const controller = new AbortController();
    const stream = client.events(controller.signal);
    expect((await stream.next()).value).toMatchObject({ type: 'hello' });
    let sawHeartbeat = false;
    for await (const event of stream) {
      if (event.type === 'heartbeat') {
        sawHeartbeat = true;
        break;
      }
    }
    expect(sawHeartbeat).toBe(true);
    controller.abort();
    await client.close();
    // Every dropped stream is noticed and forgotten: hearthd's count of open streams returns
    // to zero once all of ours are gone.
    const count = (msg: string) => daemon.logs().filter((l) => l.msg === msg);
    await eventually(() => count('event stream closed').length >= count('event stream opened').length, {
      what: 'every event stream to be closed',
      timeoutMs: 5_000,
    });
    expect(count('event stream opened').length).toBeGreaterThanOrEqual(21);
    expect(count('event stream closed').length).toBe(count('event stream opened').length);
    expect(count('event stream closed').at(-1)?.open).toBe(0);
  });
});
