import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STREAMS, STREAM_WINDOW_BYTES, VM_BUFFER_MAX_BYTES } from '../src/guest/protocol/frames.js';
import { OUTGOING_HIGH_BYTES } from '../src/guest/channel.js';
import { GuestSession } from '../src/guest/session.js';
import { createLogger } from '../src/log.js';
import { AgentWorld } from './support/guest-agent-process.js';
import { eventually } from './support/eventually.js';

/**
 * The channel under a hostile guest (issue 15's acceptance): the test plays VM A's guest over the
 * real endpoint type — QEMU's chardev socket, which hearthd's session connects to — and does
 * everything a guest could: thousands of stream opens (of kinds and ids it may not use too),
 * data beyond its credit, a full window on every stream of a handler that never reads, a guest
 * that does not read hearthd's answers, then floods of junk, half-JSON and oversized lines.
 * Meanwhile VM B — the real agent behind its own session — keeps running commands, and the
 * event loop's delay is measured: hearthd must answer its API in under 100 ms throughout.
 */
const log = createLogger('silent', { write: () => undefined });
const line = (frame: unknown) => `${JSON.stringify(frame)}\n`;

let world: AgentWorld;
let server: Server;
let vmA: GuestSession;
let vmB: GuestSession;
let guest: Socket;
/** What hearthd sent guest A, once it reads (it starts as a guest that does not). */
const fromHearthd: Array<Record<string, unknown>> = [];
const delay = monitorEventLoopDelay({ resolution: 10 });
/** VM B's round trips: a command run in its guest, start to exit, while A misbehaves. */
const roundTrips: number[] = [];
let keepB = true;
let bLoop: Promise<void>;

async function write(text: string): Promise<void> {
  if (!guest.write(text)) await once(guest, 'drain');
}

beforeAll(async () => {
  world = await AgentWorld.make();
  const pathA = join(world.dir, 'a-chardev.sock');
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((r) => server.listen(pathA, r));
  vmA = new GuestSession({ endpoint: { connect: pathA }, log }).open();
  guest = await accepted;
  guest.on('error', () => undefined);
  guest.pause(); // a guest that reads nothing hearthd says
  const pathB = join(world.dir, 'b-vsock.sock');
  vmB = new GuestSession({ endpoint: { listen: pathB }, log }).open();
  await eventually(() => existsSync(pathB));
  world.start(pathB);
  await vmB.whenPeer();
  bLoop = (async () => {
    while (keepB) {
      const started = performance.now();
      const p = vmB.exec({ argv: ['echo', 'still here'], user: 'dev' });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.resume();
      await p.exit;
      await eventually(() => out === 'still here\n', { timeoutMs: 5_000 });
      roundTrips.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  delay.enable();
});

afterAll(async () => {
  keepB = false;
  await bLoop.catch(() => undefined);
  delay.disable();
  vmA.close();
  vmB.close();
  guest.destroy();
  server.close();
  await world.dispose();
});

describe('a hostile guest on VM A', () => {
  it('thousands of opens, forbidden kinds and ids, full windows on a stalled handler, data beyond credit: capped, refused, counted', async () => {
    await write(line({ type: 'hello', protocol: 2, agent: 3, session: 'ab'.repeat(16), features: ['exec'] }));
    await vmA.whenPeer();
    // The handler echoes stream 1 and never reads any other: a stalled reader on 510 streams.
    const stalled: Duplex[] = [];
    vmA.serve('git-credential', (stream) => {
      if ((stream as unknown as { id: number }).id === 1) stream.pipe(stream);
      else stalled.push(stream);
    });
    delay.reset();
    const opens = 5_000;
    let batch = '';
    for (let i = 0; i < opens; i++)
      batch += line({ type: 'open', stream: 2 * i + 1, kind: 'git-credential', window: STREAM_WINDOW_BYTES });
    for (let i = 0; i < 300; i++) {
      batch += line({ type: 'open', stream: 10_001 + 2 * i, kind: 'exec', params: { argv: ['sh'] }, window: 1 });
      batch += line({ type: 'open', stream: 20_000 + 2 * i, kind: 'git-credential', window: 1 });
      batch += line({
        type: 'open',
        stream: 30_001 + 2 * i,
        kind: 'port',
        params: { host: '10.0.0.1', port: 22 },
        window: 1,
      });
    }
    await write(batch);
    // A full window on every stream hearthd took (ids 3 … 1023), as fast as the guest can.
    const full = Buffer.alloc(STREAM_WINDOW_BYTES, 0x61).toString('base64');
    for (let id = 3; id < 2 * MAX_STREAMS; id += 2) await write(line({ type: 'data', stream: id, data: full }));
    // One byte more than stream 3's credit; data for a stream that does not exist.
    await write(line({ type: 'data', stream: 3, data: 'YQ==' }) + line({ type: 'data', stream: 99_999, data: 'YQ==' }));
    const settled = await eventually(
      () => {
        const stats = vmA.stats;
        return stats.refused.creditViolations === 1 && stats.refused.unknownStream === 1 && stats;
      },
      { timeoutMs: 30_000, what: 'hearthd to take all of it', context: () => JSON.stringify(vmA.stats) },
    );
    expect(settled.refused).toMatchObject({ overCap: opens - MAX_STREAMS, refusedOpens: 900 });
    // Stream 3 was reset; the other 510 stalled streams hold a full window each, and no more.
    expect(settled.openStreams).toBe(MAX_STREAMS - 1);
    expect(settled.bufferedBytes).toBe((MAX_STREAMS - 2) * STREAM_WINDOW_BYTES);
    expect(settled.bufferedBytes).toBeLessThanOrEqual(VM_BUFFER_MAX_BYTES);
    expect(stalled).toHaveLength(MAX_STREAMS - 1);
    expect(delay.max / 1e6).toBeLessThan(100);

    // Now the guest reads: hearthd's refusals are there, and the one stream whose reader reads
    // still answers while 510 others stall.
    let buffered = '';
    guest.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const part of parts) fromHearthd.push(JSON.parse(part) as Record<string, unknown>);
    });
    guest.resume();
    await write(line({ type: 'data', stream: 1, data: Buffer.from('echo me').toString('base64') }));
    const echoed = await eventually(() => fromHearthd.find((f) => f.type === 'data' && f.stream === 1));
    expect(Buffer.from(echoed.data as string, 'base64').toString()).toBe('echo me');
    const closes = fromHearthd.filter((f) => f.type === 'close');
    expect(closes.filter((f) => f.error === 'refused: too many streams')).toHaveLength(opens - MAX_STREAMS);
    expect(closes.filter((f) => f.error === 'data beyond credit').map((f) => f.stream)).toEqual([3]);
    // Every stream hearthd accepted got exactly one window: no credit beyond it while unread.
    const windows = fromHearthd.filter((f) => f.type === 'window' && f.stream !== 1);
    expect(windows).toHaveLength(MAX_STREAMS - 1);
    expect(windows.every((w) => w.bytes === STREAM_WINDOW_BYTES)).toBe(true);
  });

  it('floods of junk, cut JSON and oversized lines stall only the guest: hearthd reads its budget and stays responsive', async () => {
    delay.reset();
    const before = vmA.stats;
    const tripsBefore = roundTrips.length;
    const junk = 'x\n'.repeat(500) + '{\n'.repeat(500) + '{"type":"data","stream":"1"}\n'.repeat(100);
    const oversized = `{"type":"data","stream":1,"data":"${'A'.repeat(200_000)}"}\n`;
    const started = Date.now();
    let written = 0;
    while (Date.now() - started < 3_000) {
      await write(junk);
      await write(oversized);
      written += junk.length + oversized.length;
    }
    const seconds = (Date.now() - started) / 1_000;
    const after = vmA.stats;
    const lines = after.dropped.notJson + after.dropped.invalid - before.dropped.notJson - before.dropped.invalid;
    // Dropped and counted, at most at the budget's pace (2,000 lines a second, with a tenth's slack).
    expect(after.dropped.notJson).toBeGreaterThan(before.dropped.notJson);
    expect(after.dropped.overlong).toBeGreaterThan(before.dropped.overlong);
    expect(lines).toBeLessThanOrEqual(2_000 * (seconds + 0.5));
    expect(after.throttled).toBeGreaterThan(before.throttled);
    // The guest's writes stalled: far less was taken than a free-running socket would have.
    expect(written).toBeLessThan(16 * 1024 * 1024 * seconds);
    // Nothing more held, nothing more open.
    expect(after.bufferedBytes).toBeLessThanOrEqual(VM_BUFFER_MAX_BYTES);
    expect(after.openStreams).toBe(MAX_STREAMS - 1);
    // VM B kept going, and the event loop never stalled.
    expect(roundTrips.length).toBeGreaterThan(tripsBefore + 5);
    expect(Math.max(...roundTrips.slice(tripsBefore))).toBeLessThan(2_000);
    expect(delay.max / 1e6).toBeLessThan(100);
    console.log(
      `hostile guest: ${(written / 1e6).toFixed(1)} MB offered in ${seconds.toFixed(1)} s, ${lines} lines taken, ` +
        `throttled ${after.throttled - before.throttled}×; event loop max delay ${(delay.max / 1e6).toFixed(1)} ms; ` +
        `VM B: ${roundTrips.length - tripsBefore} commands, slowest ${Math.max(...roundTrips.slice(tripsBefore)).toFixed(0)} ms; ` +
        `A holds ${after.bufferedBytes} B in ${after.openStreams} streams; rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
    );
  });
});

describe('a guest that never reads what hearthd sends (VM C)', () => {
  it('costs about OUTGOING_HIGH_BYTES: writes wait, hearthd stops reading it, and all of it arrives once it reads', async () => {
    const path = join(world.dir, 'c-chardev.sock');
    let c!: Socket;
    const accepted = new Promise<Socket>((resolve) => {
      const s = createServer(resolve);
      s.listen(path);
      afterAll(() => s.close());
    });
    const vmC = new GuestSession({ endpoint: { connect: path }, log }).open();
    try {
      c = await accepted;
      c.on('error', () => undefined);
      c.pause();
      // Each guest-opened stream grants hearthd a full window, and hearthd's handler fills it at once.
      let written = 0;
      vmC.serve('ssh-agent', (stream) => {
        stream.write(Buffer.alloc(STREAM_WINDOW_BYTES, 0x62), () => (written += 1));
        stream.resume();
      });
      const streams = 200;
      let opens = line({ type: 'hello', protocol: 2, agent: 3, session: 'cd'.repeat(16), features: [] });
      for (let i = 0; i < streams; i++)
        opens += line({ type: 'open', stream: 2 * i + 1, kind: 'ssh-agent', window: STREAM_WINDOW_BYTES });
      c.write(opens);
      await eventually(() => vmC.stats.openStreams === streams, { what: 'the opens to be taken' });
      await new Promise((r) => setTimeout(r, 500));
      const held = vmC.stats.unsentBytes;
      // 200 windows would be 8.7 MB of frames; hearthd holds about its mark, and the writes wait.
      expect(held).toBeGreaterThan(OUTGOING_HIGH_BYTES);
      expect(held).toBeLessThan(OUTGOING_HIGH_BYTES + 128 * 1024);
      expect(written).toBeLessThan(streams);
      // It does not read the guest either, now: a request goes unanswered while the guest reads nothing.
      const taken = vmC.stats.delivered;
      c.write(line({ type: 'request', id: 7, method: 'ping' }));
      await new Promise((r) => setTimeout(r, 300));
      expect(vmC.stats.delivered).toBe(taken);
      expect(vmC.stats.unsentBytes).toBe(held);
      let text = '';
      c.on('data', (chunk: Buffer) => (text += chunk.toString()));
      c.resume();
      await eventually(() => written === streams, { what: 'every write to go out once the guest reads' });
      await eventually(() => text.includes('"type":"response","id":7'), { what: 'the ping answered' });
      const frames = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const bytes = frames
        .filter((f) => f.type === 'data')
        .reduce((sum, f) => sum + Buffer.from(f.data as string, 'base64').length, 0);
      expect(bytes).toBe(streams * STREAM_WINDOW_BYTES);
    } finally {
      vmC.close();
      c.destroy();
    }
  });
});
