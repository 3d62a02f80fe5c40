import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useTunLikeDistributions, type TunPlaces } from './support/tun.js';

/**
 * useTunLikeDistributions against a scratch file standing in for /dev/net/tun: the machine's mode
 * comes back only when the last holder is done, whoever changed it, and a dead holder does not
 * keep it changed for ever.
 */
describe('the tun mode while tests hold it', () => {
  let dir: string;
  let places: TunPlaces;
  const mode = async () => (await stat(places.device)).mode & 0o777;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-tun-'));
    places = { device: join(dir, 'tun'), state: join(dir, 'state') };
    await writeFile(places.device, '', { mode: 0o600 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is 0666 while anyone holds it and the machine’s own mode after the last lets go', async () => {
    const first = await useTunLikeDistributions(places);
    expect(await mode()).toBe(0o666);
    const second = await useTunLikeDistributions(places);
    await first();
    expect(await mode()).toBe(0o666);
    await second();
    expect(await mode()).toBe(0o600);
  });

  it('leaves a mode that was already 0666 as it was', async () => {
    await chmod(places.device, 0o666);
    const release = await useTunLikeDistributions(places);
    await release();
    expect(await mode()).toBe(0o666);
  });

  it('does not count a holder whose process died', async () => {
    const release = await useTunLikeDistributions(places);
    // A holder that crashed: a pid no process has.
    await writeFile(join(places.state, 'holders', '2147483646-dead'), '');
    await release();
    expect(await mode()).toBe(0o600);
  });
});
