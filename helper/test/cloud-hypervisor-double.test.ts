import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  assertAllRequestsValid,
  ChDoubleProcess,
  chSpec,
  eventNames,
  GUEST_READY_MARKER,
  readEventMonitor,
  readRequestRecord,
} from './support/cloud-hypervisor-double.js';
import { useChDoubleSandbox } from './support/ch-double-sandbox.js';
import { eventually } from './support/eventually.js';

/**
 * Tests of the Cloud Hypervisor contract double itself, its API: a real process spawned by absolute path,
 * spoken to over its real Unix socket. Driver tests rely on these behaviours matching CH v53.
 */

const { dir, paths, vmConfig, track, start, api, state, events } = useChDoubleSandbox();

describe('cloud-hypervisor-double API', () => {
  it('runs create → boot → info → power-button → shutdown → vmm.shutdown like CH with --no-shutdown', async () => {
    const double = await start(['--no-shutdown']);
    const p = paths();

    const ping = await api('GET', 'vmm.ping');
    expect(ping.status).toBe(200);
    expect(chSpec().validateResponse('vmm.ping', 'GET', 200, ping.body).errors).toEqual([]);
    expect(ping.body).toMatchObject({ version: '53.0.0', build_version: 'v53.0.0-double', pid: double.child.pid });

    expect((await api('PUT', 'vm.create', vmConfig())).status).toBe(204);
    expect(await state()).toBe('Created');
    expect(existsSync(p.serial)).toBe(true); // CH opens console devices at vm.create

    expect((await api('PUT', 'vm.boot')).status).toBe(204);
    const info = await api('GET', 'vm.info');
    expect(info.status).toBe(200);
    expect(chSpec().validateResponse('vm.info', 'GET', 200, info.body).errors).toEqual([]);
    const running = info.body as { state: string; memory_actual_size: number; config: Record<string, unknown> };
    expect(running.state).toBe('Running');
    expect(running.memory_actual_size).toBe(2 * 2 ** 30);
    expect(running.config).toMatchObject(vmConfig());
    await eventually(() => readFileSync(p.serial, 'utf8').includes(`${GUEST_READY_MARKER}\r\n`));

    expect((await api('PUT', 'vm.power-button')).status).toBe(204);
    await eventually(() => events().includes('vm.shutdown'));
    // CH drops the VM instance on shutdown and keeps the config: vm.info says Created, not Shutdown.
    expect(await state()).toBe('Created');
    expect(double.exitCode).toBeUndefined();
    expect(readFileSync(p.serial, 'utf8')).toContain('powering off');

    // The VM can be booted again, then shut down over the API.
    expect((await api('PUT', 'vm.boot')).status).toBe(204);
    expect((await api('PUT', 'vm.shutdown')).status).toBe(204);
    expect(await state()).toBe('Created');

    // vmm.shutdown answers 200 (the spec says 204) and the process exits 0.
    const bye = await api('PUT', 'vmm.shutdown');
    expect(bye.status).toBe(200);
    expect(await double.waitForExit()).toBe(0);

    expect(events()).toEqual([
      'vmm.starting',
      'vm.booting',
      'vm.booted',
      'virtio-device.activated',
      'virtio-device.activated',
      'vm.shutdown',
      'vm.booting',
      'vm.booted',
      'virtio-device.activated',
      'virtio-device.activated',
      'vm.shutdown',
      'vm.deleted',
      'vmm.shutdown',
    ]);
    const record = readRequestRecord(p.socket);
    expect(record.map((e) => `${e.method} ${e.action ?? ''} ${e.status ?? ''}`)).toContain('PUT vm.create 204');
    assertAllRequestsValid(record);
  });

  it('ends the whole VMM when the guest powers off without --no-shutdown, leaving the socket as CH v53 does', async () => {
    const double = await start();
    await api('PUT', 'vm.create', vmConfig());
    await api('PUT', 'vm.boot');
    expect((await api('PUT', 'vm.power-button')).status).toBe(204);
    expect(await double.waitForExit()).toBe(0);
    expect(events().slice(-3)).toEqual(['vm.shutdown', 'vm.deleted', 'vmm.shutdown']);
    expect(existsSync(paths().socket)).toBe(true);
    expect(existsSync(`${paths().socket}.lock`)).toBe(true);

    // The next start finds the stale socket, removes it and serves.
    await start();
    expect((await api('GET', 'vmm.ping')).status).toBe(200);
  });

  it('refuses to start on a socket a live VMM serves', async () => {
    await start();
    const second = ChDoubleProcess.spawn(['--api-socket', `path=${paths().socket}`]);
    track(second);
    expect(await second.waitForExit()).toBe(1);
    expect(second.stderr.join('')).toContain('API socket is already in use');
    expect((await api('GET', 'vmm.ping')).status).toBe(200);
  });

  it('rejects bodies that do not match the spec with 400, records them as invalid, and keeps the state', async () => {
    await start();
    const twoAsString = { ...vmConfig(), cpus: { boot_vcpus: 'two', max_vcpus: 2 } };
    const bad = await api('PUT', 'vm.create', twoAsString);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(['Failed to deserialize JSON', 'cpus.boot_vcpus: must be integer']);

    const noPayload = vmConfig();
    delete noPayload.payload;
    expect((await api('PUT', 'vm.create', noPayload)).status).toBe(400);
    expect((await api('PUT', 'vm.create', '{"payload": ')).status).toBe(400);
    expect((await api('PUT', 'vm.create')).status).toBe(400);
    expect(await state()).toBe(404);

    const record = readRequestRecord(paths().socket);
    const creates = record.filter((e) => e.action === 'vm.create');
    expect(creates.map((e) => [e.valid, e.status])).toEqual([
      [false, 400],
      [false, 400],
      [false, 400],
      [false, 400],
    ]);
    expect(creates[0]!.errors).toEqual(['cpus.boot_vcpus: must be integer']);
    expect(creates[0]!.body).toEqual(twoAsString);
    expect(creates[1]!.errors).toEqual(["(body): must have required property 'payload'"]);
    expect(() => assertAllRequestsValid(record)).toThrow(/cpus\.boot_vcpus: must be integer/);
  });

  it('accepts properties the spec does not define, as CH does, but records them as warnings', async () => {
    await start();
    const typo = { ...vmConfig(), disks: [{ path: paths().disk, backing_file: true }] };
    expect((await api('PUT', 'vm.create', typo)).status).toBe(204);
    const [entry] = readRequestRecord(paths().socket);
    expect(entry).toMatchObject({ valid: true, warnings: ['disks.0.backing_file: not defined by the spec'] });
    expect(() => assertAllRequestsValid([entry!])).toThrow(/backing_file/);
    expect(() => assertAllRequestsValid([entry!], { allowUnknownProperties: true })).not.toThrow();
  });

  it('answers invalid transitions with CH v53 statuses and leaves the state unchanged', async () => {
    await start();
    // No VM: boot and info say "not created" (404); the other actions say "not running" (500).
    expect(await api('PUT', 'vm.boot')).toEqual({
      status: 404,
      body: ['Error from API', 'The VM could not boot', 'VM config is missing'],
    });
    expect(await api('GET', 'vm.info')).toEqual({
      status: 404,
      body: ['Error from API', 'The VM info is not available', 'VM is not created'],
    });
    expect((await api('PUT', 'vm.shutdown')).status).toBe(500);
    expect((await api('PUT', 'vm.power-button')).status).toBe(500);
    // CH serves vm.pause, but Hearth does not use it: outside the description, the double refuses it.
    expect(await api('PUT', 'vm.pause')).toEqual({ status: 404, body: ['Not Found'] });

    await api('PUT', 'vm.create', vmConfig());
    expect((await api('PUT', 'vm.create', vmConfig())).body).toEqual([
      'Error from API',
      'The VM could not be created',
      'VM is already created',
    ]);
    expect((await api('PUT', 'vm.shutdown')).status).toBe(500);
    expect((await api('PUT', 'vm.power-button')).status).toBe(500);
    expect(await state()).toBe('Created');

    await api('PUT', 'vm.boot');
    const again = await api('PUT', 'vm.boot');
    expect(again).toEqual({ status: 500, body: ['Error from API', 'The VM could not boot', 'VM is already created'] });
    expect(await state()).toBe('Running');

    // Wrong method, unknown path, and a body for an action that takes none: CH's 400/404.
    expect(await api('GET', 'vm.boot')).toEqual({ status: 400, body: ['Bad Request'] });
    expect(await api('GET', 'vm.nothing')).toEqual({ status: 404, body: ['Not Found'] });
    expect(await api('PUT', 'vm.boot', {})).toEqual({ status: 400, body: ['Bad Request'] });
    expect(await state()).toBe('Running');

    const record = readRequestRecord(paths().socket);
    expect(record.filter((e) => !e.valid).map((e) => `${e.method} ${e.action ?? ''}`)).toEqual([
      'PUT vm.pause',
      'GET vm.boot',
      'GET vm.nothing',
      'PUT vm.boot',
    ]);
  });

  it('fails vm.boot when the payload file does not exist, as CH does when it builds the VM', async () => {
    await start();
    const config = { ...vmConfig(), payload: { kernel: join(dir(), 'missing-vmlinux') } };
    await api('PUT', 'vm.create', config);
    const boot = await api('PUT', 'vm.boot');
    expect(boot.status).toBe(500);
    expect(boot.body).toContain('Cannot open kernel file');
    expect(await state()).toBe('Created');
  });

  it('writes the event monitor as blank-line-separated pretty JSON objects', async () => {
    const double = await start();
    await api('PUT', 'vm.create', vmConfig());
    await api('PUT', 'vm.boot');
    double.child.kill('SIGTERM');
    expect(await double.waitForExit()).toBe(0);

    const text = readFileSync(paths().events, 'utf8');
    expect(text.startsWith('{\n  "timestamp": {\n    "secs": 0,\n    "nanos": ')).toBe(true);
    expect(text.endsWith('}\n\n')).toBe(true);
    const chunks = text.split('\n\n').filter((c) => c !== '');
    for (const chunk of chunks) expect(chunk).toBe(JSON.stringify(JSON.parse(chunk), null, 2));
    expect(text).not.toMatch(/^\{"timestamp"/m); // not NDJSON
    const parsed = readEventMonitor(paths().events);
    expect(parsed[0]).toEqual({
      timestamp: { secs: 0, nanos: expect.any(Number) },
      source: 'vmm',
      event: 'starting',
      properties: null,
    });
    const times = parsed.map((e) => e.timestamp.secs * 1e9 + e.timestamp.nanos);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(eventNames(parsed)).toEqual([
      'vmm.starting',
      'vm.booting',
      'vm.booted',
      'virtio-device.activated',
      'virtio-device.activated',
      'vm.shutdown',
      'vm.deleted',
      'vmm.shutdown',
    ]);
    expect(parsed.filter((e) => e.source === 'virtio-device').map((e) => e.properties)).toEqual([
      { id: '__rng' },
      { id: '_disk0' },
    ]);
  });

  it('injects failures from HEARTH_CH_DOUBLE_FAIL without changing the VM state', async () => {
    await start([], { HEARTH_CH_DOUBLE_FAIL: 'vm.boot:500*1,vm.power-button:hang' });
    await api('PUT', 'vm.create', vmConfig());
    const failed = await api('PUT', 'vm.boot');
    expect(failed.status).toBe(500);
    expect((failed.body as string[])[0]).toBe('Error from API');
    expect(await state()).toBe('Created');
    expect((await api('PUT', 'vm.boot')).status).toBe(204); // *1: only the first boot fails
    expect(await state()).toBe('Running');

    const client = new Client('http://localhost', { socketPath: paths().socket, headersTimeout: 300 });
    await expect(client.request({ method: 'PUT', path: '/api/v1/vm.power-button' })).rejects.toBeInstanceOf(
      undiciErrors.HeadersTimeoutError,
    );
    await client.destroy();

    const record = readRequestRecord(paths().socket);
    expect(record.map((e) => [e.action, e.status, e.fault])).toEqual([
      ['vm.create', 204, null],
      ['vm.boot', 500, '500'],
      ['vm.info', 200, null],
      ['vm.boot', 204, null],
      ['vm.info', 200, null],
      ['vm.power-button', null, 'hang'],
    ]);
    assertAllRequestsValid(record);
  });

  it('crashes on demand, leaving its socket behind like a killed VMM', async () => {
    const double = await start([], { HEARTH_CH_DOUBLE_FAIL: 'vm.boot:crash' });
    await api('PUT', 'vm.create', vmConfig());
    await expect(api('PUT', 'vm.boot')).rejects.toThrow();
    await double.waitForExit();
    expect(double.exitSignal).toBe('SIGKILL');
    expect(existsSync(paths().socket)).toBe(true);
    expect(events()).not.toContain('vmm.shutdown');
  });

  it('shuts down cleanly on SIGTERM, shutting the VM down first', async () => {
    const double = await start();
    await api('PUT', 'vm.create', vmConfig());
    await api('PUT', 'vm.boot');
    double.child.kill('SIGTERM');
    expect(await double.waitForExit()).toBe(0);
    expect(events().slice(-3)).toEqual(['vm.shutdown', 'vm.deleted', 'vmm.shutdown']);
  });
});
