import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Environment, ErrorBody, EnvironmentList, LogLines, type HearthEvent } from '#protocol';
import { HearthdError } from '#protocol/client';
import {
  installTestImage,
  killVmms,
  processesMentioning,
  processUid,
  TEST_IMAGE,
  waitForState,
  addTinyClass,
} from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { raw } from './support/raw-http.js';
import { assertMatches } from './support/schema.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const NOBODY = 65534;

/**
 * The whole life of an environment on a real QEMU TCG VM, through a real hearthd process that
 * runs its VMMs as the unprivileged user `nobody`.
 */
describe('environments on real QEMU (TCG) VMs', () => {
  let daemon: HearthdProcess;
  let readyMarker: string;
  const events: HearthEvent[] = [];
  const abort = new AbortController();

  beforeAll(async () => {
    const paths = await makePaths('hearthd-env-');
    // The VMM runs as nobody: it must be able to reach its files below the test directory.
    await chmod(paths.dir, 0o711);
    // As installed, the runtime directory is 0750 root:hearth; hearthd lets the VMM user traverse it.
    await mkdir(paths.runtimeDir, { mode: 0o750 });
    await chmod(paths.runtimeDir, 0o750);
    ({ readyMarker } = await installTestImage(paths));
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg', '--vmm-user', 'nobody']);
    const client = daemon.client();
    await addTinyClass(client);
    void (async () => {
      try {
        for await (const event of client.events(abort.signal)) events.push(event);
      } catch {
        // Ended with the test.
      }
    })();
  }, 180_000);

  // Each test starts from no environments, even when the one before failed half-way.
  afterEach(async () => {
    const client = daemon.client();
    for (const env of (await client.call('listEnvironments')).environments)
      await client.call('deleteEnvironment', { params: { id: env.id } });
    await client.close();
  });

  afterAll(async () => {
    abort.abort();
    await killVmms(daemon.paths);
    await daemon.dispose();
  });

  it('creates, boots, logs, stops, restarts on the same disk, and deletes without leftovers', async () => {
    const client = daemon.client();
    const created = await client.call('createEnvironment', { body: { name: 'alpha', class: 'tiny' } });
    assertMatches(Environment, created);
    expect(created).toMatchObject({
      name: 'alpha',
      class: 'tiny',
      image: TEST_IMAGE,
      state: 'starting',
      desired: 'running',
      resources: { cpus: 1, memoryMiB: 128, diskGiB: 2 },
      vmm: { kind: 'qemu' },
      owner: { uid: process.getuid!() }, // the calling process, as the kernel reports it
    });
    const id = created.id;
    const stateDir = join(daemon.paths.stateDir, 'environments', id);
    const runtimeDir = join(daemon.paths.runtimeDir, 'vms', id);

    // running = the guest printed its ready marker on the serial console
    const running = await waitForState(client, id, 'running');
    expect(running.readyAt).not.toBeNull();
    const pid = running.vmm!.pid!;
    expect(await processUid(pid)).toBe(NOBODY);
    expect((await stat(daemon.paths.runtimeDir)).mode & 0o777).toBe(0o751);
    const logs = await client.call('getEnvironmentLogs', { params: { id: 'alpha' }, query: { tail: 50 } });
    assertMatches(LogLines, logs);
    expect(logs.lines).toContain(readyMarker);
    // The UART may drop the guest's last bytes before the kernel resets it ("ROM..\x1bc"), so a
    // line can start with the end of another: match line endings.
    expect(logs.lines.some((l) => l.endsWith('HEARTH-DISK boot-count=1'))).toBe(true);
    const two = await client.call('getEnvironmentLogs', { params: { id }, query: { tail: 2 } });
    expect(two.lines).toHaveLength(2);

    // Its disk is an overlay on the image (nothing copied), grown to the class's size.
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '--output=json', join(stateDir, 'disk.qcow2')], { encoding: 'utf8' }),
    ) as { 'backing-filename': string; 'virtual-size': number; 'actual-size': number };
    expect(info['backing-filename']).toBe(join(daemon.paths.stateDir, 'images', TEST_IMAGE, 'disk.qcow2'));
    expect(info['virtual-size']).toBe(2 * 1024 ** 3);
    expect(info['actual-size']).toBeLessThan(8 * 1024 * 1024);

    // Follow the console while the environment stops and starts again.
    const followAbort = new AbortController();
    const stream = client.follow('getEnvironmentLogs', { params: { id }, query: { tail: 1 } }, followAbort.signal);
    // The tail of one line comes first, before anything new.
    expect((await stream.next()).value).toEqual({ type: 'lines', lines: [readyMarker] });
    const followed: string[] = [];
    const following = (async () => {
      try {
        for await (const message of stream) {
          followed.push(...message.lines);
          if (message.lines.some((line) => line.endsWith('HEARTH-DISK boot-count=2'))) return;
        }
      } catch (error) {
        if (!followAbort.signal.aborted) throw error;
      }
    })();

    const stopping = await client.call('stopEnvironment', { params: { id } });
    expect(stopping.state).toBe('stopping');
    const stopped = await waitForState(client, id, 'stopped', 30_000);
    expect(stopped.reason).toContain('stopped on request');
    expect(stopped.vmm?.pid).toBeNull();
    expect(await processesMentioning(`${stateDir}/`)).toEqual([]);
    expect(await exists(runtimeDir)).toBe(false);

    await client.call('startEnvironment', { params: { id } });
    await waitForState(client, id, 'running');
    await Promise.race([
      following,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`follow saw: ${followed.join(' | ')}`)), 30_000)),
    ]);
    followAbort.abort();
    // What came after the tail, in order: the power-off, then the second boot.
    const poweroff = followed.indexOf('HEARTH-GUEST-POWEROFF');
    expect(poweroff).toBeGreaterThanOrEqual(0);
    expect(poweroff).toBeLessThan(followed.findIndex((l) => l.endsWith('HEARTH-DISK boot-count=2')));
    // same disk: its counter went on
    expect(followed.some((l) => l.endsWith('HEARTH-DISK boot-count=2'))).toBe(true);

    // hearthd's own log of what it did
    const journal = await client.call('getEnvironmentLogs', { params: { id }, query: { source: 'events' } });
    const names = journal.lines.map((l) => (JSON.parse(l) as { event: string }).event);
    expect(names).toEqual(
      expect.arrayContaining(['created', 'disk-created', 'vmm-launched', 'ready', 'stop-requested', 'exited']),
    );
    expect(journal.lines.join('\n')).toMatch(/exited.*stopped on request/);

    const files = (await readdir(stateDir)).sort();
    expect(files).toEqual(['console.log', 'disk.qcow2', 'environment.json', 'events.log', 'vmm.log']);

    const deleted = await client.call('deleteEnvironment', { params: { id: 'alpha' } });
    expect(deleted.id).toBe(id);
    expect(await exists(stateDir)).toBe(false);
    expect(await exists(runtimeDir)).toBe(false);
    expect(await processesMentioning(id)).toEqual([]);
    expect((await client.call('listEnvironments')).environments).toEqual([]);
    await expect(client.call('getEnvironment', { params: { id } })).rejects.toMatchObject({ status: 404 });

    const seen = events.filter((e) => e.type === 'environment' && e.environment.id === id);
    const states = seen.map((e) => (e.type === 'environment' ? `${e.change}:${e.environment.state}` : ''));
    expect(states[0]).toBe('created:creating');
    expect(states).toEqual(
      expect.arrayContaining(['updated:running', 'updated:stopping', 'updated:stopped', 'deleted:deleting']),
    );
    await client.close();
  }, 180_000);

  it('notices a killed VMM within a second and says why', async () => {
    const client = daemon.client();
    const created = await client.call('createEnvironment', { body: { name: 'victim', class: 'tiny' } });
    const first = await waitForState(client, created.id, 'running');
    // restart: power button, then a new VMM on the same disk
    await client.call('restartEnvironment', { params: { id: 'victim' } });
    const running = await waitForState(client, created.id, 'running');
    expect(running.vmm!.pid).not.toBe(first.vmm!.pid);
    expect(running.startedAt! > first.startedAt!).toBe(true);
    process.kill(running.vmm!.pid!, 'SIGKILL');
    const killedAt = Date.now();
    const failed = await waitForState(client, created.id, ['failed', 'stopped'], 5_000);
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toBe('VMM exited on signal SIGKILL');
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);

  it('refuses invalid names, unknown classes and images, and path-like input, changing nothing', async () => {
    const socket = daemon.paths.socket;
    const before = await readdir(join(daemon.paths.stateDir, 'environments'));
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['POST', '/v1/environments', '{"name":"Upper","class":"tiny"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"-dash","class":"tiny"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', `{"name":"${'a'.repeat(64)}","class":"tiny"}`, 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"../etc","class":"tiny"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"a/b","class":"tiny"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"ok","class":"../tiny"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"ok","class":"tiny","image":"/etc/passwd"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"ok","class":"tiny","kernel":"/tmp/evil"}', 400, 'invalid-request'],
      ['POST', '/v1/environments', '{"name":"ok","class":"huge"}', 422, 'unprocessable'],
      ['POST', '/v1/environments', '{"name":"ok","class":"tiny","image":"nope"}', 422, 'unprocessable'],
      ['POST', '/v1/environments', '{"name":"ok","class":"medium"}', 422, 'unprocessable'],
      ['GET', '/v1/environments/..%2F..%2Fetc', undefined, 400, 'invalid-request'],
      ['GET', '/v1/environments/nope', undefined, 404, 'not-found'],
      ['DELETE', '/v1/environments/nope', undefined, 404, 'not-found'],
      ['POST', '/v1/environments/nope/start', undefined, 404, 'not-found'],
      ['GET', '/v1/environments/nope/logs?tail=-1', undefined, 400, 'invalid-request'],
      ['PUT', '/v1/classes/Big', '{"cpus":1,"memoryMiB":128,"diskGiB":1}', 400, 'invalid-request'],
      ['PUT', '/v1/classes/big', '{"cpus":1,"memoryMiB":32,"diskGiB":1}', 400, 'invalid-request'],
      ['PUT', '/v1/classes/big', '{"cpus":64,"memoryMiB":128,"diskGiB":1}', 422, 'unprocessable'],
      ['DELETE', '/v1/classes/nope', undefined, 404, 'not-found'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const response = await raw(socket, method, path, body);
      expect({ method, path, body, status: response.status }).toEqual({ method, path, body, status });
      assertMatches(ErrorBody, response.body);
      expect((response.body as ErrorBody).code).toBe(code);
    }
    const medium = (await raw(socket, 'POST', '/v1/environments', '{"name":"ok","class":"medium"}')).body as ErrorBody;
    expect(medium.message).toMatch(/4 vCPUs but this machine has \d+|below the minimum/);
    const list = (await raw(socket, 'GET', '/v1/environments')).body;
    assertMatches(EnvironmentList, list);
    expect(list).toEqual({ environments: [] });
    expect(await readdir(join(daemon.paths.stateDir, 'environments'))).toEqual(before);
    const images = (await raw(socket, 'GET', '/v1/images')).body as {
      images: Array<{ name: string; readyMarker: string }>;
    };
    expect(images.images).toEqual([expect.objectContaining({ name: TEST_IMAGE, readyMarker })]);
    const classes = (await raw(socket, 'GET', '/v1/classes')).body as { classes: Array<{ name: string }> };
    expect(classes.classes.map((c) => c.name).sort()).toEqual(['large', 'medium', 'small', 'tiny']);
  });

  it("records the calling process's uid as the owner", async () => {
    // An unprivileged caller: let everyone reach the socket for this test only.
    await chmod(daemon.paths.socket, 0o666);
    try {
      const created = JSON.parse(
        execFileSync(
          'setpriv',
          [
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            'curl',
            '-s',
            '--unix-socket',
            daemon.paths.socket,
            '-H',
            'content-type: application/json',
            '-d',
            '{"name":"owned","class":"tiny","start":false}',
            'http://hearthd/v1/environments',
          ],
          { encoding: 'utf8' },
        ),
      ) as { owner: { uid: number | null } };
      expect(created.owner.uid).toBe(NOBODY);
    } finally {
      await chmod(daemon.paths.socket, 0o660);
    }
  });

  it('admits at most maxEnvironments and only as much memory as the host can give', async () => {
    const client = daemon.client();
    try {
      await client.call('updateConfig', { body: { maxEnvironments: 2 } });
      await client.call('createEnvironment', { body: { name: 'one', class: 'tiny' } });
      await client.call('createEnvironment', { body: { name: 'two', class: 'tiny' } });
      const third = await client
        .call('createEnvironment', { body: { name: 'three', class: 'tiny' } })
        .catch((e: unknown) => e);
      expect(third).toBeInstanceOf(HearthdError);
      expect(third).toMatchObject({ status: 409, code: 'conflict' });
      expect((third as Error).message).toContain('2 environments are already running and the limit is 2');
      // A stopped environment does not count; starting it is refused the same way.
      await client.call('createEnvironment', { body: { name: 'four', class: 'tiny', start: false } });
      await expect(client.call('startEnvironment', { params: { id: 'four' } })).rejects.toMatchObject({
        status: 409,
      });
      expect((await client.call('getEnvironment', { params: { id: 'four' } })).state).toBe('stopped');

      // Memory: leave room for exactly one more 128 MiB environment plus its 100 MiB overhead... minus one.
      await client.call('updateConfig', { body: { maxEnvironments: 10 } });
      const meminfo = await readFile('/proc/meminfo', 'utf8');
      const totalMiB = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)![1]) / 1024);
      const reserved = totalMiB - (2 * 228 + 227);
      await client.call('updateConfig', { body: { reservedHostMemoryMiB: reserved } });
      const refused = await client.call('startEnvironment', { params: { id: 'four' } }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 409, code: 'conflict' });
      expect((refused as Error).message).toContain('needs 228 MiB (128 MiB + 100 MiB overhead)');
      expect((refused as Error).message).toContain('short by 1 MiB');
      expect((await client.call('getEnvironment', { params: { id: 'four' } })).state).toBe('stopped');
      await client.call('updateConfig', { body: { reservedHostMemoryMiB: reserved - 1 } });
      await client.call('startEnvironment', { params: { id: 'four' } });
      expect((await waitForState(client, 'four', ['running'])).state).toBe('running');
    } finally {
      await client.call('updateConfig', { body: { maxEnvironments: 10, reservedHostMemoryMiB: 1024 } });
      for (const env of (await client.call('listEnvironments')).environments)
        await client.call('deleteEnvironment', { params: { id: env.id } });
      await client.close();
    }
    expect(await processesMentioning(`${daemon.paths.stateDir}/environments/`)).toEqual([]);
  }, 180_000);
});
