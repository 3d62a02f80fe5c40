import { chmod } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdLog, HearthdLogEntry } from '#protocol';
import { createLogger } from '../src/log.js';
import { LogRing, visibleTo } from '../src/log-ring.js';
import { installTestImage } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { requestAs } from './support/request-as.js';
import { eventually } from './support/eventually.js';
import { SseReader } from './support/sse-reader.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const NOBODY = 65534;
const OTHER = 4321;

describe("hearthd's own log in its ring", () => {
  it('keeps only redacted lines, attributes them, and evicts by count and bytes', () => {
    const ring = new LogRing(3, 1024 * 1024);
    const log = createLogger('info', { write: () => undefined }, ring);
    log.info({ githubToken: 'ghp_SECRET', nested: { password: 'hunter2' } }, 'cloning');
    log.child({ env: 'env-0123456789ab', envName: 'web', envOwner: 1000 }).warn('disk almost full');
    log.debug('below the level');
    const all = ring.since(0);
    expect(JSON.stringify(all)).not.toMatch(/ghp_SECRET|hunter2/);
    expect(all[0]!.entry.msg).toContain('[redacted]');
    expect(all[1]).toMatchObject({
      owner: 1000,
      entry: { seq: 2, level: 'warn', msg: 'disk almost full', environment: { id: 'env-0123456789ab', name: 'web' } },
    });
    expect(all).toHaveLength(2);
    expect(visibleTo({ uid: null, admin: false }, all[1]!)).toBe(false);
    expect(visibleTo({ uid: 1000, admin: false }, all[1]!)).toBe(true);
    expect(visibleTo({ uid: 1000, admin: false }, all[0]!)).toBe(false);
    expect(visibleTo({ uid: 1001, admin: true }, all[0]!)).toBe(true);
    for (let i = 0; i < 3; i += 1) log.error(`e${i}`);
    expect(ring.size).toBe(3);
    expect(ring.dropped).toBe(2);
    expect(ring.since(0).map((i) => i.entry.seq)).toEqual([3, 4, 5]);

    const small = new LogRing(5_000, 2_000);
    const logSmall = createLogger('info', { write: () => undefined }, small);
    for (let i = 0; i < 50; i += 1) logSmall.info('x'.repeat(200));
    expect(small.size).toBeLessThan(50);
    expect(small.dropped + small.size).toBe(50);
  });
});

/** A real hearthd; callers of other uids through setpriv + curl over the real socket. */
describe('GET /v1/log', skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  const as = async (uid: number, path: string, method = 'GET', body?: unknown) =>
    (await requestAs(daemon.paths.socket, uid, method, path, body)).body as unknown as HearthdLog & { id?: string };
  const names = (entries: HearthdLogEntry[]) =>
    new Set(entries.flatMap((e) => (e.environment ? [e.environment.name] : [])));

  beforeAll(async () => {
    const paths = await makePaths('hearthd-log-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    const client = daemon.client();
    await client.call('updateConfig', { body: { minimumMemoryMiB: 64 } });
    await client.call('putClass', { params: { name: 'tiny' }, body: { cpus: 1, memoryMiB: 128, diskGiB: 1 } });
    await client.close();
  }, 120_000);

  afterAll(async () => {
    await daemon.dispose();
  });

  it('shows an administrator everything and a member only their own environments, also when followed', async () => {
    const follow = await SseReader.open(daemon.paths.socket, '/v1/log?follow=1&tail=0');
    expect(
      (await as(OTHER, '/v1/environments', 'POST', { name: 'mine', class: 'tiny', start: false })).id,
    ).toBeTruthy();
    expect(
      (await as(NOBODY, '/v1/environments', 'POST', { name: 'theirs', class: 'tiny', start: false })).id,
    ).toBeTruthy();

    const root = await as(0, '/v1/log?tail=10000');
    expect(names(root.entries)).toEqual(new Set(['mine', 'theirs']));
    expect(root.entries.some((e) => !e.environment && e.msg.startsWith('hearthd listening '))).toBe(true);
    expect(root.dropped).toBe(0);
    const seqs = root.entries.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const member = await as(OTHER, '/v1/log?tail=10000');
    expect(member.entries.length).toBeGreaterThan(0);
    expect(member.entries.every((e) => e.environment?.name === 'mine')).toBe(true);
    expect((await as(NOBODY, '/v1/log')).entries.every((e) => e.environment?.name === 'theirs')).toBe(true);

    // Followed: what was logged after it opened arrives, as `entries` batches.
    await eventually(() => follow.messages.some((m) => m.event === 'entries'), {
      timeoutMs: 10_000,
      what: 'a followed batch',
    });
    const followed = follow.messages.flatMap((m) =>
      m.event === 'entries' ? (m.data as { entries: HearthdLogEntry[] }).entries : [],
    );
    expect(names(followed)).toEqual(new Set(['mine', 'theirs']));
    follow.close();
  });

  it('filters by minimum level and tails', async () => {
    const warn = await as(0, '/v1/log?level=warn&tail=10000');
    expect(warn.entries.every((e) => ['warn', 'error', 'fatal'].includes(e.level))).toBe(true);
    const info = await as(0, '/v1/log?level=info&tail=10000');
    expect(info.entries.length).toBeGreaterThan(warn.entries.length);
    expect((await as(0, '/v1/log?tail=2')).entries).toHaveLength(2);
  });

  it('never serves a credential: what is on stdout is what the ring holds, redacted', async () => {
    const text = JSON.stringify(await as(0, '/v1/log?tail=10000'));
    expect(text).not.toMatch(/"(token|password|secret)"\s*:\s*"(?!\[redacted\])/i);
  });
});
