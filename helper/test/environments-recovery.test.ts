import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage, killVmms, processesMentioning, waitForState, addTinyClass } from './support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from './support/hearthd-process.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const QEMU_TCG = ['--hypervisor', 'qemu', '--accel', 'tcg', '--vmm-user', 'nobody'];

/**
 * hearthd dies (kill -9) at the worst moments; the next hearthd must find a consistent world:
 * VMs that ran still run and are controllable, nothing half-made is shown as running, and no
 * VMM is left without an environment.
 */
describe('environments survive hearthd crashes', () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess | undefined;

  async function restart(extra: string[] = []): Promise<HearthdProcess> {
    if (daemon) {
      await daemon.stop();
      daemon = undefined;
    }
    daemon = await HearthdProcess.start(paths, [...QEMU_TCG, ...extra]);
    return daemon;
  }
  async function crash(): Promise<void> {
    daemon?.signal('SIGKILL');
    await daemon?.waitForExit();
    daemon = undefined;
  }
  // Drivers name a file of the environment's state directory on the VMM's command line.
  const vmmsOf = (id: string) => processesMentioning(join(paths.stateDir, 'environments', id) + '/');

  beforeAll(async () => {
    paths = await makePaths('hearthd-recovery-');
    await installTestImage(paths);
    const first = await restart();
    const client = first.client();
    await addTinyClass(client);
    await client.close();
  }, 180_000);

  afterAll(async () => {
    await killVmms(paths);
    await daemon?.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  });

  it('keeps a running VM across kill -9 of hearthd, reattaches, and still notices its death', async () => {
    let client = (await restart()).client();
    const created = await client.call('createEnvironment', { body: { name: 'survivor', class: 'tiny' } });
    const before = await waitForState(client, created.id, 'running');
    await client.close();
    await crash();

    // The VMM is detached: it did not die with hearthd.
    expect((await vmmsOf(created.id)).map((p) => p.pid)).toEqual([before.vmm!.pid]);
    const next = await restart();
    client = next.client();
    const after = await client.call('getEnvironment', { params: { id: created.id } });
    expect(after).toMatchObject({ state: 'running', vmm: { pid: before.vmm!.pid } });
    expect(next.logs().some((l) => l.msg === 'reattached to running VMM')).toBe(true);

    // Controllable after reattaching: a graceful stop through the API...
    await client.call('stopEnvironment', { params: { id: created.id } });
    const stopped = await waitForState(client, created.id, 'stopped', 30_000);
    expect(stopped.reason).toContain('stopped on request');
    expect(await vmmsOf(created.id)).toEqual([]);

    // ...and a VMM that another hearthd started is watched too: kill -9 → failed within a second.
    await client.call('startEnvironment', { params: { id: created.id } });
    await waitForState(client, created.id, 'running');
    await client.close();
    await crash();
    client = (await restart()).client();
    const pid = (await client.call('getEnvironment', { params: { id: created.id } })).vmm!.pid!;
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const failed = await waitForState(client, created.id, ['failed', 'stopped'], 5_000);
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/VMM process \d+ is gone/);
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 180_000);

  it('marks an environment failed when hearthd died while creating it, and it can be started', async () => {
    const dying = await restart(['--test-crash-at', 'create:after-disk']);
    let client = dying.client();
    await expect(client.call('createEnvironment', { body: { name: 'halfmade', class: 'tiny' } })).rejects.toThrow();
    await client.close();
    expect(await dying.waitForExit()).toBe(null); // SIGKILL
    daemon = undefined;

    client = (await restart()).client();
    const env = await client.call('getEnvironment', { params: { id: 'halfmade' } });
    expect(env.state).toBe('failed');
    expect(env.reason).toContain('hearthd stopped while creating this environment');
    expect(await vmmsOf(env.id)).toEqual([]);
    await client.call('startEnvironment', { params: { id: 'halfmade' } });
    await waitForState(client, 'halfmade', 'running');
    await client.call('deleteEnvironment', { params: { id: 'halfmade' } });
    await client.close();
  }, 120_000);

  it('reattaches to a VMM launched just before hearthd died, with exactly one VMM', async () => {
    const dying = await restart(['--test-crash-at', 'create:after-launch']);
    let client = dying.client();
    await expect(client.call('createEnvironment', { body: { name: 'justlaunched', class: 'tiny' } })).rejects.toThrow();
    await client.close();
    await dying.waitForExit();
    daemon = undefined;

    client = (await restart()).client();
    const env = await client.call('getEnvironment', { params: { id: 'justlaunched' } });
    expect(['starting', 'running']).toContain(env.state);
    await waitForState(client, env.id, 'running');
    expect(await vmmsOf(env.id)).toHaveLength(1);
    await client.call('deleteEnvironment', { params: { id: env.id } });
    expect(await vmmsOf(env.id)).toEqual([]);
    await client.close();
  }, 120_000);

  it('finishes a delete that hearthd died in the middle of', async () => {
    let client = (await restart()).client();
    const env = await client.call('createEnvironment', { body: { name: 'doomed', class: 'tiny' } });
    await waitForState(client, env.id, 'running');
    await client.close();
    await crash();

    const dying = await restart(['--test-crash-at', 'delete:after-kill']);
    client = dying.client();
    await expect(client.call('deleteEnvironment', { params: { id: env.id } })).rejects.toThrow();
    await client.close();
    await dying.waitForExit();
    daemon = undefined;
    expect(await exists(join(paths.stateDir, 'environments', env.id))).toBe(true); // half deleted

    client = (await restart()).client();
    expect((await client.call('listEnvironments')).environments).toEqual([]);
    expect(await readdir(join(paths.stateDir, 'environments'))).toEqual([]);
    expect(await exists(join(paths.runtimeDir, 'vms', env.id))).toBe(false);
    expect(await vmmsOf(env.id)).toEqual([]);
    await client.close();
  }, 120_000);

  it('undoes a launch killed after its components were prepared, and it can be started', async () => {
    const dying = await restart(['--test-crash-at', 'launch:after-prepare']);
    let client = dying.client();
    await expect(client.call('createEnvironment', { body: { name: 'prepared', class: 'tiny' } })).rejects.toThrow();
    await client.close();
    await dying.waitForExit();
    daemon = undefined;
    const env = JSON.parse(
      await readFile(
        join(
          paths.stateDir,
          'environments',
          (await readdir(join(paths.stateDir, 'environments')))[0]!,
          'environment.json',
        ),
        'utf8',
      ),
    ) as { spec: { id: string }; status: { state: string } };
    expect(env.status.state).toBe('starting'); // what the crash left
    expect(await exists(join(paths.runtimeDir, 'vms', env.spec.id))).toBe(true); // prepared, no VMM

    client = (await restart()).client();
    const recovered = await client.call('getEnvironment', { params: { id: 'prepared' } });
    expect(recovered).toMatchObject({ state: 'failed', reason: expect.stringContaining('before its VMM ran') });
    expect(recovered.desired).toBe('running'); // an observation never rewrites what the user asked for
    expect(await exists(join(paths.runtimeDir, 'vms', env.spec.id))).toBe(false); // recover undid it
    expect(await vmmsOf(env.spec.id)).toEqual([]);
    await client.call('startEnvironment', { params: { id: 'prepared' } });
    await waitForState(client, 'prepared', 'running');
    await client.call('deleteEnvironment', { params: { id: 'prepared' } });
    await client.close();
  }, 120_000);

  it('starts an autostart environment again when hearthd starts after its VMM died; others stay failed', async () => {
    let client = (await restart()).client();
    const auto = await client.call('createEnvironment', { body: { name: 'auto', class: 'tiny', autostart: true } });
    const manual = await client.call('createEnvironment', { body: { name: 'manual', class: 'tiny' } });
    expect(auto.autostart).toBe(true);
    expect(manual.autostart).toBe(false);
    const pids = [
      (await waitForState(client, auto.id, 'running')).vmm!.pid!,
      (await waitForState(client, manual.id, 'running')).vmm!.pid!,
    ];
    await client.close();
    await crash();
    for (const pid of pids) process.kill(pid, 'SIGKILL'); // as a host reboot would

    client = (await restart()).client();
    const again = await waitForState(client, auto.id, 'running');
    expect(pids).not.toContain(again.vmm!.pid);
    const stayed = await client.call('getEnvironment', { params: { id: manual.id } });
    expect(stayed).toMatchObject({ state: 'failed', reason: expect.stringContaining('while hearthd was not running') });
    for (const id of [auto.id, manual.id]) await client.call('deleteEnvironment', { params: { id } });
    await client.close();
  }, 180_000);
});
