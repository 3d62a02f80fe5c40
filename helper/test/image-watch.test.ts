import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage } from './support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from './support/hearthd-process.js';
import { requestAs } from './support/request-as.js';
import { eventually } from './support/eventually.js';
import { SseReader } from './support/sse-reader.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

interface ImageEventSeen {
  name: string;
  change: string;
  progress: unknown;
}

/** Longer than the watcher's settling time several times over: a second event would be here. */
const QUIET_MS = 1_500;

// An administrator installs and removes images beside a running hearthd (`hearthd install-image`
// and `build-image` are processes of their own): a client with the list open hears of each.
describe('images changed outside the API', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let events: SseReader;
  const seen = (name: string): ImageEventSeen[] =>
    events.messages
      .filter((m) => m.event === 'image')
      .map((m) => m.data as ImageEventSeen)
      .filter((e) => e.name === name);
  const listed = async () =>
    ((await requestAs(paths.socket, 0, 'GET', '/v1/images')).body.images as Array<{ name: string }>).map((i) => i.name);

  beforeAll(async () => {
    paths = await makePaths('hearthd-image-watch-');
    daemon = await HearthdProcess.start(paths);
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    events = await SseReader.open(paths.socket, '/v1/events');
  }, 300_000);

  afterAll(async () => {
    // Whatever beforeAll got to make, also when it failed half-way.
    const made = { events, daemon } as Partial<{ events: SseReader; daemon: HearthdProcess }>;
    made.events?.close();
    await made.daemon?.dispose();
  });

  it('announces an image install-image put in place, once, and again when it is replaced', async () => {
    await installTestImage(paths, { name: 'outside' });
    await eventually(() => seen('outside').length > 0, { timeoutMs: 10_000, what: 'an image event for "outside"' });
    await sleep(QUIET_MS);
    expect(seen('outside')).toEqual([expect.objectContaining({ change: 'installed', progress: null })]);
    expect(await listed()).toContain('outside');

    await installTestImage(paths, { name: 'outside', readyMarker: 'ANOTHER-MARKER' });
    await eventually(() => seen('outside').length > 1, {
      timeoutMs: 10_000,
      what: 'a second image event for "outside"',
    });
    expect(seen('outside')[1]).toMatchObject({ change: 'installed' });
  }, 120_000);

  it('announces an image removed from the store by hand', async () => {
    await installTestImage(paths, { name: 'by-hand' });
    await eventually(() => seen('by-hand').length > 0, { timeoutMs: 10_000, what: 'the install of "by-hand"' });
    await rm(join(paths.stateDir, 'images', 'by-hand'), { recursive: true });
    await eventually(() => seen('by-hand').some((e) => e.change === 'deleted'), {
      timeoutMs: 10_000,
      what: 'the removal of "by-hand"',
    });
    expect(await listed()).not.toContain('by-hand');
  }, 120_000);

  it('announces a deletion through the API once, not again when the watcher sees it', async () => {
    await installTestImage(paths, { name: 'through-api' });
    await eventually(() => seen('through-api').length > 0, { timeoutMs: 10_000, what: 'the install of "through-api"' });
    expect((await requestAs(paths.socket, 0, 'DELETE', '/v1/images/through-api')).status).toBe(200);
    await eventually(() => seen('through-api').length > 1, { timeoutMs: 10_000, what: 'the deleted event' });
    await sleep(QUIET_MS);
    expect(seen('through-api').map((e) => e.change)).toEqual(['installed', 'deleted']);
  }, 120_000);
});
