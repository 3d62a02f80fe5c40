import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdClient } from '#protocol/client';
import { addTinyClass, installTestImage } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { rssMiB } from './support/hostile-vmm.js';
import { eventually } from './support/eventually.js';
import { SseReader } from './support/sse-reader.js';

const STALL_MS = 3_000;
const MIB = 1024 * 1024;
/** Numbered lines of ~100 bytes, `count` of them from `first`. */
const lines = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => `L${String(first + i).padStart(8, '0')} ${'x'.repeat(90)}\n`).join('');
const LINES_PER_MIB = Math.floor(MIB / 100);

/**
 * A console receiving bursts far larger than a socket's buffer: a follower that reads keeps
 * every line (the reader waits for the socket, it does not drop the client), and one that reads
 * nothing is dropped after the stall timeout without hearthd holding the bursts for it. No VM:
 * the bursts are appended to the console file of a stopped environment, as a guest's would be.
 */
describe('following a console through bursts', () => {
  let daemon: HearthdProcess;
  let client: HearthdClient;
  let consoleFile: string;
  let id: string;

  beforeAll(async () => {
    const paths = await makePaths('hearthd-burst-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--test-api-limits', `stallMs=${STALL_MS}`]);
    client = daemon.client();
    await addTinyClass(client);
    id = (await client.call('createEnvironment', { body: { name: 'burst', class: 'tiny', start: false } })).id;
    consoleFile = join(paths.stateDir, 'environments', id, 'console.log');
    await appendFile(consoleFile, 'before\n');
  }, 120_000);

  afterAll(async () => {
    await client.close();
    await daemon.dispose();
  });

  const follow = () => SseReader.open(daemon.paths.socket, `/v1/environments/${id}/logs?follow=1&tail=0`);
  const received = (reader: SseReader) =>
    reader.messages.filter((m) => m.event === 'lines').flatMap((m) => (m.data as { lines: string[] }).lines);
  /** How many lines have arrived, counted as they come (polled every few ms while timing). */
  const counted = new WeakMap<SseReader, { messages: number; lines: number }>();
  const arrived = (reader: SseReader) => {
    const seen = counted.get(reader) ?? { messages: 0, lines: 0 };
    for (; seen.messages < reader.messages.length; seen.messages += 1) {
      const m = reader.messages[seen.messages]!;
      if (m.event === 'lines') seen.lines += (m.data as { lines: string[] }).lines.length;
    }
    counted.set(reader, seen);
    return seen.lines;
  };
  const until = async (check: () => boolean, what: string, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };

  it('delivers 10 MB written in 1 MB bursts to a follower, every line in order', async () => {
    const reader = await follow();
    const bursts = 10;
    const started = performance.now();
    for (let burst = 0; burst < bursts; burst += 1) {
      // The next burst lands while the one before is still on its way (two in flight at most):
      // what is measured is the follower's pace, not a sleep, and it stays within the 4 MiB a
      // follower may lag before it skips ahead.
      if (burst >= 2) await until(() => arrived(reader) >= (burst - 1) * LINES_PER_MIB, `burst ${burst - 2}`);
      await appendFile(consoleFile, lines(burst * LINES_PER_MIB, LINES_PER_MIB));
    }
    const total = bursts * LINES_PER_MIB;
    await until(() => arrived(reader) >= total || reader.closed, 'every line', 60_000);
    const seconds = (performance.now() - started) / 1000;
    const got = received(reader);
    expect(reader.closed).toBe(false);
    expect(got.length).toBe(total);
    got.forEach((line, i) => {
      if (!line.startsWith(`L${String(i).padStart(8, '0')} `)) expect(line, `line ${i}`).toBe(`L${i}`);
    });
    const messages = reader.messages.filter((m) => m.event === 'lines').length;
    console.log(
      `burst follow: ${((bursts * LINES_PER_MIB * 100) / MIB / seconds).toFixed(1)} MiB/s (${messages} messages)`,
    );
    reader.close();
  }, 90_000);

  it('drops a follower that reads nothing after the stall timeout, holding little for it meanwhile', async () => {
    const pid = daemon.child.pid!;
    const before = await rssMiB(pid);
    const stalled = await follow();
    stalled.pause();
    const reading = await follow();
    const first = 10 * LINES_PER_MIB;
    await appendFile(consoleFile, lines(first, 3 * LINES_PER_MIB));
    // The one that reads is not held back by the one that does not.
    await eventually(() => received(reading).length >= 3 * LINES_PER_MIB, {
      timeoutMs: 30_000,
      what: 'the reading follower',
    });
    const during = await rssMiB(pid);
    // A paused socket does not notice its end: read again once the stall timeout has passed.
    await new Promise((r) => setTimeout(r, STALL_MS + 1_000));
    stalled.resume();
    await eventually(() => stalled.closed, { timeoutMs: 10_000, what: 'the stalled follower to be dropped' });
    // Dropped with part of the bursts unsent: hearthd did not hold 3 MB for it.
    expect(received(stalled).length).toBeLessThan(3 * LINES_PER_MIB);
    expect(reading.closed).toBe(false);
    console.log(`hearthd RSS ${before.toFixed(0)} MiB before, ${during.toFixed(0)} MiB with a stalled follower`);
    expect(during - before).toBeLessThan(64);
    reading.close();
  }, 60_000);
});
