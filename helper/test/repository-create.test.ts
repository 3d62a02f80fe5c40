import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '#protocol';
import { addTinyClass, installTestImage, TEST_IMAGE } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { raw } from './support/raw-http.js';
import { assertMatches } from './support/schema.js';

/**
 * A create that names a repository, refused before anything is made: every hostile URL is a 400
 * naming `repository` whatever the image or class, and an image that cannot clone says so.
 */
describe('creating an environment from a repository: what is refused', () => {
  let daemon: HearthdProcess;

  beforeAll(async () => {
    const paths = await makePaths('hearthd-repo-create-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
  }, 180_000);
  afterAll(async () => {
    await daemon.dispose();
  });

  const envDirs = async () => (await readdir(join(daemon.paths.stateDir, 'environments')).catch(() => [])).length;
  const create = (body: Record<string, unknown>) =>
    raw(daemon.paths.socket, 'POST', '/v1/environments', JSON.stringify(body));

  it.each([
    '/srv/git/app.git',
    'file:///srv/git/app.git',
    'git://example.com/app.git',
    'ext::sh -c touch% /tmp/pwned',
    'fd::3',
    'http://example.com/app.git',
    'https://user:secret@example.com/app.git',
    '--upload-pack=touch /tmp/pwned',
    'ssh://-oProxyCommand=touch%20/tmp/pwned/app',
    'git@-oProxyCommand=x:app',
    'https://example.com/-app',
    'https://exa mple.com/app.git',
    'https://example.com:70000/app.git',
    'https://example.com/a/..',
  ])('refuses %j with a 400 naming repository, whatever the class and image, and makes nothing', async (url) => {
    for (const rest of [
      { class: 'tiny', image: TEST_IMAGE },
      { class: 'no-such-class', image: 'no-such-image' },
    ]) {
      const answer = await create({ name: 'repo', repository: url, ...rest });
      expect(answer.status, url).toBe(400);
      assertMatches(ErrorBody, answer.body);
      const body = answer.body as ErrorBody;
      expect(body.code).toBe('invalid-request');
      expect(body.message).toMatch(/^repository: /);
      expect(body.details?.[0]?.path).toBe('/repository');
    }
    expect(await envDirs()).toBe(0);
  });

  it('refuses a ref without a repository', async () => {
    const answer = await create({ name: 'repo', class: 'tiny', ref: 'main' });
    expect(answer.status).toBe(400);
    expect((answer.body as ErrorBody).details?.[0]?.path).toBe('/ref');
  });

  it('refuses granted hosts without a repository, and hosts that are not hosts', async () => {
    const alone = await create({ name: 'repo', class: 'tiny', grantHosts: ['deps.example.com'] });
    expect(alone.status).toBe(400);
    expect((alone.body as ErrorBody).details?.[0]?.path).toBe('/grantHosts');
    for (const host of ['-oProxyCommand=x', 'a b', 'https://deps.example.com/x']) {
      const answer = await create({
        name: 'repo',
        class: 'tiny',
        repository: 'https://example.com/app.git',
        grantHosts: [host],
      });
      expect(answer.status, host).toBe(400);
    }
    expect(await envDirs()).toBe(0);
  });

  it('refuses a ref that could be an option or is not a ref', async () => {
    for (const ref of ['--upload-pack=x', 'a..b', 'main.lock', 'a b', 'x@{1}']) {
      const answer = await create({ name: 'repo', class: 'tiny', repository: 'https://example.com/app.git', ref });
      expect(answer.status, ref).toBe(400);
    }
    expect(await envDirs()).toBe(0);
  });

  it('refuses an image without provisioning: nothing could clone into it', async () => {
    const answer = await create({
      name: 'repo',
      class: 'tiny',
      image: TEST_IMAGE,
      repository: 'https://example.com/team/app.git',
      start: false,
    });
    expect(answer.status).toBe(422);
    expect((answer.body as ErrorBody).message).toMatch(/has no provisioning.*cloud-init image/);
    expect(await envDirs()).toBe(0);
  });
});
