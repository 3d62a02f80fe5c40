import { appendFile, mkdtemp, readdir, readFile, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileFollowers } from '../src/environments/file-follower.js';
import { followFile } from '../src/environments/log-files.js';
import { eventually } from './support/eventually.js';

/** inotify watches this process holds, as the kernel counts them. */
async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

describe('shared file follower', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-follow-'));
    file = join(dir, 'console.log');
    await writeFile(file, 'before\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds one watch for 2,000 followers of a file, fans every append out, and closes on the last unsubscribe', async () => {
    const followers = new FileFollowers();
    const baseline = await inotifyWatches();
    const received = Array.from({ length: 2000 }, () => '');
    const stops = received.map((_, i) =>
      followers.follow(file, 7, (text) => {
        received[i] = `${received[i] ?? ''}${text}`;
      }),
    );
    expect(followers.stats()).toEqual(new Map([[file, 2000]]));
    await appendFile(file, 'one\n');
    await eventually(() => received.every((r) => r === 'one\n'));
    expect(await inotifyWatches()).toBe(baseline + 1);
    for (const stop of stops.slice(1)) stop();
    await appendFile(file, 'two\n');
    await eventually(() => received[0] === 'one\ntwo\n');
    expect(received[1]).toBe('one\n');
    stops[0]!();
    expect(followers.stats().size).toBe(0);
    expect(await inotifyWatches()).toBe(baseline);
  });

  it('catches a late follower up from its own offset, and one ahead skips what it has', async () => {
    const followers = new FileFollowers();
    let first = '';
    const stopFirst = followers.follow(file, 7, (t) => (first += t));
    await appendFile(file, 'a\nb\n');
    await eventually(() => first === 'a\nb\n');
    let behind = '';
    let ahead = '';
    const stopBehind = followers.follow(file, 7, (t) => (behind += t));
    const stopAhead = followers.follow(file, 9, (t) => (ahead += t));
    await appendFile(file, 'c\n');
    await eventually(() => behind === 'a\nb\nc\n' && ahead === 'b\nc\n' && first === 'a\nb\nc\n');
    stopFirst();
    stopBehind();
    stopAhead();
  });

  it('delivers a character split between two writes whole, to every follower', async () => {
    const followers = new FileFollowers();
    const texts = ['', ''];
    const stops = texts.map((_, i) => followers.follow(file, 7, (t) => (texts[i] = `${texts[i] ?? ''}${t}`)));
    const euro = Buffer.from('€\n');
    await appendFile(file, euro.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(file, euro.subarray(1));
    await eventually(() => texts.every((t) => t === '€\n'));
    for (const stop of stops) stop();
  });

  it('starts again at the beginning when the file is truncated (rotation), and waits for a missing file', async () => {
    const followers = new FileFollowers();
    let text = '';
    const stop = followers.follow(file, 7, (t) => (text += t));
    await truncate(file, 0);
    await appendFile(file, 'fresh\n');
    await eventually(() => text === 'fresh\n');
    stop();

    const later = join(dir, 'later.log');
    let laterText = '';
    const stopLater = followers.follow(later, 0, (t) => (laterText += t));
    await writeFile(later, 'appeared\n');
    await eventually(() => laterText === 'appeared\n');
    stopLater();
  });

  it('one follower that throws does not starve the others', async () => {
    const followers = new FileFollowers();
    let good = '';
    const stopBad = followers.follow(file, 7, () => {
      throw new Error('bad subscriber');
    });
    const stopGood = followers.follow(file, 7, (t) => (good += t));
    await appendFile(file, 'x\n');
    await eventually(() => good === 'x\n');
    stopBad();
    stopGood();
  });

  it('is what followFile uses, so every caller shares it', async () => {
    const baseline = await inotifyWatches();
    const texts = ['', '', ''];
    const stops = texts.map((_, i) => followFile(file, 7, (t) => (texts[i] = `${texts[i] ?? ''}${t}`)));
    await appendFile(file, 'shared\n');
    await eventually(() => texts.every((t) => t === 'shared\n'));
    expect(await inotifyWatches()).toBe(baseline + 1);
    for (const stop of stops) stop();
    expect(await inotifyWatches()).toBe(baseline);
  });
});
