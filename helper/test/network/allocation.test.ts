import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthdProcess, makePaths } from '../support/hearthd-process.js';
import { addTinyClass, installTestImage, TEST_IMAGE } from '../support/environments.js';
import { asUnit } from '../support/unit-profile.js';
import { Namespaces } from './support/topology.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';

/**
 * Which environments get a network, through a real hearthd: an image with cloud-init
 * provisioning gives each one a stable address, MAC and `<name>.hearth`, unique among them;
 * the busybox test guest (no provisioning) gets none. Created stopped: no VM boots here.
 */
describe('network allocation at create', skipWhen(NEEDS_ROOT), () => {
  const nss = new Namespaces();
  let daemon: HearthdProcess | undefined;

  beforeAll(async () => {
    const ws = await nss.add('aws');
    const paths = await makePaths();
    await installTestImage(paths);
    await installTestImage(paths, { name: 'cloudy' });
    // The test guest's files, declared as a cloud-init image (what the catalog's images are).
    const manifest = join(paths.stateDir, 'images', 'cloudy', 'manifest.json');
    const parsed = JSON.parse(await readFile(manifest, 'utf8')) as Record<string, unknown>;
    await writeFile(manifest, JSON.stringify({ ...parsed, provisioning: 'cloud-init' }));
    daemon = await HearthdProcess.start(paths, [], ['ip', 'netns', 'exec', ws, ...asUnit()]);
  }, 180_000);

  afterAll(async () => {
    await daemon?.dispose();
    await nss.destroy();
  });

  it('gives cloud-init environments distinct, stable places on the bridge, and the test guest none', async () => {
    const client = daemon!.client();
    try {
      await addTinyClass(client);
      const create = (name: string, image: string, isolated?: boolean) =>
        client.call('createEnvironment', {
          body: { name, class: 'tiny', image, start: false, ...(isolated !== undefined && { isolated }) },
        });
      const web = await create('web', 'cloudy');
      const db = await create('db', 'cloudy', true);
      const plain = await create('plain', TEST_IMAGE);
      expect(web.network).toMatchObject({ address: '10.131.0.2', hostname: 'web.hearth', isolated: false });
      expect(db.network).toMatchObject({ address: '10.131.0.3', hostname: 'db.hearth', isolated: true });
      expect(web.network!.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
      expect(db.network!.mac).not.toBe(web.network!.mac);
      expect(plain.network).toBeNull();
      // The first free host is taken again after a delete; the others keep theirs.
      await client.call('deleteEnvironment', { params: { id: 'web' } });
      await expect
        .poll(async () => (await client.call('listEnvironments')).environments.map((e) => e.name))
        .not.toContain('web');
      const again = await create('web2', 'cloudy');
      expect(again.network?.address).toBe('10.131.0.2');
      expect((await client.call('getEnvironment', { params: { id: 'db' } })).network).toEqual(db.network);
    } finally {
      await client.close();
    }
  }, 60_000);
});
