import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequestRecord } from './doubles/cloud-hypervisor/request-record.js';
import { assertAllRequestsValid, CH_DOUBLE_PATH, type RequestRecordEntry } from './support/cloud-hypervisor-double.js';
import { installTestImage, killVmms, processesMentioning, waitForState, addTinyClass } from './support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from './support/hearthd-process.js';

/**
 * hearthd's Cloud Hypervisor driver, driven through the real hearthd against the contract double
 * (there is no Cloud Hypervisor binary on these machines): every request it sends must be valid
 * against CH's official v53.0 OpenAPI document, and it must cope with CH's error answers.
 */
/** The double's settings reach it through hearthd's environment (see VmmRegistry). */
function clearDoubleEnv(): void {
  for (const key of ['HEARTH_CH_DOUBLE_FAIL', 'HEARTH_CH_DOUBLE_GUEST', 'HEARTH_CH_DOUBLE_RECORD'])
    Reflect.deleteProperty(process.env, key);
}

describe('Cloud Hypervisor driver against the contract double', () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess | undefined;
  let record: string;

  /** (Re)starts hearthd with the double's environment (fault injection is set per VMM launch). */
  async function restart(
    doubleEnv: Record<string, string> = {},
    hypervisor = 'cloud-hypervisor',
  ): Promise<HearthdProcess> {
    await daemon?.stop();
    clearDoubleEnv();
    Object.assign(process.env, { HEARTH_CH_DOUBLE_RECORD: record, ...doubleEnv });
    daemon = await HearthdProcess.start(paths, [
      '--hypervisor',
      hypervisor,
      '--cloud-hypervisor-binary',
      CH_DOUBLE_PATH,
      '--vmm-user',
      'root',
    ]);
    return daemon;
  }
  const requests = (): RequestRecordEntry[] =>
    existsSync(record) ? parseRequestRecord(readFileSync(record, 'utf8')) : [];
  const actions = () => requests().map((r) => `${r.action}:${r.status}`);

  beforeAll(async () => {
    paths = await makePaths('hearthd-ch-');
    record = join(paths.dir, 'ch-requests.jsonl');
    await installTestImage(paths);
    const client = (await restart()).client();
    await addTinyClass(client, { stopTimeoutSeconds: 1 });
    await client.close();
  }, 180_000);

  afterAll(async () => {
    clearDoubleEnv();
    await killVmms(paths);
    await daemon?.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  });

  it('creates and boots over the API, reattaches after a hearthd restart, and stops with the power button', async () => {
    let client = daemon!.client();
    const created = await client.call('createEnvironment', { body: { name: 'chvm', class: 'tiny' } });
    const running = await waitForState(client, created.id, 'running', 20_000);
    expect(running.vmm).toMatchObject({ kind: 'cloud-hypervisor', version: '53.0.0' });
    const vmm = await processesMentioning(join(paths.stateDir, 'environments', created.id) + '/');
    expect(vmm.map((p) => p.pid)).toEqual([running.vmm!.pid]);
    // Only its sockets (handed over as fds: it gets no path into hearthd's runtime directory)
    // and its log on the command line; the VM itself comes from vm.create.
    expect(vmm[0]!.argv.slice(2)).toEqual([
      '--api-socket',
      'fd=3',
      '--event-monitor',
      'fd=4',
      '--log-file',
      join(paths.stateDir, 'environments', created.id, 'cloud-hypervisor.log'),
      '--seccomp',
      'true',
    ]);
    const logs = await client.call('getEnvironmentLogs', { params: { id: created.id } });
    expect(logs.lines).toContain('HEARTH-GUEST-READY');

    const create = requests().find((r) => r.action === 'vm.create')!;
    expect(create.body).toMatchObject({
      cpus: { boot_vcpus: 1, max_vcpus: 1 },
      memory: { size: 128 * 1024 * 1024 },
      payload: { kernel: join(paths.stateDir, 'images', 'test-guest', 'vmlinuz') },
      disks: [
        {
          path: join(paths.stateDir, 'environments', created.id, 'disk.qcow2'),
          image_type: 'Qcow2',
          backing_files: true,
        },
      ],
      serial: { mode: 'File', file: join(paths.stateDir, 'environments', created.id, 'console.log') },
      console: { mode: 'Off' },
    });
    await client.close();

    // hearthd restarts; the VMM does not, and the new hearthd pings it and takes over.
    client = (await restart()).client();
    expect(await client.call('getEnvironment', { params: { id: created.id } })).toMatchObject({
      state: 'running',
      vmm: { pid: running.vmm!.pid },
    });
    await client.call('stopEnvironment', { params: { id: created.id } });
    const stopped = await waitForState(client, created.id, 'stopped', 10_000);
    expect(stopped.reason).toContain('stopped on request');
    expect(actions()).toEqual(
      expect.arrayContaining(['vmm.ping:200', 'vm.create:204', 'vm.boot:204', 'vm.power-button:204']),
    );
    expect(actions().indexOf('vm.create:204')).toBeLessThan(actions().indexOf('vm.boot:204'));
    assertAllRequestsValid(requests());
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);

  it('shuts the VM and the VMM down when the guest ignores the power button', async () => {
    const client = (await restart({ HEARTH_CH_DOUBLE_GUEST: 'acpi=off' })).client();
    const created = await client.call('createEnvironment', { body: { name: 'stubborn', class: 'tiny' } });
    await waitForState(client, created.id, 'running', 20_000);
    await client.call('stopEnvironment', { params: { id: created.id } });
    const stopped = await waitForState(client, created.id, 'stopped', 15_000);
    expect(stopped.reason).toContain('stopped on request');
    const sent = actions();
    expect(sent.indexOf('vm.power-button:204')).toBeGreaterThan(-1);
    expect(sent.indexOf('vm.shutdown:204')).toBeGreaterThan(sent.indexOf('vm.power-button:204'));
    expect(sent.some((a) => a.startsWith('vmm.shutdown:2'))).toBe(true);
    assertAllRequestsValid(requests());
    const journal = await client.call('getEnvironmentLogs', {
      params: { id: created.id },
      query: { source: 'events' },
    });
    expect(journal.lines.join('\n')).toContain('stop-timeout');
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);

  it('reports a failed vm.boot as a failed environment and leaves no VMM behind', async () => {
    const client = (await restart({ HEARTH_CH_DOUBLE_FAIL: 'vm.boot:500' })).client();
    // A launch that fails is an environment that failed, with the cause: never a 500.
    const created = await client.call('createEnvironment', { body: { name: 'noboot', class: 'tiny' } });
    expect(created).toMatchObject({ state: 'failed', reason: expect.stringContaining('vm.boot answered HTTP 500') });
    const env = await client.call('getEnvironment', { params: { id: 'noboot' } });
    expect(env.state).toBe('failed');
    expect(env.reason).toContain('vm.boot answered HTTP 500');
    expect(await processesMentioning(join(paths.stateDir, 'environments', env.id) + '/')).toEqual([]);
    expect(requests().find((r) => r.action === 'vm.boot')).toMatchObject({ status: 500, valid: true });
    assertAllRequestsValid(requests());
    await client.call('deleteEnvironment', { params: { id: 'noboot' } });
    await client.close();
  }, 60_000);

  it('notices a VMM that crashes while being stopped', async () => {
    const client = (await restart({ HEARTH_CH_DOUBLE_FAIL: 'vm.power-button:crash' })).client();
    const created = await client.call('createEnvironment', { body: { name: 'crashy', class: 'tiny' } });
    await waitForState(client, created.id, 'running', 20_000);
    await client.call('stopEnvironment', { params: { id: created.id } }).catch(() => undefined);
    const stopped = await waitForState(client, created.id, ['stopped', 'failed'], 10_000);
    expect(stopped.state).toBe('stopped');
    expect(stopped.reason).toContain('SIGKILL');
    assertAllRequestsValid(requests());
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 60_000);

  it('ends a guest that never reports ready within bootTimeoutSeconds', async () => {
    const client = (await restart({ HEARTH_CH_DOUBLE_GUEST: 'ready-ms=600000' })).client();
    await client.call('updateConfig', { body: { bootTimeoutSeconds: 1 } });
    try {
      const created = await client.call('createEnvironment', { body: { name: 'silent', class: 'tiny' } });
      const failed = await waitForState(client, created.id, ['failed', 'stopped', 'running'], 15_000);
      expect(failed.state).toBe('failed');
      expect(failed.reason).toContain('did not print its ready marker (HEARTH-GUEST-READY) within 1 s');
      expect(await processesMentioning(join(paths.stateDir, 'environments', created.id) + '/')).toEqual([]);
      assertAllRequestsValid(requests());
      await client.call('deleteEnvironment', { params: { id: created.id } });
    } finally {
      await client.call('updateConfig', { body: { bootTimeoutSeconds: 300 } });
      await client.close();
    }
  }, 60_000);

  it('is what hypervisor "auto" picks when it is installed and KVM boots guests, and the report says which', async () => {
    const client = (await restart({}, 'auto')).client();
    // Cloud Hypervisor cannot emulate: auto takes it only where hearthd found a KVM that boots
    // standard guests, which this machine may not have; the report and the launch must agree.
    const host = await client.call('getHost', { query: { fresh: true } });
    const kvmWorks = host.checks.find((c) => c.id === 'kvm-kind')?.status === 'pass';
    const created = await client.call('createEnvironment', { body: { name: 'auto', class: 'tiny', start: true } });
    expect(created.vmm?.kind).toBe(kvmWorks ? 'cloud-hypervisor' : 'qemu');
    if (kvmWorks) {
      // /v1/version reports the VMM from the same lookup that VMs start with.
      const { vmms } = await client.call('getVersion');
      expect(vmms[0]).toEqual({ kind: 'cloud-hypervisor', path: CH_DOUBLE_PATH, version: '53.0.0' });
    } else {
      expect(host.checks.find((c) => c.id === 'cloud-hypervisor')).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('QEMU runs environments'),
      });
    }
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);

  it('refuses to start with hypervisor cloud-hypervisor when it is not installed, saying what to do', async () => {
    // A hearthd without the double: the machine has no cloud-hypervisor binary.
    const other = await HearthdProcess.start(await makePaths('hearthd-noch-'));
    try {
      await installTestImage(other.paths);
      const client = other.client();
      await addTinyClass(client, { hypervisor: 'cloud-hypervisor' });
      const error = await client
        .call('createEnvironment', { body: { name: 'nope', class: 'tiny' } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'unavailable' });
      expect((error as Error).message).toContain('no cloud-hypervisor binary is installed');
      // Refused before anything was made.
      expect((await client.call('listEnvironments')).environments).toEqual([]);
      expect(await readdir(join(other.paths.stateDir, 'environments'))).toEqual([]);
      await client.close();
    } finally {
      await other.dispose();
    }
  }, 60_000);
});
