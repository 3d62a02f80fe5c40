import { execFile } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { requestAs, type Answer } from './support/request-as.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const run = promisify(execFile);

const NOBODY = 65534;
const OTHER = 4321;
const ADMIN_GROUP = 'hearth-admin';

/**
 * Who may do what through the socket, decided by the kernel's word on the caller: a member acts
 * on their own environments only (others' are "not found"), root on all, and only root and
 * hearth-admin members change the machine's settings and classes. Caps bound what one member can
 * take. No VM boots here (`start: false`): ownership is decided before any VMM is involved.
 */
describe('ownership and the admin role', skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  let adminGid: number;
  let madeGroup = false;

  /** One request as `uid` (with `groups`), through curl over the real socket. */
  const as = (uid: number, method: string, path: string, body?: unknown, groups: number[] = []): Promise<Answer> =>
    requestAs(daemon.paths.socket, uid, method, path, body, groups);
  const create = (uid: number, name: string) =>
    as(uid, 'POST', '/v1/environments', { name, class: 'tiny', start: false });

  beforeAll(async () => {
    const group = await readFile('/etc/group', 'utf8');
    if (!group.split('\n').some((l) => l.startsWith(`${ADMIN_GROUP}:`))) {
      await run('groupadd', ['--system', ADMIN_GROUP]);
      madeGroup = true;
    }
    adminGid = Number(
      (await readFile('/etc/group', 'utf8'))
        .split('\n')
        .find((l) => l.startsWith(`${ADMIN_GROUP}:`))!
        .split(':')[2],
    );
    const paths = await makePaths('hearthd-owners-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    expect((await as(0, 'PATCH', '/v1/config', { minimumMemoryMiB: 64 })).status).toBe(200);
    expect((await as(0, 'PUT', '/v1/classes/tiny', { cpus: 1, memoryMiB: 128, diskGiB: 1 })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await daemon.dispose();
    if (madeGroup) await run('groupdel', [ADMIN_GROUP]);
  });

  it("keeps each member to their own environments; another's is not found", async () => {
    const mine = await create(OTHER, 'mine');
    expect(mine).toMatchObject({ status: 201, body: { name: 'mine', owner: { uid: OTHER } } });
    expect((await create(NOBODY, 'theirs')).body).toMatchObject({ owner: { uid: NOBODY } });

    const listed = (await as(NOBODY, 'GET', '/v1/environments')).body.environments as Array<{ name: string }>;
    expect(listed.map((e) => e.name)).toEqual(['theirs']);
    for (const [method, path] of [
      ['GET', '/v1/environments/mine'],
      ['GET', '/v1/environments/mine/logs'],
      ['POST', '/v1/environments/mine/start'],
      ['POST', '/v1/environments/mine/stop'],
      ['DELETE', '/v1/environments/mine'],
    ] as const) {
      const answer = await as(NOBODY, method, path);
      expect(answer, `${method} ${path}`).toMatchObject({ status: 404, body: { code: 'not-found' } });
    }
    // Refused without a trace: the owner still has it, untouched.
    expect((await as(OTHER, 'GET', '/v1/environments/mine')).body).toMatchObject({ state: 'stopped' });

    const all = (await as(0, 'GET', '/v1/environments')).body.environments as Array<{ name: string }>;
    expect(all.map((e) => e.name).sort()).toEqual(['mine', 'theirs']);
    expect((await as(0, 'DELETE', '/v1/environments/mine')).status).toBe(200);
    expect((await as(NOBODY, 'DELETE', '/v1/environments/theirs')).status).toBe(200);
  });

  it('lets only root and hearth-admin members change settings and classes', async () => {
    for (const [method, path, body] of [
      ['PATCH', '/v1/config', { stopTimeoutSeconds: 30 }],
      ['PUT', '/v1/classes/huge', { cpus: 1, memoryMiB: 128, diskGiB: 1 }],
      ['DELETE', '/v1/classes/tiny', undefined],
    ] as const) {
      const answer = await as(NOBODY, method, path, body);
      expect(answer, `${method} ${path}`).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    }
    expect((await as(NOBODY, 'GET', '/v1/config')).status).toBe(200); // reading is fine
    const byAdmin = await as(NOBODY, 'PATCH', '/v1/config', { stopTimeoutSeconds: 30 }, [adminGid]);
    expect(byAdmin).toMatchObject({ status: 200, body: { settings: { stopTimeoutSeconds: 30 } } });
  });

  it('caps environments per member (root exempt), classes, disk size and the memory reserve', async () => {
    expect((await as(0, 'PATCH', '/v1/config', { maxEnvironmentsPerOwner: 2 })).status).toBe(200);
    try {
      expect((await create(NOBODY, 'one')).status).toBe(201);
      expect((await create(NOBODY, 'two')).status).toBe(201);
      const third = await create(NOBODY, 'three');
      expect(third).toMatchObject({ status: 409, body: { code: 'conflict' } });
      expect(third.body.message).toContain('the limit per user is 2 (setting maxEnvironmentsPerOwner)');
      expect((await create(0, 'rootone')).status).toBe(201);
      expect((await create(0, 'roottwo')).status).toBe(201);
      expect((await create(0, 'rootthree')).status).toBe(201);
    } finally {
      await as(0, 'PATCH', '/v1/config', { maxEnvironmentsPerOwner: 5 });
      for (const name of ['one', 'two', 'rootone', 'roottwo', 'rootthree'])
        await as(0, 'DELETE', `/v1/environments/${name}`);
    }

    // A disk the state directory could never hold is refused before anything is made.
    expect((await as(0, 'PUT', '/v1/classes/vast', { cpus: 1, memoryMiB: 128, diskGiB: 4096 })).status).toBe(200);
    const { stdout } = await run('df', ['--output=avail', '-B1G', daemon.paths.stateDir], { encoding: 'utf8' });
    if (Number(stdout.trim().split('\n').pop()) < 4096) {
      const vast = await as(0, 'POST', '/v1/environments', { name: 'vast', class: 'vast', start: false });
      expect(vast).toMatchObject({ status: 409, body: { code: 'conflict' } });
      expect(vast.body.message).toContain('may grow to 4096 GiB but only');
      expect(((await as(0, 'GET', '/v1/environments')).body.environments as unknown[]).length).toBe(0);
    }
    expect((await as(0, 'PUT', '/v1/classes/vast', { cpus: 1, memoryMiB: 128, diskGiB: 4097 })).status).toBe(400);

    // Classes are a short menu: the 33rd is refused; editing one still works.
    const existing = ((await as(0, 'GET', '/v1/classes')).body.classes as unknown[]).length;
    for (let i = existing; i < 32; i += 1)
      expect((await as(0, 'PUT', `/v1/classes/c${i}`, { cpus: 1, memoryMiB: 128, diskGiB: 1 })).status).toBe(200);
    const extra = await as(0, 'PUT', '/v1/classes/onetoomany', { cpus: 1, memoryMiB: 128, diskGiB: 1 });
    expect(extra).toMatchObject({ status: 409 });
    expect(extra.body.message).toContain('the most hearthd keeps (32)');
    expect((await as(0, 'PUT', '/v1/classes/vast', { cpus: 1, memoryMiB: 256, diskGiB: 1 })).status).toBe(200);

    expect((await as(0, 'PATCH', '/v1/config', { reservedHostMemoryMiB: 0 })).status).toBe(400);
  }, 60_000);
});
